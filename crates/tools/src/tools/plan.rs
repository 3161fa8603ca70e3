//! `plan`: an implementation plan for a task, from a read-only look at the workspace.

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

/// Arguments of `plan`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanArgs {
    /// What should be built or changed, in plain words.
    pub task: String,
    /// Background the plan should respect: what the project is, its architecture, its
    /// conventions, where the relevant code lives.
    pub repo_context: Option<String>,
    /// Rules the plan must keep to, one per item (e.g. "no new dependencies").
    pub constraints: Option<Vec<String>>,
    /// The calling agent.
    #[schemars(description = AGENT_ID_DOC)]
    pub agent_id: Option<AgentId>,
    /// Overrides the default time limit.
    #[schemars(description = TIMEOUT_DOC, range(min = 1, max = MAX_TIMEOUT_SECONDS))]
    pub timeout_seconds: Option<u32>,
}

/// What `plan` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanResponse {
    /// The approach in two or three sentences.
    pub summary: String,
    /// The work in the order it should be done.
    pub steps: Vec<PlanStep>,
    /// Every file the plan creates, changes or deletes.
    pub files_to_touch: Vec<FileToTouch>,
    /// Design choices the plan makes, with their reasons.
    pub architectural_decisions: Vec<Decision>,
    /// What could go wrong, and how to guard against it.
    pub risks: Vec<Risk>,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PlanStep {
    /// What to do in this step, precisely enough to act on.
    pub description: String,
    /// Files this step creates or changes (paths relative to the workspace).
    pub files: Vec<String>,
}

/// A file a plan touches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FileToTouch {
    /// Path relative to the workspace.
    pub path: String,
    /// What happens to it.
    pub action: FileAction,
    /// Why it is touched.
    pub reason: String,
}

/// What happens to a file: `create`, `modify` or `delete`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum FileAction {
    /// A new file.
    Create,
    /// An existing file is changed.
    Modify,
    /// An existing file is removed.
    Delete,
}

/// A design choice a plan makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Decision {
    /// The choice.
    pub decision: String,
    /// Why it was made.
    pub rationale: String,
    /// Options considered and set aside.
    pub alternatives: Vec<String>,
}

/// Something that could go wrong with a plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Risk {
    /// The risk.
    pub description: String,
    /// How bad it would be.
    pub severity: Severity,
    /// How to prevent or limit it.
    pub mitigation: String,
}

const DESCRIPTION: &str = "Ask Codex for an implementation plan before changing code. Codex explores your workspace read-only and returns ordered steps (each with the files it touches), the full list of files to create, modify or delete, architectural decisions with their reasons, and risks with mitigations. Use it before `implement` for anything bigger than a one-file change. Repeated calls continue the same planning conversation, so you can refine a plan. Usually under a few minutes; if your client gives up on long tool calls, pass background: true and fetch the result with get_job (wait_seconds up to 50).";

pub(crate) fn spec() -> ToolSpec {
    ToolSpec::new_codex(
        Definition {
            name: "plan",
            title: "Plan a change",
            description: DESCRIPTION,
            annotations: codex_annotations(true),
            input_schema: input_schema::<PlanArgs>(),
            output_schema: output_schema::<PlanResponse>(),
        },
        CodexTool {
            access: WorkspaceAccess::ReadOnly,
            default_timeout: Duration::from_secs(600),
        },
        prepare,
    )
}

fn prepare(tool: &ToolSpec, arguments: &Map<String, Value>) -> Result<Prepared, ArgumentError> {
    let a: PlanArgs = args::parse(tool.input_schema(), arguments)?;
    let prompt = prompt(&a);
    Ok(Prepared::new(a.agent_id, a.timeout_seconds, prompt))
}

/// The text Codex receives for a `plan` call.
pub fn prompt(a: &PlanArgs) -> String {
    PromptText::new(
        "You are a senior software engineer planning a change. Produce an implementation \
         plan for the task below, grounded in the code that is actually in the workspace.",
    )
    .text("Task", Some(&a.task))
    .text("Repository context", a.repo_context.as_deref())
    .list("Constraints", a.constraints.as_deref())
    .steps(
        "How to work",
        &[
            "Explore the workspace: find the code the task concerns, how it is organised, \
             and the conventions and tests around it.",
            "Decide the approach. Prefer the smallest change that fully does the task and \
             respects every constraint.",
            "Break it into ordered steps that another engineer could follow one by one.",
            "Name every file you would create, modify or delete, with real paths.",
        ],
    )
    .finish(
        WorkspaceAccess::ReadOnly,
        &[
            "summary: the approach in two or three sentences.",
            "steps: in order; each with a precise description and the files it touches.",
            "files_to_touch: every file, with action create, modify or delete, and why.",
            "architectural_decisions: each choice, its rationale, the alternatives set aside.",
            "risks: what could go wrong, its severity (info, low, medium, high, critical), \
             and the mitigation.",
        ],
    )
}
