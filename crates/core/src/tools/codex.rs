//! The Codex-backed tools (plan, implement, review, fix, chat, audit, debug) at the MCP
//! edge: arguments become a [`TurnRequest`], the turn's progress becomes
//! `notifications/progress`, its outcome a structured result and its error the text of
//! an `isError` result. The turn itself is [`AgentManager::run_turn`].

use std::sync::Arc;

use async_trait::async_trait;
use codex_mcp_protocol::tasks_ext::TaskSupport;
use codex_mcp_protocol::tools::{CallToolResult, Tool};
use codex_mcp_tools::ToolSpec;
use serde_json::{Map, Value};

use crate::agents::{AgentError, AgentManager, TurnRequest};
use crate::server::{RequestCtx, ToolError, ToolHandler};

/// A Codex tool, from the catalogue or an embedder's own ([`ToolSpec::new_codex`]),
/// served through an agent manager.
pub struct CodexToolHandler {
    spec: &'static ToolSpec,
    manager: Arc<AgentManager>,
}

impl CodexToolHandler {
    /// Serves `spec` with `manager`. An embedder's own spec lives in a `static`
    /// (`LazyLock<ToolSpec>`), as the catalogue's do.
    pub fn new(spec: &'static ToolSpec, manager: Arc<AgentManager>) -> Self {
        Self { spec, manager }
    }

    /// The turn a call asks for, with the agent resolved from the caller's identity.
    fn request(
        &self,
        arguments: Map<String, Value>,
        ctx: &RequestCtx,
    ) -> Result<TurnRequest, AgentError> {
        let call = codex_mcp_tools::prepare_call(self.spec, &arguments)?;
        let argument = call.agent_id.as_ref().map(|a| a.as_str());
        let agent = self.manager.resolve_agent(argument, ctx.identity())?;
        Ok(TurnRequest {
            call,
            arguments,
            agent,
            session: ctx.identity().session_id.clone(),
            cancel: ctx.cancellation().clone(),
        })
    }
}

#[async_trait]
impl ToolHandler for CodexToolHandler {
    fn definition(&self) -> Tool {
        self.spec.to_mcp_tool()
    }

    /// Codex turns take minutes: a client that declared the 2026-07-28 tasks extension
    /// gets a task it polls instead of a request that must stay open.
    fn task_support(&self) -> TaskSupport {
        TaskSupport::Optional
    }

    async fn call(
        &self,
        arguments: Map<String, Value>,
        ctx: RequestCtx,
    ) -> Result<CallToolResult, ToolError> {
        let request = self.request(arguments, &ctx)?;
        let outcome = self
            .manager
            .run_turn(request)
            .run_with(|p| ctx.progress(p.step as f64, None, Some(p.message)))
            .await?;
        let mut result = CallToolResult::structured(outcome.structured);
        crate::server::correlation::stamp(&mut result);
        Ok(result)
    }
}

/// The MCP edge's only translation of agent errors: the sentence of an `isError` result.
impl From<AgentError> for ToolError {
    fn from(error: AgentError) -> Self {
        ToolError::Failed(error.to_string())
    }
}
