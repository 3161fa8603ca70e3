//! The tools the server answers itself: `health_check`, `list_sessions`,
//! `get_my_session_info`, `list_active_agents`, `get_agent_status` and
//! `cleanup_inactive_agents`. Their shapes come from `codex-mcp-tools`; the values come
//! from the engine, the agent manager and the runtime.

use std::sync::Arc;

use async_trait::async_trait;
use codex_mcp_protocol::tools::{CallToolResult, Tool};
use codex_mcp_runtime::{AgentState, AgentStatus};
use codex_mcp_tools::tools::agents::{
    AgentStatusResponse, AgentSummary, CleanupResponse, ListActiveAgentsResponse, RemovedAgent,
    ResourceUsage,
};
use codex_mcp_tools::tools::health::{
    CodexHealth, CredentialsHealth, HealthCheckResponse, HealthStatus,
};
use codex_mcp_tools::tools::sessions::{ListSessionsResponse, SessionInfo, ThreadInfo};
use codex_mcp_tools::{AgentId, ServerRequest, ToolSpec};
use serde_json::{Map, Value};

use crate::agents::{AgentManager, identity};
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

    fn session_info(
        &self,
        id: &str,
        status: Option<&AgentStatus>,
    ) -> Result<Option<SessionInfo>, ToolError> {
        let activity = self.manager.activity(id);
        if activity.is_none() && status.is_none() {
            return Ok(None);
        }
        let (runtime, _) = self.facts.runtime();
        let created = activity
            .as_ref()
            .map(|a| a.created_at)
            .or_else(|| status.and_then(|s| s.created_at))
            .unwrap_or_else(chrono::Utc::now);
        let last = activity
            .as_ref()
            .map(|a| a.last_active_at)
            .unwrap_or(created);
        Ok(Some(SessionInfo {
            agent_id: Self::agent_id(id)?,
            runtime,
            container_id: status.and_then(|s| s.container_id.clone()),
            state: status.map_or_else(|| "unknown".to_string(), |s| state_name(s.state)),
            created_at: created.to_rfc3339(),
            last_active_at: last.to_rfc3339(),
            calls: activity.as_ref().map_or(0, |a| a.calls),
            tokens_in: activity.as_ref().map_or(0, |a| a.tokens_in),
            tokens_out: activity.as_ref().map_or(0, |a| a.tokens_out),
            threads: self
                .manager
                .threads_of(id)
                .into_iter()
                .map(|(conversation, thread_id)| ThreadInfo {
                    conversation,
                    thread_id,
                })
                .collect(),
        }))
    }

    async fn statuses(&self) -> Result<Vec<AgentStatus>, ToolError> {
        self.manager
            .runtime()
            .list()
            .await
            .map_err(|e| ToolError::Failed(e.to_string()))
    }

    async fn answer(
        &self,
        request: ServerRequest,
        ctx: &RequestCtx,
        caller: Option<&str>,
    ) -> Result<Value, ToolError> {
        let out = |v: &dyn erased::Out| {
            codex_mcp_tools::output::to_structured(self.spec, &v.value())
                .map_err(|e| ToolError::Failed(e.to_string()))
        };
        match request {
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
                out(&HealthCheckResponse {
                    status,
                    version: env!("CARGO_PKG_VERSION").into(),
                    uptime_seconds: uptime,
                    runtime,
                    runtime_note,
                    open_sessions: sessions,
                    active_agents: self.manager.activities().len() as u64,
                    credentials,
                    codex,
                })
            }
            ServerRequest::ListSessions { agent_id } => {
                let statuses = self.statuses().await?;
                let mut ids: Vec<String> = self
                    .manager
                    .activities()
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect();
                ids.extend(statuses.iter().map(|s| s.agent.as_str().to_string()));
                ids.sort();
                ids.dedup();
                if let Some(only) = &agent_id {
                    ids.retain(|id| id == only.as_str());
                }
                let mut sessions = Vec::new();
                for id in ids {
                    let status = statuses.iter().find(|s| s.agent.as_str() == id);
                    if let Some(info) = self.session_info(&id, status)? {
                        sessions.push(info);
                    }
                }
                out(&ListSessionsResponse { sessions })
            }
            ServerRequest::GetMySessionInfo => {
                let me = identity::resolve(caller, ctx.identity()).map_err(ToolError::Failed)?;
                let status = self
                    .manager
                    .runtime()
                    .status(&me)
                    .await
                    .map_err(|e| ToolError::Failed(e.to_string()))?;
                let info = self
                    .session_info(me.as_str(), status.as_ref())?
                    .ok_or_else(|| {
                        ToolError::Failed(format!(
                            "agent {me} has no session yet: call a Codex tool first"
                        ))
                    })?;
                out(&info)
            }
            ServerRequest::ListActiveAgents => {
                let now = chrono::Utc::now();
                let mut agents = Vec::new();
                for status in self.statuses().await? {
                    let id = status.agent.as_str().to_string();
                    let activity = self.manager.activity(&id);
                    let last = activity
                        .as_ref()
                        .map(|a| a.last_active_at)
                        .or(status.started_at)
                        .or(status.created_at)
                        .unwrap_or(now);
                    agents.push(AgentSummary {
                        agent_id: Self::agent_id(&id)?,
                        runtime: self.facts.runtime().0,
                        container_id: status.container_id.clone(),
                        state: state_name(status.state),
                        last_active_at: last.to_rfc3339(),
                        idle_seconds: (now - last).num_seconds().max(0) as u64,
                        running_calls: activity.map_or(0, |a| a.running),
                    });
                }
                out(&ListActiveAgentsResponse { agents })
            }
            ServerRequest::GetAgentStatus { agent_id } => {
                let rid = codex_mcp_runtime::AgentId::new(agent_id.as_str())
                    .map_err(|e| ToolError::Failed(e.to_string()))?;
                let status = self
                    .manager
                    .runtime()
                    .status(&rid)
                    .await
                    .map_err(|e| ToolError::Failed(e.to_string()))?;
                let session = self
                    .session_info(agent_id.as_str(), status.as_ref())?
                    .ok_or_else(|| {
                        ToolError::Failed(format!(
                            "unknown agent {agent_id}: it has never made a call"
                        ))
                    })?;
                out(&AgentStatusResponse {
                    running_calls: self
                        .manager
                        .activity(agent_id.as_str())
                        .map_or(0, |a| a.running),
                    resources: status.as_ref().map(|s| ResourceUsage {
                        cpu_percent: s.cpu_percent,
                        memory_bytes: s.memory_bytes,
                        memory_limit_bytes: s.memory_limit_bytes,
                        disk_bytes: None,
                    }),
                    session,
                })
            }
            ServerRequest::CleanupInactiveAgents {
                idle_seconds,
                purge,
            } => {
                let threshold = idle_seconds.unwrap_or(3600);
                let now = chrono::Utc::now();
                let mut removed = Vec::new();
                let mut kept = 0;
                for status in self.statuses().await? {
                    let id = status.agent.as_str().to_string();
                    let activity = self.manager.activity(&id);
                    if activity.as_ref().is_some_and(|a| a.running > 0) {
                        kept += 1;
                        continue;
                    }
                    let last = activity
                        .map(|a| a.last_active_at)
                        .or(status.started_at)
                        .or(status.created_at)
                        .unwrap_or(now);
                    let idle = (now - last).num_seconds().max(0) as u64;
                    if idle >= threshold || status.state == AgentState::Stopped {
                        self.manager
                            .runtime()
                            .remove(&status.agent, purge)
                            .await
                            .map_err(|e| ToolError::Failed(e.to_string()))?;
                        self.manager.forget(&id);
                        removed.push(RemovedAgent {
                            agent_id: Self::agent_id(&id)?,
                            idle_seconds: idle,
                            purged: purge,
                        });
                    } else {
                        kept += 1;
                    }
                }
                out(&CleanupResponse {
                    idle_seconds: threshold,
                    purge,
                    removed,
                    kept,
                })
            }
        }
    }
}

fn state_name(state: AgentState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{state:?}").to_lowercase())
}

/// Lets one closure serialise the different response types.
mod erased {
    pub trait Out {
        fn value(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Out for T {
        fn value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or_default()
        }
    }
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
        let value = self.answer(call.request, &ctx, caller.as_deref()).await?;
        let mut result = CallToolResult::structured(value);
        result.content.truncate(1);
        Ok(result)
    }
}
