//! The container tools: `list_active_agents`, `get_agent_status` and
//! `cleanup_inactive_agents`. The server fills the responses from its runtime and store.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::sessions::SessionInfo;
use super::{AGENT_ID_DOC, server_annotations};
use crate::args::{self, ArgumentError};
use crate::schema::{input_schema, output_schema};
use crate::spec::{Definition, ServerCallParts, ServerRequest, ToolSpec};
use codex_mcp_protocol::AgentId;

/// Arguments of `list_active_agents` (none but the usual `agent_id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListActiveAgentsArgs {
    /// The calling agent.
    #[schemars(description = AGENT_ID_DOC)]
    pub agent_id: Option<AgentId>,
}

/// Arguments of `get_agent_status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetAgentStatusArgs {
    /// The agent asked about.
    #[schemars(description = "The agent to report on (1-64 of A-Za-z0-9_.-).")]
    pub agent_id: AgentId,
}

/// Arguments of `cleanup_inactive_agents`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CleanupArgs {
    /// Agents idle at least this many seconds are cleaned up; the server's session
    /// timeout when omitted.
    pub idle_seconds: Option<u64>,
    /// Also delete their workspaces and Codex homes (conversation history included).
    /// Without it only their environments are stopped, and they resume on next use.
    #[serde(default)]
    pub purge: bool,
    /// The calling agent.
    #[schemars(description = AGENT_ID_DOC)]
    pub agent_id: Option<AgentId>,
}

/// What `list_active_agents` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ListActiveAgentsResponse {
    /// Agents whose environment is running, most recently active first.
    pub agents: Vec<AgentSummary>,
}

/// A running agent, briefly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentSummary {
    /// The agent.
    pub agent_id: AgentId,
    /// "docker" or "local".
    pub runtime: String,
    /// Its container, with the docker runtime.
    pub container_id: Option<String>,
    /// The environment's state, e.g. "running".
    pub state: String,
    /// When it last made a call (RFC 3339).
    pub last_active_at: String,
    /// Seconds since then.
    pub idle_seconds: u64,
    /// Codex turns running for it now.
    pub running_calls: u32,
}

/// What `get_agent_status` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AgentStatusResponse {
    /// The agent's session.
    pub session: SessionInfo,
    /// Codex turns running for it now.
    pub running_calls: u32,
    /// What its environment uses now, when it is running and the runtime can tell.
    pub resources: Option<ResourceUsage>,
}

/// What an agent's environment uses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceUsage {
    /// CPU use in percent of one core, when known.
    pub cpu_percent: Option<f64>,
    /// Memory in use, in bytes, when known.
    pub memory_bytes: Option<u64>,
    /// The memory limit, in bytes, when there is one.
    pub memory_limit_bytes: Option<u64>,
    /// Disk used by the agent's workspace, Codex home and scratch space, in bytes, when
    /// known (measured at most every 30 s; a lower bound past 100,000 files).
    pub disk_bytes: Option<u64>,
}

/// What `cleanup_inactive_agents` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CleanupResponse {
    /// The idle time applied, in seconds.
    pub idle_seconds: u64,
    /// Whether workspaces were deleted too.
    pub purge: bool,
    /// The agents cleaned up.
    pub removed: Vec<RemovedAgent>,
    /// How many agents were left alone.
    pub kept: u64,
}

/// An agent a cleanup removed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RemovedAgent {
    /// The agent.
    pub agent_id: AgentId,
    /// How long it had been idle, in seconds.
    pub idle_seconds: u64,
    /// Whether its workspace and Codex home were deleted.
    pub purged: bool,
}

const LIST_DESCRIPTION: &str = "List the agents whose environment (container or local directory) is running: id, runtime, container id, state, last activity, idle time and Codex turns in progress. Answered by the server; no Codex call.";

const STATUS_DESCRIPTION: &str = "Report on one agent: its session (runtime, container id, state, times, calls, tokens, Codex threads), the Codex turns running for it, and its CPU, memory and disk use when the runtime can tell. Fails if the server has never seen the agent. Answered by the server; no Codex call.";

const CLEANUP_DESCRIPTION: &str = "Stop the environments of agents idle for at least idle_seconds (default: the server's session timeout); agents with a Codex turn running are never touched. With purge=true their workspaces and Codex homes, including conversation history, are deleted for good; without it they resume on next use. Returns what was removed and how many agents were kept.";

pub(crate) fn list_active_agents() -> ToolSpec {
    ToolSpec::new_server(
        Definition {
            name: "list_active_agents",
            title: "List active agents",
            description: LIST_DESCRIPTION,
            annotations: server_annotations(true, false),
            input_schema: input_schema::<ListActiveAgentsArgs>(),
            output_schema: output_schema::<ListActiveAgentsResponse>(),
        },
        parse_list,
    )
}

pub(crate) fn get_agent_status() -> ToolSpec {
    ToolSpec::new_server(
        Definition {
            name: "get_agent_status",
            title: "Agent status",
            description: STATUS_DESCRIPTION,
            annotations: server_annotations(true, false),
            input_schema: input_schema::<GetAgentStatusArgs>(),
            output_schema: output_schema::<AgentStatusResponse>(),
        },
        parse_status,
    )
}

pub(crate) fn cleanup_inactive_agents() -> ToolSpec {
    ToolSpec::new_server(
        Definition {
            name: "cleanup_inactive_agents",
            title: "Clean up inactive agents",
            description: CLEANUP_DESCRIPTION,
            annotations: server_annotations(false, true),
            input_schema: input_schema::<CleanupArgs>(),
            output_schema: output_schema::<CleanupResponse>(),
        },
        parse_cleanup,
    )
}

fn parse_list(
    tool: &ToolSpec,
    arguments: &Map<String, Value>,
) -> Result<ServerCallParts, ArgumentError> {
    let a: ListActiveAgentsArgs = args::parse(tool.input_schema(), arguments)?;
    Ok((a.agent_id, ServerRequest::ListActiveAgents))
}

fn parse_status(
    tool: &ToolSpec,
    arguments: &Map<String, Value>,
) -> Result<ServerCallParts, ArgumentError> {
    let a: GetAgentStatusArgs = args::parse(tool.input_schema(), arguments)?;
    Ok((
        None,
        ServerRequest::GetAgentStatus {
            agent_id: a.agent_id,
        },
    ))
}

fn parse_cleanup(
    tool: &ToolSpec,
    arguments: &Map<String, Value>,
) -> Result<ServerCallParts, ArgumentError> {
    let a: CleanupArgs = args::parse(tool.input_schema(), arguments)?;
    let request = ServerRequest::CleanupInactiveAgents {
        idle_seconds: a.idle_seconds,
        purge: a.purge,
    };
    Ok((a.agent_id, request))
}
