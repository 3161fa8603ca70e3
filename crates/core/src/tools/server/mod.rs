//! The tools the server answers itself: `health_check`, `list_sessions`,
//! `get_my_session_info`, `list_active_agents`, `get_agent_status`,
//! `cleanup_inactive_agents`, `get_job` and `cancel_job`. Their shapes come from `codex-mcp-tools`; the values come
//! from the engine, the agent manager and the runtime.
//!
//! Every one answers only for the agents the caller may see ([`Scope`]): with bearer
//! tokens, a token's own agents, unless it is an admin (or `"*"`) token. `health_check`
//! gives counts only.

mod agents;
mod jobs;
mod sessions;

use std::sync::Arc;

use async_trait::async_trait;
use codex_mcp_protocol::tools::{CallToolResult, Tool};
use codex_mcp_runtime::AgentState;
use codex_mcp_tools::tools::health::{
    CodexHealth, CredentialsHealth, HealthCheckResponse, HealthStatus,
};
use codex_mcp_tools::tools::sessions::MySessionInfo;
use codex_mcp_tools::{AgentId, ServerRequest, ToolSpec};
use serde_json::{Map, Value};

use crate::agents::AgentManager;
use crate::agents::identity::Scope;
use crate::server::{RequestCtx, ToolError, ToolHandler};

/// Facts only the embedding program knows.
pub trait ServerFacts: Send + Sync + 'static {
    /// `docker` or `local`, and why, if it is not what was asked for.
    fn runtime(&self) -> (String, Option<String>);
    /// Credential status, never secrets.
    fn credentials(&self) -> CredentialsHealth;
    /// Whether Codex is available, and its version.
    fn codex(&self) -> CodexHealth;
}

/// A server tool from the catalogue.
pub struct ServerToolHandler {
    spec: &'static ToolSpec,
    manager: Arc<AgentManager>,
    facts: Arc<dyn ServerFacts>,
}

impl ServerToolHandler {
    /// Serves `spec`.
    pub fn new(
        spec: &'static ToolSpec,
        manager: Arc<AgentManager>,
        facts: Arc<dyn ServerFacts>,
    ) -> Self {
        Self {
            spec,
            manager,
            facts,
        }
    }

    fn agent_id(id: &str) -> Result<AgentId, ToolError> {
        AgentId::try_from(id).map_err(|e| ToolError::Failed(e.to_string()))
    }

    async fn answer(
        &self,
        request: ServerRequest,
        ctx: &RequestCtx,
        caller: Option<&str>,
    ) -> Result<CallToolResult, ToolError> {
        let scope = Scope::of(ctx.identity());
        let spec = self.spec;
        let value = match request {
            ServerRequest::HealthCheck => {
                let (runtime, runtime_note) = self.facts.runtime();
                let credentials = self.facts.credentials();
                let codex = self.facts.codex();
                let status =
                    if credentials.problems.is_empty() && codex.available && runtime_note.is_none()
                    {
                        HealthStatus::Ok
                    } else {
                        HealthStatus::Degraded
                    };
                let (uptime, sessions) = ctx
                    .server()
                    .map(|s| (s.uptime().as_secs(), s.sessions().len() as u64))
                    .unwrap_or_default();
                out(
                    spec,
                    &HealthCheckResponse {
                        status,
                        version: env!("CARGO_PKG_VERSION").into(),
                        uptime_seconds: uptime,
                        runtime,
                        runtime_note,
                        open_sessions: sessions,
                        active_agents: self.manager.live_agents().len() as u64,
                        credentials,
                        codex,
                    },
                )
            }
            ServerRequest::ListSessions {
                agent_id,
                offset,
                limit,
            } => {
                if let Some(id) = &agent_id {
                    scope.check(id.as_str())?;
                }
                let page = (offset as usize, limit as usize);
                let mut list = self.list_sessions(agent_id.as_ref(), &scope, page).await?;
                list.jobs = jobs::caller_jobs(ctx);
                out(spec, &list)
            }
            ServerRequest::GetMySessionInfo => {
                let me = self.manager.resolve_agent(caller, ctx.identity())?;
                let session = self.one_session(&me).await?.ok_or_else(|| {
                    ToolError::Failed(format!(
                        "agent {me} has no session yet: call a Codex tool first"
                    ))
                })?;
                let jobs = jobs::caller_jobs(ctx);
                out(spec, &MySessionInfo { session, jobs })
            }
            ServerRequest::GetJob {
                job_id,
                wait_seconds,
            } => return self.get_job(ctx, &job_id, wait_seconds).await,
            ServerRequest::CancelJob { job_id } => return self.cancel_job(ctx, &job_id).await,
            ServerRequest::ListActiveAgents => out(spec, &self.list_active_agents(&scope).await?),
            ServerRequest::GetAgentStatus { agent_id } => {
                scope.check(agent_id.as_str())?;
                out(spec, &self.agent_status(&agent_id).await?)
            }
            ServerRequest::CleanupInactiveAgents {
                idle_seconds,
                purge,
            } => {
                let default = self.manager.lifecycle_policy().idle_timeout.as_secs();
                out(
                    spec,
                    &self
                        .cleanup(idle_seconds.unwrap_or(default), purge, &scope)
                        .await?,
                )
            }
        }?;
        Ok(CallToolResult::structured(value))
    }
}

fn state_name(state: AgentState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{state:?}").to_lowercase())
}

/// A response as the tool's `structuredContent`, checked against its output schema; a
/// response that cannot be serialised or does not fit is an error, never an empty value.
fn out<T: serde::Serialize>(spec: &ToolSpec, response: &T) -> Result<Value, ToolError> {
    codex_mcp_tools::output::to_structured(spec, response)
        .map_err(|e| ToolError::Failed(e.to_string()))
}

#[async_trait]
impl ToolHandler for ServerToolHandler {
    fn definition(&self) -> Tool {
        self.spec.to_mcp_tool()
    }

    async fn call(
        &self,
        arguments: Map<String, Value>,
        ctx: RequestCtx,
    ) -> Result<CallToolResult, ToolError> {
        let call = codex_mcp_tools::prepare_server(self.spec.name, &arguments)
            .map_err(|e| ToolError::Failed(e.to_string()))?;
        let caller = call.agent_id.as_ref().map(|a| a.as_str().to_string());
        self.answer(call.request, &ctx, caller.as_deref()).await
    }
}
