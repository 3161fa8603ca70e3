//! `debug`: ranked root-cause hypotheses and solution options for an error, without
//! changing anything.

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

/// Arguments of `debug`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DebugArgs {
    /// The error message or the unexpected behaviour.
    pub error_message: String,
    /// The code involved, or where it is in your workspace.
    pub code_context: Option<String>,
    /// The stack trace or backtrace.
    pub stack_trace: Option<String>,
    /// Where it happens: OS, runtime and library versions, configuration.
    pub environment_info: Option<String>,
    /// How to make it happen, one step per item.
    pub reproduction_steps: Option<Vec<String>>,
    /// The calling agent.
    #[schemars(description = AGENT_ID_DOC)]
    pub agent_id: Option<AgentId>,
    /// Overrides the default time limit.
    #[schemars(description = TIMEOUT_DOC, range(min = 1, max = MAX_TIMEOUT_SECONDS))]
    pub timeout_seconds: Option<u32>,
}

/// What `debug` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DebugResponse {
    /// What is going on, in a few sentences.
    pub summary: String,
    /// Possible root causes, most likely first.
    pub hypotheses: Vec<Hypothesis>,
    /// Ways to solve it, best first.
    pub solutions: Vec<Solution>,
    /// Diagnostic steps that would narrow it down, in order.
    pub next_steps: Vec<String>,
}

/// A possible root cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Hypothesis {
    /// The suspected cause.
    pub cause: String,
    /// How likely it is.
    pub likelihood: Likelihood,
    /// What in the error, trace or code points to it.
    pub evidence: String,
    /// How to confirm or rule it out.
    pub how_to_confirm: String,
}

/// How likely a hypothesis is: `high`, `medium` or `low`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Likelihood {
    /// Probably the cause.
    High,
    /// Plausible.
    Medium,
    /// Possible but unlikely.
    Low,
}

/// One way to solve the problem.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Solution {
    /// The approach in a few words.
    pub approach: String,
    /// What to do, in order.
    pub steps: Vec<String>,
    /// What it costs, what it risks, what it leaves unsolved.
    pub trade_offs: String,
}

const DESCRIPTION: &str = "Ask Codex to diagnose an error without changing anything. Give the error message and whatever you have: code context, stack trace, environment, reproduction steps. Codex investigates your workspace read-only and returns a summary, root-cause hypotheses ranked with likelihood, evidence and how to confirm each, several solution approaches with their trade-offs, and the next diagnostic steps. To have the fix applied, use `fix`. Usually under a few minutes; if your client gives up on long tool calls, pass background: true and fetch the result with get_job (wait_seconds up to 50).";

pub(crate) fn spec() -> ToolSpec {
    ToolSpec::new_codex(
        Definition {
            name: "debug",
            title: "Diagnose an error",
            description: DESCRIPTION,
            annotations: codex_annotations(true),
            input_schema: input_schema::<DebugArgs>(),
            output_schema: output_schema::<DebugResponse>(),
        },
        CodexTool {
            access: WorkspaceAccess::ReadOnly,
            default_timeout: Duration::from_secs(600),
        },
        prepare,
    )
}

fn prepare(tool: &ToolSpec, arguments: &Map<String, Value>) -> Result<Prepared, ArgumentError> {
    let a: DebugArgs = args::parse(tool.input_schema(), arguments)?;
    let prompt = prompt(&a);
    Ok(Prepared::new(a.agent_id, a.timeout_seconds, prompt))
}

/// The text Codex receives for a `debug` call.
pub fn prompt(a: &DebugArgs) -> String {
    PromptText::new(
        "You are a senior engineer debugging a problem. Work out what causes the error \
         below and how it could be solved. Do not fix it: diagnose it.",
    )
    .code("Error", Some(&a.error_message))
    .code("Stack trace", a.stack_trace.as_deref())
    .code("Code context", a.code_context.as_deref())
    .text("Environment", a.environment_info.as_deref())
    .list("Reproduction steps", a.reproduction_steps.as_deref())
    .steps(
        "How to work",
        &[
            "Read the code the error and the trace point to, and what it depends on.",
            "List the plausible root causes and weigh each against the evidence; rank them \
             by likelihood.",
            "You may run commands that only inspect (read logs, run a failing test) to test \
             a hypothesis.",
            "Propose more than one way to solve it when there is a real choice, with the \
             trade-offs of each.",
        ],
    )
    .finish(
        WorkspaceAccess::ReadOnly,
        &[
            "summary: what is going on, in a few sentences.",
            "hypotheses: most likely first; cause, likelihood (high, medium, low), \
             evidence, how to confirm it.",
            "solutions: best first; the approach, its steps, its trade-offs.",
            "next_steps: diagnostic steps that would narrow it down, in order.",
        ],
    )
}
