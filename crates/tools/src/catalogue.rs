//! The tool catalogue: what each tool is, how it is listed, and turning a call into a
//! Codex run or a server request.

use std::fmt;
use std::sync::LazyLock;
use std::time::Duration;

use codex_mcp_protocol::prompts::Role;
use codex_mcp_protocol::tools::{Tool, ToolAnnotations};
use jsonschema::Validator;
use serde_json::{Map, Value};

use crate::args::ArgumentError;
use crate::output::{self, OutputError};
use crate::tools::{self, Severity};
use codex_mcp_protocol::AgentId;

/// Longest `timeout_seconds` a caller may ask for (two hours): long enough for a large
/// implementation, short enough that a forgotten turn does not hold an agent for a day.
pub const MAX_TIMEOUT_SECONDS: u32 = 7200;

/// Prefix of the original project's tool names, still accepted by [`find`].
pub const LEGACY_PREFIX: &str = "codex_";

/// One tool: its listing, its schemas, and how a call to it is handled.
pub struct ToolSpec {
    /// Unique name, as listed and called.
    pub name: &'static str,
    /// Display name.
    pub title: &'static str,
    /// What it does, when to use it and what comes back, written for the calling agent.
    pub description: &'static str,
    /// Behaviour hints (the title is included for clients of the 2025-03-26 era).
    pub annotations: ToolAnnotations,
    /// Whether Codex answers the call or the server does.
    pub kind: ToolKind,
    input_schema: Value,
    output_schema: Value,
    /// Compiled on first use: most tools are never called by a given server run, and
    /// compiling all of them at startup showed in its memory.
    validator: std::sync::OnceLock<Result<Validator, String>>,
    handler: Handler,
}

/// Who answers a tool call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    /// A Codex turn in the agent's environment; see [`prepare`].
    Codex(CodexTool),
    /// The server itself, from its own state; see [`prepare_server`].
    Server,
}

/// How a Codex tool's turn must be run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodexTool {
    /// Whether the turn may change the agent's workspace.
    pub access: WorkspaceAccess,
    /// How long a turn may run unless the caller gives `timeout_seconds`.
    pub default_timeout: Duration,
    /// Which Codex thread the turn continues.
    pub conversation: Conversation,
}

/// What a Codex turn may do to the agent's workspace; the runtime enforces it (a Codex
/// sandbox mode on the host, a read-only mount or scratch copy in a container).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkspaceAccess {
    /// Read and inspect only.
    ReadOnly,
    /// Edit files in the workspace.
    Writes,
}

/// Which Codex thread a call belongs to, so related calls share context and unrelated
/// ones do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversation {
    /// Every call resumes the agent's conversation for this tool, so the model remembers
    /// the earlier turns (chat).
    Continuing,
    /// One thread per agent per tool: a plan's exploration is reused by the next plan,
    /// but does not leak into a review.
    PerTool,
}

type PrepareFn = fn(&ToolSpec, &Map<String, Value>) -> Result<Prepared, ArgumentError>;
type ServerFn = fn(&ToolSpec, &Map<String, Value>) -> Result<ServerCallParts, ArgumentError>;

#[derive(Clone, Copy)]
enum Handler {
    Codex(PrepareFn),
    Server(ServerFn),
}

/// What a Codex tool module produces from valid arguments.
pub(crate) struct Prepared {
    pub agent_id: Option<AgentId>,
    pub timeout_seconds: Option<u32>,
    pub prompt: String,
    pub seed_messages: Vec<(Role, String)>,
    pub min_severity: Option<Severity>,
}

impl Prepared {
    pub(crate) fn new(
        agent_id: Option<AgentId>,
        timeout_seconds: Option<u32>,
        prompt: String,
    ) -> Self {
        Self {
            agent_id,
            timeout_seconds,
            prompt,
            seed_messages: Vec::new(),
            min_severity: None,
        }
    }
}

/// What a server tool module produces from valid arguments.
pub(crate) type ServerCallParts = (Option<AgentId>, ServerRequest);

/// A tool's static description, from which [`ToolSpec`] builds its schemas once.
pub(crate) struct Definition {
    pub name: &'static str,
    pub title: &'static str,
    pub description: &'static str,
    pub annotations: ToolAnnotations,
    pub input_schema: Value,
    pub output_schema: Value,
}

impl ToolSpec {
    pub(crate) fn new_codex(definition: Definition, tool: CodexTool, prepare: PrepareFn) -> Self {
        Self::build(definition, ToolKind::Codex(tool), Handler::Codex(prepare))
    }

    pub(crate) fn new_server(definition: Definition, parse: ServerFn) -> Self {
        Self::build(definition, ToolKind::Server, Handler::Server(parse))
    }

    fn build(definition: Definition, kind: ToolKind, handler: Handler) -> Self {
        let annotations = ToolAnnotations {
            title: Some(definition.title.to_owned()),
            ..definition.annotations
        };
        Self {
            name: definition.name,
            title: definition.title,
            description: definition.description,
            annotations,
            kind,
            input_schema: definition.input_schema,
            output_schema: definition.output_schema,
            validator: std::sync::OnceLock::new(),
            handler,
        }
    }

    /// The tool as `tools/list` shows it.
    pub fn to_mcp_tool(&self) -> Tool {
        Tool {
            name: self.name.to_owned(),
            title: Some(self.title.to_owned()),
            description: Some(self.description.to_owned()),
            input_schema: self.input_schema.clone(),
            output_schema: Some(self.output_schema.clone()),
            annotations: Some(self.annotations.clone()),
            meta: None,
        }
    }

    /// The JSON Schema of the arguments (MCP `inputSchema`).
    pub fn input_schema(&self) -> &Value {
        &self.input_schema
    }

    /// The JSON Schema of the result's `structuredContent` (MCP `outputSchema`); for
    /// Codex tools also the `--output-schema`. Every tool has one today.
    pub fn output_schema(&self) -> Option<&Value> {
        Some(&self.output_schema)
    }

    /// The Codex side of the tool, if Codex answers it.
    pub fn codex(&self) -> Option<&CodexTool> {
        match &self.kind {
            ToolKind::Codex(tool) => Some(tool),
            ToolKind::Server => None,
        }
    }

    pub(crate) fn validator(&self) -> Result<&Validator, OutputError> {
        self.validator
            .get_or_init(|| {
                jsonschema::draft202012::new(&self.output_schema).map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|reason| OutputError::SchemaUnavailable {
                tool: self.name.to_owned(),
                reason: reason.clone(),
            })
    }
}

impl fmt::Debug for ToolSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolSpec")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

static CATALOGUE: LazyLock<Vec<ToolSpec>> = LazyLock::new(|| {
    vec![
        tools::plan::spec(),
        tools::implement::spec(),
        tools::review::spec(),
        tools::fix::spec(),
        tools::chat::spec(),
        tools::audit::spec(),
        tools::debug::spec(),
        tools::sessions::list_sessions(),
        tools::sessions::get_my_session_info(),
        tools::health::spec(),
        tools::agents::list_active_agents(),
        tools::agents::get_agent_status(),
        tools::agents::cleanup_inactive_agents(),
    ]
});

/// Every tool, in the order `tools/list` shows them (Codex tools first, then the
/// server's own). Built on first use and shared afterwards.
pub fn catalogue() -> &'static [ToolSpec] {
    &CATALOGUE
}

/// The tool called `name`, also under the original project's `codex_` names
/// (`codex_chat` is `chat`), which existing clients and scripts still use.
pub fn find(name: &str) -> Option<&'static ToolSpec> {
    let exact = catalogue().iter().find(|t| t.name == name);
    exact.or_else(|| {
        let bare = name.strip_prefix(LEGACY_PREFIX)?;
        catalogue().iter().find(|t| t.name == bare)
    })
}

/// Everything the Codex driver needs for one call.
#[derive(Debug, Clone)]
pub struct PreparedCall {
    /// The tool called (the canonical one, when an alias was used).
    pub tool: &'static ToolSpec,
    /// The `agent_id` argument, when given; identity resolution falls back to the
    /// connection's agent otherwise.
    pub agent_id: Option<AgentId>,
    /// The prompt for Codex's stdin.
    pub prompt: String,
    /// The schema for `--output-schema` (strict subset; same as the tool's outputSchema).
    pub codex_output_schema: Value,
    /// The caller's `timeout_seconds`, else the tool's default.
    pub timeout: Duration,
    /// Names the agent's Codex thread this call continues (see [`Conversation`]).
    pub conversation_key: String,
    /// For chat, the earlier turns the caller supplied, in order. They are already
    /// written into `prompt`; this copy is for recording, not for sending again.
    pub seed_messages: Vec<(Role, String)>,
    /// For audit, the `severity_threshold`: findings below it are dropped by
    /// [`PreparedCall::finish`].
    pub min_severity: Option<Severity>,
}

impl PreparedCall {
    /// Turns Codex's final message into the call's `structuredContent`: [`finish`](crate::output::finish), then
    /// the call's own post-processing (audit's severity threshold).
    pub fn finish(&self, final_message: &str) -> Result<Value, OutputError> {
        let mut value = output::finish(self.tool, final_message)?;
        if let Some(threshold) = self.min_severity {
            tools::audit::filter_findings(&mut value, threshold);
        }
        Ok(value)
    }
}

/// Validates a Codex tool's arguments and builds its prompt. `name` may be an alias.
pub fn prepare(name: &str, arguments: &Map<String, Value>) -> Result<PreparedCall, ArgumentError> {
    let tool = find(name).ok_or_else(|| ArgumentError::UnknownTool { name: name.into() })?;
    let (Handler::Codex(prepare), ToolKind::Codex(codex)) = (tool.handler, tool.kind) else {
        return Err(ArgumentError::NotCodexTool {
            name: tool.name.into(),
        });
    };
    let prepared = prepare(tool, arguments)?;
    let timeout = prepared
        .timeout_seconds
        .map_or(codex.default_timeout, |s| Duration::from_secs(s.into()));
    Ok(PreparedCall {
        tool,
        agent_id: prepared.agent_id,
        prompt: prepared.prompt,
        codex_output_schema: tool.output_schema.clone(),
        timeout,
        conversation_key: tool.name.to_owned(),
        seed_messages: prepared.seed_messages,
        min_severity: prepared.min_severity,
    })
}

/// A server tool's validated call.
#[derive(Debug, Clone)]
pub struct ServerCall {
    /// The tool called (the canonical one, when an alias was used).
    pub tool: &'static ToolSpec,
    /// The caller's `agent_id` argument, when given (for `get_agent_status` the agent
    /// asked about is in the request instead).
    pub agent_id: Option<AgentId>,
    /// What to answer.
    pub request: ServerRequest,
}

/// What a server tool asks for; the server fills the matching response type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerRequest {
    /// `list_sessions`: sessions of `agent_id` when given, else of every agent;
    /// answer with [`tools::sessions::ListSessionsResponse`].
    ListSessions {
        /// Only this agent's sessions.
        agent_id: Option<AgentId>,
    },
    /// `get_my_session_info`: the calling agent's session; answer with
    /// [`tools::sessions::SessionInfo`].
    GetMySessionInfo,
    /// `health_check`; answer with [`tools::health::HealthCheckResponse`].
    HealthCheck,
    /// `list_active_agents`; answer with [`tools::agents::ListActiveAgentsResponse`].
    ListActiveAgents,
    /// `get_agent_status`; answer with [`tools::agents::AgentStatusResponse`].
    GetAgentStatus {
        /// The agent asked about.
        agent_id: AgentId,
    },
    /// `cleanup_inactive_agents`; answer with [`tools::agents::CleanupResponse`].
    CleanupInactiveAgents {
        /// Idle time after which an agent counts as inactive; the server's
        /// session timeout when `None`.
        idle_seconds: Option<u64>,
        /// Also delete the agents' workspaces and Codex homes.
        purge: bool,
    },
}

/// Validates a server tool's arguments. `name` may be an alias.
pub fn prepare_server(
    name: &str,
    arguments: &Map<String, Value>,
) -> Result<ServerCall, ArgumentError> {
    let tool = find(name).ok_or_else(|| ArgumentError::UnknownTool { name: name.into() })?;
    let Handler::Server(parse) = tool.handler else {
        return Err(ArgumentError::NotServerTool {
            name: tool.name.into(),
        });
    };
    let (agent_id, request) = parse(tool, arguments)?;
    Ok(ServerCall {
        tool,
        agent_id,
        request,
    })
}
