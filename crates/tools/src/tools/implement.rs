//! `implement`: Codex makes a change in the workspace and reports it.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::text::PromptText;
use super::{AGENT_ID_DOC, TIMEOUT_DOC, codex_annotations};
use crate::args::{self, ArgumentError};
use crate::schema::{input_schema, output_schema};
use crate::spec::{
    CodexTool, Definition, MAX_TIMEOUT_SECONDS, Prepared, ToolSpec, WorkspaceAccess,
};
use codex_mcp_protocol::AgentId;

/// Arguments of `implement`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ImplementArgs {
    /// The change to make, precisely: behaviour, interfaces, edge cases.
    pub task: String,
    /// Files to create or change (paths relative to your workspace). Codex may touch
    /// others when the task needs it, and says so.
    #[schemars(length(min = 1))]
    pub target_files: Vec<String>,
    /// Files to read for context but not change.
    pub context_files: Option<Vec<String>>,
    /// Requirements the change must meet, one per item (style, tests, compatibility).
    pub requirements: Option<Vec<String>>,
    /// The calling agent.
    #[schemars(description = AGENT_ID_DOC)]
    pub agent_id: Option<AgentId>,
    /// Overrides the default time limit.
    #[schemars(description = TIMEOUT_DOC, range(min = 1, max = MAX_TIMEOUT_SECONDS))]
    pub timeout_seconds: Option<u32>,
}

/// What `implement` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ImplementResponse {
    /// The change as a unified diff. The server replaces the model's version with the
    /// real diff of the workspace when it can compute one.
    pub diff: String,
    /// Every file created, changed or deleted.
    pub files_changed: Vec<ChangedFile>,
    /// What was done and why, for a reviewer.
    pub explanation: String,
    /// What the caller must do or know to integrate the change: follow-up edits,
    /// migrations, configuration, commands to run, tests that cover it.
    pub integration_notes: Vec<String>,
}

/// A file an implementation touched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChangedFile {
    /// Path relative to the workspace.
    pub path: String,
    /// What happened to it.
    pub change: ChangeKind,
    /// The change to this file in one sentence.
    pub summary: String,
}

/// What happened to a file: `added`, `modified`, `deleted` or `renamed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// Created.
    Added,
    /// Changed in place.
    Modified,
    /// Removed.
    Deleted,
    /// Moved (the path is the new one).
    Renamed,
}

const DESCRIPTION: &str = "Have Codex write code in your workspace. Give the task and the files to create or change; Codex edits them directly (nothing is committed) and returns the unified diff of the workspace, the files changed, an explanation, and integration notes (follow-up steps, commands, tests). Use it after `plan` for larger work; use `review` on the result. It modifies files, so call it only when changes are wanted. Takes minutes on a real repository (up to the time limit): if your client gives up on tool calls after a minute or so, pass background: true, which answers at once with a job_id, then call get_job with wait_seconds up to 50 until it is done.";

pub(crate) fn spec() -> ToolSpec {
    ToolSpec::new_codex(
        Definition {
            name: "implement",
            title: "Implement a change",
            description: DESCRIPTION,
            annotations: codex_annotations(false),
            input_schema: input_schema::<ImplementArgs>(),
            output_schema: output_schema::<ImplementResponse>(),
        },
        CodexTool {
            access: WorkspaceAccess::Writes,
            default_timeout: Duration::from_secs(1800),
        },
        prepare,
    )
}

fn prepare(tool: &ToolSpec, arguments: &Map<String, Value>) -> Result<Prepared, ArgumentError> {
    let a: ImplementArgs = args::parse(tool.input_schema(), arguments)?;
    let prompt = prompt(&a);
    Ok(Prepared::new(a.agent_id, a.timeout_seconds, prompt))
}

/// The text Codex receives for an `implement` call.
pub fn prompt(a: &ImplementArgs) -> String {
    PromptText::new(
        "You are a senior software engineer. Implement the task below by editing the files \
         in the workspace, then report what you did.",
    )
    .text("Task", Some(&a.task))
    .list("Files to create or change", Some(&a.target_files))
    .list(
        "Files to read for context (do not change)",
        a.context_files.as_deref(),
    )
    .list("Requirements", a.requirements.as_deref())
    .steps(
        "How to work",
        &[
            "Read the target files and the context files, and enough of the surrounding \
             code to follow its conventions.",
            "Make the change: complete, working code, no placeholders. Change other files \
             only when the task cannot be done without it, and report them.",
            "Add or update tests when the project has them, and run the relevant checks if \
             you can.",
            "Collect the diff of your changes (for example `git diff` if the workspace is a \
             git repository).",
        ],
    )
    .finish(
        WorkspaceAccess::Writes,
        &[
            "diff: the unified diff of everything you changed.",
            "files_changed: each file with its change (added, modified, deleted, renamed) \
             and a one-sentence summary.",
            "explanation: what you did and why, for a reviewer.",
            "integration_notes: what the caller must still do or know (commands to run, \
             migrations, configuration, follow-up edits).",
        ],
    )
}

/// Puts the workspace's real diff into an `implement` or `fix` result, replacing the
/// model's account of it; returns whether the value had a `diff` to replace.
pub fn replace_diff(structured: &mut Value, diff: &str) -> bool {
    match structured.get_mut("diff") {
        Some(slot) => {
            *slot = Value::String(diff.to_owned());
            true
        }
        None => false,
    }
}
