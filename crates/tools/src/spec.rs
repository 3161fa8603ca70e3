//! What a tool is: its listing, schemas and how its calls are handled. The tool modules
//! ([`crate::tools`]) build these; the catalogue ([`crate::catalogue`]) holds them. This
//! module uses neither, so the two do not depend on each other.

use std::fmt;
use std::time::Duration;

use codex_mcp_protocol::AgentId;
use codex_mcp_protocol::prompts::Role;
use codex_mcp_protocol::tools::{Tool, ToolAnnotations};
use jsonschema::{ValidationError, Validator};
use serde_json::{Map, Value};

use crate::args::ArgumentError;
use crate::job;
use crate::severity::Severity;

/// Longest `timeout_seconds` a caller may ask for (two hours): long enough for a large
/// implementation, short enough that a forgotten turn does not hold an agent for a day.
pub const MAX_TIMEOUT_SECONDS: u32 = 7200;

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
    pub(crate) output_schema: Value,
    /// Compiled on first use: most tools are never called by a given server run, and
    /// compiling all of them at startup showed in its memory.
    validator: std::sync::OnceLock<Result<Validator, ValidationError<'static>>>,
    pub(crate) handler: Handler,
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
    /// How long a turn may run unless the caller gives `timeout_seconds`. Each call
    /// continues the agent's Codex thread for this tool (see
    /// [`PreparedCall::conversation_key`](crate::PreparedCall::conversation_key)).
    pub default_timeout: Duration,
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

/// Checks a Codex tool's arguments (see [`crate::args::parse`]) and writes its prompt.
/// The catalogue's tools and an embedder's own tools supply one of these to
/// [`ToolSpec::new_codex`].
pub type PrepareFn = fn(&ToolSpec, &Map<String, Value>) -> Result<Prepared, ArgumentError>;
type ServerFn = fn(&ToolSpec, &Map<String, Value>) -> Result<ServerCallParts, ArgumentError>;

/// How a tool's arguments are turned into a call.
#[derive(Clone, Copy)]
pub(crate) enum Handler {
    Codex(PrepareFn),
    Server(ServerFn),
}

/// What a Codex tool's [`PrepareFn`] produces from valid arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The caller's `agent_id` argument, when the tool has one and it was given.
    pub agent_id: Option<AgentId>,
    /// The caller's `timeout_seconds`, else the tool's default applies.
    pub timeout_seconds: Option<u32>,
    /// The text Codex receives.
    pub prompt: String,
    /// Earlier turns the caller supplied (chat), for recording.
    pub seed_messages: Vec<(Role, String)>,
    /// Findings below this are dropped from the result (audit).
    pub min_severity: Option<Severity>,
}

impl Prepared {
    /// A call with a prompt and no seed messages or severity threshold.
    pub fn new(agent_id: Option<AgentId>, timeout_seconds: Option<u32>, prompt: String) -> Self {
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

/// A tool's listing: what [`ToolSpec`] is built from.
#[derive(Debug, Clone)]
pub struct Definition {
    /// Unique name, as listed and called.
    pub name: &'static str,
    /// Display name.
    pub title: &'static str,
    /// What it does, when to use it and what comes back, written for the calling agent.
    pub description: &'static str,
    /// Behaviour hints; [`crate::tools::codex_annotations`] gives a Codex tool's.
    pub annotations: ToolAnnotations,
    /// The arguments' JSON Schema; [`crate::schema::input_schema`] derives one.
    pub input_schema: Value,
    /// The result's JSON Schema, also Codex's `--output-schema`, so it must stay in
    /// the strict subset; [`crate::schema::output_schema`] derives one.
    pub output_schema: Value,
}

impl ToolSpec {
    /// A Codex-backed tool: `prepare` checks the arguments and writes the prompt,
    /// `tool` says how the turn runs. The catalogue's seven Codex tools are built here,
    /// and so is an embedder's own (serve it with `codex_mcp_core::CodexToolHandler`).
    /// Every Codex tool also takes `background` ([`crate::job`]); the engine reads it and
    /// [`crate::prepare_call`] takes it out before `prepare` sees the arguments.
    pub fn new_codex(definition: Definition, tool: CodexTool, prepare: PrepareFn) -> Self {
        let definition = Definition {
            input_schema: job::with_background(definition.input_schema),
            ..definition
        };
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

    /// The tool as `tools/list` shows it. A Codex tool's `outputSchema` also admits the
    /// [`crate::job::JobStarted`] answer of a background call.
    pub fn to_mcp_tool(&self) -> Tool {
        let output_schema = match self.kind {
            ToolKind::Codex(_) => job::with_job_started(&self.output_schema),
            ToolKind::Server => self.output_schema.clone(),
        };
        Tool {
            name: self.name.to_owned(),
            title: Some(self.title.to_owned()),
            description: Some(self.description.to_owned()),
            input_schema: self.input_schema.clone(),
            output_schema: Some(output_schema),
            annotations: Some(self.annotations.clone()),
            meta: None,
        }
    }

    /// The JSON Schema of the arguments (MCP `inputSchema`).
    pub fn input_schema(&self) -> &Value {
        &self.input_schema
    }

    /// The JSON Schema of the tool's result (for Codex tools the `--output-schema`; the
    /// MCP `outputSchema` adds the background answer, see [`Self::to_mcp_tool`]). Every
    /// tool has one today.
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

    /// The compiled output schema, or why it does not compile.
    pub(crate) fn validator(&self) -> Result<&Validator, &ValidationError<'static>> {
        self.validator
            .get_or_init(|| jsonschema::draft202012::new(&self.output_schema))
            .as_ref()
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

/// What a server tool asks for; the server fills the matching response type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerRequest {
    /// `list_sessions`: sessions of `agent_id` when given, else of every agent;
    /// answer with [`crate::tools::sessions::ListSessionsResponse`].
    ListSessions {
        /// Only this agent's sessions.
        agent_id: Option<AgentId>,
        /// Sessions skipped first.
        offset: u32,
        /// At most this many in the answer.
        limit: u32,
    },
    /// `get_my_session_info`: the calling agent's session; answer with
    /// [`crate::tools::sessions::SessionInfo`].
    GetMySessionInfo,
    /// `health_check`; answer with [`crate::tools::health::HealthCheckResponse`].
    HealthCheck,
    /// `list_active_agents`; answer with [`crate::tools::agents::ListActiveAgentsResponse`].
    ListActiveAgents,
    /// `get_agent_status`; answer with [`crate::tools::agents::AgentStatusResponse`].
    GetAgentStatus {
        /// The agent asked about.
        agent_id: AgentId,
    },
    /// `get_job`: wait up to `wait_seconds` for the job to end; answer with
    /// [`crate::tools::jobs::GetJobResponse`].
    GetJob {
        /// The job asked about.
        job_id: String,
        /// How long to wait for it to end (0 to [`crate::tools::jobs::MAX_WAIT_SECONDS`]).
        wait_seconds: u32,
    },
    /// `cancel_job`; answer with [`crate::tools::jobs::CancelJobResponse`].
    CancelJob {
        /// The job to stop.
        job_id: String,
    },
    /// `cleanup_inactive_agents`; answer with [`crate::tools::agents::CleanupResponse`].
    CleanupInactiveAgents {
        /// Idle time after which an agent counts as inactive; the server's
        /// session timeout when `None`.
        idle_seconds: Option<u64>,
        /// Also delete the agents' workspaces and Codex homes.
        purge: bool,
    },
}
