//! `fix`: Codex finds why something fails, fixes it in the workspace, and checks the fix.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::implement::ChangedFile;
use super::text::PromptText;
use super::{AGENT_ID_DOC, TIMEOUT_DOC, codex_annotations};
use crate::args::{self, ArgumentError};
use crate::schema::{input_schema, output_schema};
use crate::spec::{
    CodexTool, Definition, MAX_TIMEOUT_SECONDS, Prepared, ToolSpec, WorkspaceAccess,
};
use codex_mcp_protocol::AgentId;

/// The arguments of which `fix` needs at least one.
pub const EVIDENCE_ARGUMENTS: [&str; 4] =
    ["failing_tests", "error_output", "context_files", "symptoms"];

/// Arguments of `fix`; at least one of the four inputs must be given.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FixArgs {
    /// Failing tests: names, paths or the commands that run them.
    pub failing_tests: Option<Vec<String>>,
    /// Compiler, test or runtime output showing the failure.
    pub error_output: Option<String>,
    /// Files where the problem probably is (paths relative to your workspace).
    pub context_files: Option<Vec<String>>,
    /// What goes wrong, in words: expected versus actual behaviour.
    pub symptoms: Option<String>,
    /// The calling agent.
    #[schemars(description = AGENT_ID_DOC)]
    pub agent_id: Option<AgentId>,
    /// Overrides the default time limit.
    #[schemars(description = TIMEOUT_DOC, range(min = 1, max = MAX_TIMEOUT_SECONDS))]
    pub timeout_seconds: Option<u32>,
}

/// What `fix` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FixResponse {
    /// Why it failed: the actual defect, not the symptom.
    pub root_cause: String,
    /// What the fix changes, in a few sentences.
    pub explanation: String,
    /// The fix as a unified diff. The server replaces the model's version with the real
    /// diff of the workspace when it can compute one.
    pub diff: String,
    /// Every file created, changed or deleted.
    pub files_changed: Vec<ChangedFile>,
    /// How the fix was checked.
    pub verification: Verification,
    /// How to keep this class of bug from coming back (tests, checks, design changes).
    pub prevention: Vec<String>,
}

/// How a fix was checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Verification {
    /// The outcome.
    pub status: VerificationStatus,
    /// The commands run to check it.
    pub commands: Vec<String>,
    /// What they showed, or why nothing could be run.
    pub details: String,
}

/// Outcome of checking a fix: `passed`, `failed` or `not_run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum VerificationStatus {
    /// The checks pass now.
    Passed,
    /// Some still fail.
    Failed,
    /// Nothing could be run.
    NotRun,
}

const DESCRIPTION: &str = "Have Codex fix a bug or failing test in your workspace. Give at least one of: failing_tests, error_output, context_files, symptoms. Codex finds the root cause, edits the code (nothing is committed), re-runs the relevant checks where it can, and returns the root cause, an explanation, the unified diff, the files changed, how the fix was verified (passed, failed or not_run, with the commands), and how to prevent a recurrence. It modifies files; for a diagnosis without changes use `debug`. Takes minutes on a real repository (up to the time limit): if your client gives up on tool calls after a minute or so, pass background: true, which answers at once with a job_id, then call get_job with wait_seconds up to 50 until it is done.";

pub(crate) fn spec() -> ToolSpec {
    ToolSpec::new_codex(
        Definition {
            name: "fix",
            title: "Fix a failure",
            description: DESCRIPTION,
            annotations: codex_annotations(false),
            input_schema: input_schema::<FixArgs>(),
            output_schema: output_schema::<FixResponse>(),
        },
        CodexTool {
            access: WorkspaceAccess::Writes,
            default_timeout: Duration::from_secs(1800),
        },
        prepare,
    )
}

fn prepare(tool: &ToolSpec, arguments: &Map<String, Value>) -> Result<Prepared, ArgumentError> {
    let a: FixArgs = args::parse(tool.input_schema(), arguments)?;
    let given = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
    let listed = |l: &Option<Vec<String>>| l.as_deref().is_some_and(|l| !l.is_empty());
    let any = listed(&a.failing_tests)
        || given(&a.error_output)
        || listed(&a.context_files)
        || given(&a.symptoms);
    if !any {
        return Err(ArgumentError::NeedOneOf {
            names: EVIDENCE_ARGUMENTS.iter().map(|n| (*n).to_owned()).collect(),
        });
    }
    let prompt = prompt(&a);
    Ok(Prepared::new(a.agent_id, a.timeout_seconds, prompt))
}

/// The text Codex receives for a `fix` call.
pub fn prompt(a: &FixArgs) -> String {
    PromptText::new(
        "You are a senior engineer fixing a defect. Find the root cause of the failure \
         described below, fix it in the workspace, and verify the fix.",
    )
    .list("Failing tests", a.failing_tests.as_deref())
    .code("Error output", a.error_output.as_deref())
    .list("Files to look at", a.context_files.as_deref())
    .text("Symptoms", a.symptoms.as_deref())
    .steps(
        "How to work",
        &[
            "Reproduce the failure if you can (run the failing tests or the command that \
             fails).",
            "Trace it to the root cause; do not just silence the symptom.",
            "Make the smallest change that fixes the cause, in the style of the code around \
             it. Add a regression test when the project has tests.",
            "Run the failing tests and the tests around the change again.",
            "Collect the diff of your changes (for example `git diff` if the workspace is a \
             git repository).",
        ],
    )
    .finish(
        WorkspaceAccess::Writes,
        &[
            "root_cause: the defect itself, not the symptom.",
            "explanation: what the fix changes, in a few sentences.",
            "diff: the unified diff of everything you changed.",
            "files_changed: each file with its change (added, modified, deleted, renamed) \
             and a one-sentence summary.",
            "verification: status passed, failed or not_run; the commands you ran; what \
             they showed.",
            "prevention: how to keep this class of bug from coming back.",
        ],
    )
}
