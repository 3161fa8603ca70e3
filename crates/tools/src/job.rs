//! What every Codex tool shares for background runs: the `background` argument, its
//! documentation, and the [`JobStarted`] answer. [`crate::spec`] adds the argument to
//! each Codex tool's input schema and the answer to its MCP output schema;
//! [`crate::tools::jobs`] defines `get_job` and `cancel_job`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::args::ArgumentError;
use crate::schema::output_schema;

/// The argument every Codex tool takes to run in the background.
pub const BACKGROUND_ARG: &str = "background";

/// The `background` argument's description, the same on every Codex tool.
pub const BACKGROUND_DOC: &str = "Run in the background: answer at once with {job_id, status: \"working\"} instead of waiting for Codex, then fetch the result with get_job (wait_seconds up to 50, repeat while it says working) or stop it with cancel_job. Use it for long work (implement, fix or audit on a real repository can take many minutes) and whenever your client gives up on tool calls that take longer than a minute or so. Default false.";

/// The longest `wait_seconds` of `get_job`: under the one-minute limit many clients put
/// on a tool call, so a wait never outlives the request that carries it.
pub const MAX_WAIT_SECONDS: u32 = 50;

/// How many jobs `list_sessions` and `get_my_session_info` show: the latest ones.
pub const LISTED_JOBS: usize = 20;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Codex is still at it.
    Working,
    /// Waiting for an answer from the client (tasks only).
    InputRequired,
    /// Done: `result` holds the tool's result.
    Completed,
    /// Ended without a result: `error` says why.
    Failed,
    /// Stopped by `cancel_job` or `tasks/cancel`.
    Cancelled,
}

impl JobStatus {
    /// Whether the job has ended.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    /// The status as written in results (`working`, `completed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Working => "working",
            Self::InputRequired => "input_required",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// What a Codex tool called with `"background": true` answers at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobStarted {
    /// Pass it to get_job or cancel_job.
    pub job_id: String,
    /// Always "working".
    pub status: JobStatus,
}

/// The MCP `outputSchema` of a Codex tool: its result, or the [`JobStarted`] a
/// background call answers with. `result` is the tool's own strict schema, which stays
/// Codex's `--output-schema` alone.
pub fn with_job_started(result: &Value) -> Value {
    json!({
        "type": "object",
        "anyOf": [result, output_schema::<JobStarted>()],
    })
}

/// A Codex tool's input schema with the `background` argument added.
pub(crate) fn with_background(mut input: Value) -> Value {
    if let Some(properties) = input.get_mut("properties").and_then(Value::as_object_mut) {
        properties.insert(
            BACKGROUND_ARG.into(),
            json!({"type": "boolean", "description": BACKGROUND_DOC}),
        );
    }
    input
}

/// Whether `arguments` ask for a background run (`"background": true`). The engine
/// reads it before the tool runs; the tool's own arguments never include it.
pub fn wants_background(arguments: &Map<String, Value>) -> bool {
    arguments.get(BACKGROUND_ARG) == Some(&Value::Bool(true))
}

/// `arguments` without `background`, after checking that it is a boolean (or null).
pub(crate) fn without_background(
    arguments: &Map<String, Value>,
) -> Result<std::borrow::Cow<'_, Map<String, Value>>, ArgumentError> {
    match arguments.get(BACKGROUND_ARG) {
        None => Ok(std::borrow::Cow::Borrowed(arguments)),
        Some(Value::Bool(_) | Value::Null) => {
            let mut rest = arguments.clone();
            rest.remove(BACKGROUND_ARG);
            Ok(std::borrow::Cow::Owned(rest))
        }
        Some(other) => Err(ArgumentError::Invalid {
            name: BACKGROUND_ARG.into(),
            expected: "true or false".into(),
            got: codex_mcp_protocol::jsonrpc::json_kind(other).into(),
        }),
    }
}
