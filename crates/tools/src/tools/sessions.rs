//! `list_sessions` and `get_my_session_info`: what the server knows about agents'
//! sessions. The server fills the responses from its store and runtime.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::jobs::JobInfo;
use super::{AGENT_ID_DOC, server_annotations};
use crate::args::{self, ArgumentError};
use crate::schema::{input_schema, output_schema};
use crate::spec::{Definition, ServerCallParts, ServerRequest, ToolSpec};
use codex_mcp_protocol::AgentId;

/// Arguments of `list_sessions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListSessionsArgs {
    /// Only this agent's session.
    #[schemars(
        description = "List only this agent's session (1-64 of A-Za-z0-9_.-); all agents' when omitted."
    )]
    pub agent_id: Option<AgentId>,
    /// At most this many sessions in the answer.
    #[schemars(
        description = "At most this many sessions (1-500, default 100); the answer's next_offset continues the list.",
        range(min = 1, max = MAX_PAGE)
    )]
    pub limit: Option<u32>,
    /// Skip this many sessions first.
    #[schemars(
        description = "Skip this many sessions first (default 0): the next_offset of the previous page."
    )]
    pub offset: Option<u32>,
}

/// The largest `list_sessions` page: every session carries its threads and recent
/// calls, so one answer stays bounded however many agents the server has seen.
pub const MAX_PAGE: u32 = 500;

/// The page size when the caller gives none.
pub const DEFAULT_PAGE: u32 = 100;

/// Arguments of `get_my_session_info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GetMySessionInfoArgs {
    /// The calling agent.
    #[schemars(description = AGENT_ID_DOC)]
    pub agent_id: Option<AgentId>,
}

/// What `list_sessions` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ListSessionsResponse {
    /// One entry per agent session, most recently active first (one page of them).
    pub sessions: Vec<SessionInfo>,
    /// Sessions in all, on every page.
    pub total: u64,
    /// The `offset` of the next page; `None` (null) on the last one.
    pub next_offset: Option<u64>,
    /// Your latest background jobs (and tasks), newest first (at most 20).
    pub jobs: Vec<JobInfo>,
}

/// What `get_my_session_info` returns: your session and your latest jobs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MySessionInfo {
    /// Your agent's session.
    #[serde(flatten)]
    pub session: SessionInfo,
    /// Your latest background jobs (and tasks), newest first (at most 20).
    pub jobs: Vec<JobInfo>,
}

/// One agent's session: its environment and what it has done. Also what
/// `get_my_session_info` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SessionInfo {
    /// The agent.
    pub agent_id: AgentId,
    /// Where its environment lives: "docker" or "local".
    pub runtime: String,
    /// Its container, with the docker runtime.
    pub container_id: Option<String>,
    /// The environment's state, e.g. "running", "stopped", "starting", "not_started".
    pub state: String,
    /// When the agent was first seen (RFC 3339).
    pub created_at: String,
    /// When it last made a call (RFC 3339).
    pub last_active_at: String,
    /// Its workspace folder inside the environment, once it was prepared.
    pub workspace: Option<String>,
    /// Tool calls made.
    pub calls: u64,
    /// Tool calls running now.
    pub calls_running: u64,
    /// Model input tokens used, in all.
    pub tokens_in: u64,
    /// Model output tokens used, in all.
    pub tokens_out: u64,
    /// The Codex conversations the agent has, one per conversation key.
    pub threads: Vec<ThreadInfo>,
    /// The agent's latest Codex tool calls, newest first (at most 10).
    pub recent_calls: Vec<CallInfo>,
}

/// One recorded Codex tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CallInfo {
    /// Correlation id, as in the server's log.
    pub call_id: String,
    /// The tool called.
    pub tool: String,
    /// "running", "succeeded", "failed", "cancelled", "timed_out", or "interrupted"
    /// (the server stopped while the call ran).
    pub status: String,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it ended (RFC 3339), unless still running or interrupted.
    pub finished_at: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: Option<u64>,
    /// What went wrong, for calls that did not succeed.
    pub error: Option<String>,
    /// Model input tokens the call used.
    pub tokens_in: Option<u64>,
    /// Model output tokens the call used.
    pub tokens_out: Option<u64>,
}

/// A Codex conversation thread of an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ThreadInfo {
    /// Which conversation: the tool name (e.g. "chat", "plan").
    pub conversation: String,
    /// Codex's thread id.
    pub thread_id: String,
}

const LIST_DESCRIPTION: &str = "List agent sessions known to the server: for each agent its runtime (docker or local), container id, state, creation and last-activity times, number of calls, tokens used and Codex conversation threads; and your latest background jobs (id, tool, status, start). Give agent_id to see one agent only. Answered by the server; no Codex call.";

const MINE_DESCRIPTION: &str = "Show your own session: agent id, runtime, container id, state, creation and last-activity times, calls made, tokens used, your Codex conversation threads and your latest background jobs (id, tool, status, start). Useful to check which environment your calls run in. Answered by the server; no Codex call.";

pub(crate) fn list_sessions() -> ToolSpec {
    ToolSpec::new_server(
        Definition {
            name: "list_sessions",
            title: "List sessions",
            description: LIST_DESCRIPTION,
            annotations: server_annotations(true, false),
            input_schema: input_schema::<ListSessionsArgs>(),
            output_schema: output_schema::<ListSessionsResponse>(),
        },
        parse_list,
    )
}

pub(crate) fn get_my_session_info() -> ToolSpec {
    ToolSpec::new_server(
        Definition {
            name: "get_my_session_info",
            title: "My session",
            description: MINE_DESCRIPTION,
            annotations: server_annotations(true, false),
            input_schema: input_schema::<GetMySessionInfoArgs>(),
            output_schema: output_schema::<MySessionInfo>(),
        },
        parse_mine,
    )
}

fn parse_list(
    tool: &ToolSpec,
    arguments: &Map<String, Value>,
) -> Result<ServerCallParts, ArgumentError> {
    let a: ListSessionsArgs = args::parse(tool.input_schema(), arguments)?;
    let request = ServerRequest::ListSessions {
        agent_id: a.agent_id.clone(),
        offset: a.offset.unwrap_or(0),
        limit: a.limit.unwrap_or(DEFAULT_PAGE),
    };
    Ok((a.agent_id, request))
}

fn parse_mine(
    tool: &ToolSpec,
    arguments: &Map<String, Value>,
) -> Result<ServerCallParts, ArgumentError> {
    let a: GetMySessionInfoArgs = args::parse(tool.input_schema(), arguments)?;
    Ok((a.agent_id, ServerRequest::GetMySessionInfo))
}
