//! Background jobs: a Codex tool called with `"background": true` answers at once with a
//! [`crate::job::JobStarted`]; `get_job` waits for the job and returns its result, `cancel_job` stops
//! it. The server runs a job as a task (one lifecycle); these are its tools' shapes
//! (the argument and the first answer are in [`crate::job`]).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::audit::AuditResponse;
use super::chat::ChatResponse;
use super::debug::DebugResponse;
use super::fix::FixResponse;
use super::implement::ImplementResponse;
use super::plan::PlanResponse;
use super::review::ReviewResponse;
use super::{AGENT_ID_DOC, server_annotations};
use crate::args::{self, ArgumentError};
use crate::job::{JobStatus, MAX_WAIT_SECONDS};
use crate::schema::{input_schema, output_schema};
use crate::spec::{Definition, ServerCallParts, ServerRequest, ToolSpec};
use codex_mcp_protocol::AgentId;

/// Arguments of `get_job`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetJobArgs {
    /// The job.
    #[schemars(description = "The job_id a background call answered with.")]
    pub job_id: String,
    /// How long to wait for the job to end.
    #[schemars(
        description = "Wait up to this many seconds (0-50, default 0) for the job to end before answering; the answer comes as soon as it ends.",
        range(min = 0, max = MAX_WAIT_SECONDS)
    )]
    pub wait_seconds: Option<u32>,
    /// The calling agent.
    #[schemars(description = AGENT_ID_DOC)]
    pub agent_id: Option<AgentId>,
}

/// Arguments of `cancel_job`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelJobArgs {
    /// The job.
    #[schemars(description = "The job_id a background call answered with.")]
    pub job_id: String,
    /// The calling agent.
    #[schemars(description = AGENT_ID_DOC)]
    pub agent_id: Option<AgentId>,
}

/// What `get_job` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct GetJobResponse {
    /// The job.
    pub job_id: String,
    /// The Codex tool it runs.
    pub tool: String,
    /// Where it is.
    pub status: JobStatus,
    /// Codex's latest progress line, if it said anything yet.
    pub progress: Option<String>,
    /// When it started (RFC 3339).
    pub created_at: String,
    /// Seconds from its start to now, or to its end once it ended.
    pub elapsed_seconds: f64,
    /// Once completed: the tool's result, the same `structuredContent` a foreground call
    /// returns.
    #[schemars(schema_with = "codex_result_schema")]
    pub result: Option<Value>,
    /// Once failed: what went wrong.
    pub error: Option<String>,
}

/// What `cancel_job` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CancelJobResponse {
    /// The job.
    pub job_id: String,
    /// Always "cancelled".
    pub status: JobStatus,
}

/// A job, briefly, as `list_sessions` and `get_my_session_info` list them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct JobInfo {
    /// The job.
    pub job_id: String,
    /// The Codex tool it runs.
    pub tool: String,
    /// Where it is.
    pub status: JobStatus,
    /// When it started (RFC 3339).
    pub created_at: String,
}

/// `result` of `get_job`: any Codex tool's result, or null.
fn codex_result_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut options = vec![
        output_schema::<PlanResponse>(),
        output_schema::<ImplementResponse>(),
        output_schema::<ReviewResponse>(),
        output_schema::<FixResponse>(),
        output_schema::<ChatResponse>(),
        output_schema::<AuditResponse>(),
        output_schema::<DebugResponse>(),
    ];
    options.push(serde_json::json!({"type": "null"}));
    let mut schema = Map::new();
    schema.insert(
        "description".into(),
        Value::String(
            "Once completed: the tool's result, the same structuredContent a foreground call returns; null before."
                .into(),
        ),
    );
    schema.insert("anyOf".into(), Value::Array(options));
    schemars::Schema::from(schema)
}

const GET_DESCRIPTION: &str = "Fetch a background job (a Codex tool called with background: true): waits up to wait_seconds (0-50, default 0) for it to end, then returns its status (working, completed, failed, cancelled), Codex's latest progress line, the elapsed time and, once completed, the tool's full result in `result` (the same as a foreground call returns). While it says working, call again, e.g. with wait_seconds 50. Jobs are kept for an hour. Answered by the server; no Codex call.";

const CANCEL_DESCRIPTION: &str = "Stop a background job: its Codex process is stopped and the job ends as cancelled. A job that already ended cannot be cancelled (the error says how it ended). Answered by the server; no Codex call.";

pub(crate) fn get_job() -> ToolSpec {
    ToolSpec::new_server(
        Definition {
            name: "get_job",
            title: "Get a background job",
            description: GET_DESCRIPTION,
            annotations: server_annotations(true, false),
            input_schema: input_schema::<GetJobArgs>(),
            output_schema: output_schema::<GetJobResponse>(),
        },
        parse_get,
    )
}

pub(crate) fn cancel_job() -> ToolSpec {
    ToolSpec::new_server(
        Definition {
            name: "cancel_job",
            title: "Cancel a background job",
            description: CANCEL_DESCRIPTION,
            annotations: server_annotations(false, true),
            input_schema: input_schema::<CancelJobArgs>(),
            output_schema: output_schema::<CancelJobResponse>(),
        },
        parse_cancel,
    )
}

fn parse_get(
    tool: &ToolSpec,
    arguments: &Map<String, Value>,
) -> Result<ServerCallParts, ArgumentError> {
    let a: GetJobArgs = args::parse(tool.input_schema(), arguments)?;
    let request = ServerRequest::GetJob {
        job_id: a.job_id,
        wait_seconds: a.wait_seconds.unwrap_or(0),
    };
    Ok((a.agent_id, request))
}

fn parse_cancel(
    tool: &ToolSpec,
    arguments: &Map<String, Value>,
) -> Result<ServerCallParts, ArgumentError> {
    let a: CancelJobArgs = args::parse(tool.input_schema(), arguments)?;
    Ok((a.agent_id, ServerRequest::CancelJob { job_id: a.job_id }))
}
