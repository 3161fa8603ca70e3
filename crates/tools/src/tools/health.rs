//! `health_check`: whether the server can do its work. The server fills the response.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{AGENT_ID_DOC, server_annotations};
use crate::args::{self, ArgumentError};
use crate::schema::{input_schema, output_schema};
use crate::spec::{Definition, ServerCallParts, ServerRequest, ToolSpec};
use codex_mcp_protocol::AgentId;

/// Arguments of `health_check` (none but the usual `agent_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthCheckArgs {
    /// The calling agent.
    #[schemars(description = AGENT_ID_DOC)]
    pub agent_id: Option<AgentId>,
}

/// What `health_check` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct HealthCheckResponse {
    /// The verdict.
    pub status: HealthStatus,
    /// The server's version.
    pub version: String,
    /// Seconds since the server started.
    pub uptime_seconds: u64,
    /// Where agents live: "docker" or "local".
    pub runtime: String,
    /// Why that runtime was chosen, or what limits it (e.g. no Docker engine found).
    pub runtime_note: Option<String>,
    /// Agent sessions open now.
    pub open_sessions: u64,
    /// Agents whose environment is running.
    pub active_agents: u64,
    /// The model credentials.
    pub credentials: CredentialsHealth,
    /// The Codex CLI.
    pub codex: CodexHealth,
}

/// Overall health: `ok`, `degraded` (works, with problems) or `unhealthy` (cannot run
/// Codex tools).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthStatus {
    /// Everything works.
    Ok,
    /// Works, with problems worth fixing.
    Degraded,
    /// Codex tools cannot run.
    Unhealthy,
}

/// The state of the credentials agents use, without revealing them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CredentialsHealth {
    /// How Codex authenticates: e.g. "chatgpt", "api_key" or "none".
    pub method: String,
    /// Where they were found (a file path or an environment variable name).
    pub source: Option<String>,
    /// Seconds until the login expires (negative once expired); null when it does not.
    pub expires_in_seconds: Option<i64>,
    /// What is wrong with them, if anything.
    pub problems: Vec<String>,
}

/// Whether the Codex CLI can be run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CodexHealth {
    /// It was found and runs.
    pub available: bool,
    /// Its version, when known.
    pub version: Option<String>,
    /// Why it cannot serve calls although it runs (e.g. a version too old), with the fix.
    pub problem: Option<String>,
}

const DESCRIPTION: &str = "Check whether the server can do its work: status (ok, degraded, unhealthy), version, uptime, runtime (docker or local) with a note, open sessions, active agents, the credentials' method, source, expiry and problems (never the secrets), and whether the Codex CLI is available. Call it when Codex tools fail to find out why. Answered by the server; no Codex call.";

pub(crate) fn spec() -> ToolSpec {
    ToolSpec::new_server(
        Definition {
            name: "health_check",
            title: "Health check",
            description: DESCRIPTION,
            annotations: server_annotations(true, false),
            input_schema: input_schema::<HealthCheckArgs>(),
            output_schema: output_schema::<HealthCheckResponse>(),
        },
        parse,
    )
}

fn parse(
    tool: &ToolSpec,
    arguments: &Map<String, Value>,
) -> Result<ServerCallParts, ArgumentError> {
    let a: HealthCheckArgs = args::parse(tool.input_schema(), arguments)?;
    Ok((a.agent_id, ServerRequest::HealthCheck))
}
