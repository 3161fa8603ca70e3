//! `audit`: a security and quality audit with CWE references and compliance mapping.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::text::PromptText;
use super::{AGENT_ID_DOC, Severity, TIMEOUT_DOC, codex_annotations};
use crate::args::{self, ArgumentError};
use crate::schema::{input_schema, output_schema};
use crate::spec::{
    CodexTool, Definition, MAX_TIMEOUT_SECONDS, Prepared, ToolSpec, WorkspaceAccess,
};
use codex_mcp_protocol::AgentId;

/// Arguments of `audit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditArgs {
    /// The code to audit, or a description of what to audit in your workspace (a
    /// directory, a module, "the HTTP handlers").
    pub code: String,
    /// Files in your workspace to audit (paths relative to it).
    pub file_paths: Option<Vec<String>>,
    /// What to look at most closely (e.g. "injection", "authentication", "secrets").
    pub focus_areas: Option<Vec<String>>,
    /// Leave out findings below this severity: info, low, medium, high or critical.
    pub severity_threshold: Option<Severity>,
    /// Standards to check against (e.g. "OWASP Top 10", "PCI DSS", "SOC 2").
    pub compliance_standards: Option<Vec<String>>,
    /// The calling agent.
    #[schemars(description = AGENT_ID_DOC)]
    pub agent_id: Option<AgentId>,
    /// Overrides the default time limit.
    #[schemars(description = TIMEOUT_DOC, range(min = 1, max = MAX_TIMEOUT_SECONDS))]
    pub timeout_seconds: Option<u32>,
}

/// What `audit` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AuditResponse {
    /// The overall picture in a few sentences.
    pub summary: String,
    /// The highest severity among the findings, or info when there are none.
    pub overall_risk: Severity,
    /// The findings, most severe first.
    pub findings: Vec<Finding>,
}

/// One problem an audit found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Finding {
    /// A short name for the problem.
    pub title: String,
    /// How serious it is.
    pub severity: Severity,
    /// Its kind (e.g. "injection", "secrets", "error handling").
    pub category: String,
    /// CWE identifiers that describe it, like "CWE-89".
    pub cwe_ids: Vec<String>,
    /// Where it is.
    pub locations: Vec<Location>,
    /// What is wrong and how it could be exploited or cause harm.
    pub description: String,
    /// How to fix it.
    pub remediation: String,
    /// Which of the requested compliance standards it concerns (with the clause where
    /// known, e.g. "OWASP A03:2021").
    pub compliance: Vec<String>,
}

/// A place in the code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Location {
    /// File path relative to the workspace, or null for code given inline.
    pub file: Option<String>,
    /// 1-based line number, or null.
    pub line: Option<u32>,
}

const DESCRIPTION: &str = "Have Codex audit code for security and quality problems. Pass code, or describe what to audit in your workspace and list file_paths; optionally focus areas, a severity_threshold (info, low, medium, high, critical; lower findings are dropped) and compliance standards to map findings to (e.g. OWASP Top 10, PCI DSS). Codex inspects read-only and returns findings (title, severity, category, CWE ids, locations, description, remediation, standards concerned), the overall risk and a summary. Takes minutes on a real repository (up to the time limit): if your client gives up on tool calls after a minute or so, pass background: true, which answers at once with a job_id, then call get_job with wait_seconds up to 50 until it is done.";

pub(crate) fn spec() -> ToolSpec {
    ToolSpec::new_codex(
        Definition {
            name: "audit",
            title: "Audit code",
            description: DESCRIPTION,
            annotations: codex_annotations(true),
            input_schema: input_schema::<AuditArgs>(),
            output_schema: output_schema::<AuditResponse>(),
        },
        CodexTool {
            access: WorkspaceAccess::ReadOnly,
            default_timeout: Duration::from_secs(900),
        },
        prepare,
    )
}

fn prepare(tool: &ToolSpec, arguments: &Map<String, Value>) -> Result<Prepared, ArgumentError> {
    let a: AuditArgs = args::parse(tool.input_schema(), arguments)?;
    let prompt = prompt(&a);
    Ok(Prepared {
        min_severity: a.severity_threshold,
        ..Prepared::new(a.agent_id, a.timeout_seconds, prompt)
    })
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Info => "info",
        Severity::Low => "low",
        Severity::Medium => "medium",
        Severity::High => "high",
        Severity::Critical => "critical",
    }
}

/// The text Codex receives for an `audit` call.
pub fn prompt(a: &AuditArgs) -> String {
    let threshold = a.severity_threshold.map(|s| {
        format!(
            "Report only findings of severity {} or higher.",
            severity_name(s)
        )
    });
    PromptText::new(
        "You are an application security engineer auditing code. Find real security and \
         quality problems, rate them honestly, and say how to fix each one.",
    )
    .code("Code or scope to audit", Some(&a.code))
    .list("Files to audit", a.file_paths.as_deref())
    .list("Focus areas", a.focus_areas.as_deref())
    .list(
        "Compliance standards to map findings to",
        a.compliance_standards.as_deref(),
    )
    .text("Severity threshold", threshold.as_deref())
    .steps(
        "How to work",
        &[
            "Read the code in scope and what it calls: inputs, outputs, trust boundaries, \
             storage, secrets, dependencies.",
            "Look for vulnerabilities (injection, broken access control, unsafe \
             deserialization, secrets in code, weak crypto, SSRF, path traversal, ...) and \
             for quality problems that cause failures.",
            "Confirm each finding in the code; do not report guesses. Give CWE ids where one \
             fits and exact locations.",
            "Map each finding to the requested compliance standards it concerns.",
        ],
    )
    .finish(
        WorkspaceAccess::ReadOnly,
        &[
            "summary: the overall picture in a few sentences.",
            "overall_risk: the highest finding severity, or info when there are none.",
            "findings: most severe first; title, severity (info, low, medium, high, \
             critical), category, cwe_ids (like \"CWE-89\"), locations (file and line, null \
             when unknown), description, remediation, compliance (standards concerned).",
        ],
    )
}

/// Drops the findings below `threshold` from an `audit` result, returning how many went.
///
/// The prompt asks Codex to leave them out already; this makes the threshold a promise.
pub fn filter_findings(structured: &mut Value, threshold: Severity) -> usize {
    let Some(Value::Array(findings)) = structured.get_mut("findings") else {
        return 0;
    };
    let before = findings.len();
    findings.retain(|finding| {
        finding
            .get("severity")
            .and_then(|s| Severity::deserialize(s).ok())
            .is_none_or(|severity| severity >= threshold)
    });
    before - findings.len()
}

/// The typed form of [`filter_findings`].
pub fn apply_severity_threshold(response: &mut AuditResponse, threshold: Severity) -> usize {
    let before = response.findings.len();
    response.findings.retain(|f| f.severity >= threshold);
    before - response.findings.len()
}
