//! The tool catalogue: what each tool is, how it is listed, and turning a call into a
//! Codex run or a server request.

use std::sync::LazyLock;
use std::time::Duration;

use codex_mcp_protocol::AgentId;
use codex_mcp_protocol::prompts::Role;
use serde_json::{Map, Value};

use crate::args::ArgumentError;
use crate::output::{self, OutputError};
use crate::severity::Severity;
use crate::spec::{Handler, ServerRequest, ToolKind, ToolSpec};
use crate::tools;

/// Prefix of the original project's tool names, still accepted by [`find`].
pub const LEGACY_PREFIX: &str = "codex_";

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
        tools::jobs::get_job(),
        tools::jobs::cancel_job(),
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
    /// Names the agent's Codex thread this call continues: the tool's name, so a plan's
    /// exploration is reused by the next plan (and chat continues), but does not leak
    /// into a review.
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

/// Validates a catalogue Codex tool's arguments and builds its prompt. `name` may be an
/// alias.
pub fn prepare(name: &str, arguments: &Map<String, Value>) -> Result<PreparedCall, ArgumentError> {
    let tool = find(name).ok_or_else(|| ArgumentError::UnknownTool { name: name.into() })?;
    prepare_call(tool, arguments)
}

/// Validates the arguments of a Codex tool, from the catalogue or an embedder's own
/// [`ToolSpec::new_codex`], and builds its prompt.
pub fn prepare_call(
    tool: &'static ToolSpec,
    arguments: &Map<String, Value>,
) -> Result<PreparedCall, ArgumentError> {
    let (Handler::Codex(prepare), ToolKind::Codex(codex)) = (tool.handler, tool.kind) else {
        return Err(ArgumentError::NotCodexTool {
            name: tool.name.into(),
        });
    };
    let arguments = crate::job::without_background(arguments)?;
    let prepared = prepare(tool, &arguments)?;
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
