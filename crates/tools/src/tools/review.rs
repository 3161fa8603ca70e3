//! `review`: a code review with inline comments and rubric scores.

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

/// The rubric used when the caller gives none.
pub const DEFAULT_RUBRIC: &[&str] = &[
    "correctness",
    "design",
    "readability",
    "security",
    "performance",
    "tests",
];

/// Arguments of `review`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewArgs {
    /// What to review: code, a unified diff, or a description of what to look at in
    /// your workspace (files, a commit, `git diff main`).
    pub content: String,
    /// Criteria to score, one per item; default: correctness, design, readability,
    /// security, performance, tests.
    pub rubric: Option<Vec<String>>,
    /// Aspects to look at most closely (e.g. "error handling", "concurrency").
    pub focus_areas: Option<Vec<String>>,
    /// The calling agent.
    #[schemars(description = AGENT_ID_DOC)]
    pub agent_id: Option<AgentId>,
    /// Overrides the default time limit.
    #[schemars(description = TIMEOUT_DOC, range(min = 1, max = MAX_TIMEOUT_SECONDS))]
    pub timeout_seconds: Option<u32>,
}

/// What `review` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReviewResponse {
    /// The overall assessment in a few sentences.
    pub summary: String,
    /// Whether the change can go in as it is.
    pub verdict: Verdict,
    /// Comments on specific places, most severe first.
    pub comments: Vec<InlineComment>,
    /// One score per rubric criterion.
    pub scores: Vec<RubricScore>,
    /// The most valuable improvements, most important first.
    pub recommendations: Vec<String>,
}

/// A review's bottom line: `approve`, `approve_with_suggestions` or `request_changes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Good as it is.
    Approve,
    /// Fine to merge; the comments are improvements.
    ApproveWithSuggestions,
    /// Problems to fix first.
    RequestChanges,
}

/// A comment on one place in the code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct InlineComment {
    /// File path, relative to the workspace, or null when the content had no files.
    pub file: Option<String>,
    /// 1-based line number, or null when the comment is about the file as a whole.
    pub line: Option<u32>,
    /// How serious the issue is.
    pub severity: Severity,
    /// The issue and why it matters.
    pub message: String,
    /// The change that would fix it, or null.
    pub suggestion: Option<String>,
}

/// The score for one rubric criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RubricScore {
    /// The criterion, as given in the rubric.
    pub criterion: String,
    /// 0 (poor) to 10 (excellent).
    #[schemars(range(max = 10))]
    pub score: u8,
    /// Why this score.
    pub rationale: String,
}

const DESCRIPTION: &str = "Get a code review from Codex. Pass code, a diff, or a pointer to what to review in your workspace; optionally a rubric and focus areas. Codex reads the surrounding code read-only and returns inline comments (file, line, severity, message, suggested fix), a 0-10 score per rubric criterion, a verdict, prioritised recommendations and a summary. Use it on your own changes before finishing, or for a second opinion. Usually under a few minutes; if your client gives up on long tool calls, pass background: true and fetch the result with get_job (wait_seconds up to 50).";

pub(crate) fn spec() -> ToolSpec {
    ToolSpec::new_codex(
        Definition {
            name: "review",
            title: "Review code",
            description: DESCRIPTION,
            annotations: codex_annotations(true),
            input_schema: input_schema::<ReviewArgs>(),
            output_schema: output_schema::<ReviewResponse>(),
        },
        CodexTool {
            access: WorkspaceAccess::ReadOnly,
            default_timeout: Duration::from_secs(600),
        },
        prepare,
    )
}

fn prepare(tool: &ToolSpec, arguments: &Map<String, Value>) -> Result<Prepared, ArgumentError> {
    let a: ReviewArgs = args::parse(tool.input_schema(), arguments)?;
    let prompt = prompt(&a);
    Ok(Prepared::new(a.agent_id, a.timeout_seconds, prompt))
}

/// The text Codex receives for a `review` call.
pub fn prompt(a: &ReviewArgs) -> String {
    let default_rubric: Vec<String> = DEFAULT_RUBRIC.iter().map(|c| (*c).to_owned()).collect();
    let rubric = a
        .rubric
        .as_deref()
        .filter(|r| !r.is_empty())
        .unwrap_or(&default_rubric);
    PromptText::new(
        "You are a senior engineer doing a careful code review. Review the content below, \
         using the workspace for context, and report concrete, actionable findings.",
    )
    .code("Content to review", Some(&a.content))
    .list("Rubric (score each criterion from 0 to 10)", Some(rubric))
    .list("Focus areas", a.focus_areas.as_deref())
    .steps(
        "How to work",
        &[
            "If the content names files, a commit or a diff command, look them up in the \
             workspace; otherwise review the content as given.",
            "Read enough of the surrounding code to judge the change in context.",
            "Look for bugs first, then design, security, performance, readability and \
             missing tests, paying most attention to the focus areas.",
            "Comment only on real issues, each at the exact file and line, with a fix.",
        ],
    )
    .finish(
        WorkspaceAccess::ReadOnly,
        &[
            "summary: the overall assessment in a few sentences.",
            "verdict: approve, approve_with_suggestions or request_changes.",
            "comments: most severe first; file and line (null when not applicable), \
             severity (info, low, medium, high, critical), message, suggestion or null.",
            "scores: one per rubric criterion, named exactly as given, with a rationale.",
            "recommendations: the most valuable improvements, most important first.",
        ],
    )
}
