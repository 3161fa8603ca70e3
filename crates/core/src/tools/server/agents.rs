//! The container tools: `list_active_agents`, `get_agent_status` and
//! `cleanup_inactive_agents`. Environments come from the runtime; activity from the
//! manager's live counters and the store.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use codex_mcp_runtime::{AgentState, AgentStatus};
use codex_mcp_store::Agent;
use codex_mcp_tools::AgentId;
use codex_mcp_tools::tools::agents::{
    AgentStatusResponse, AgentSummary, CleanupResponse, ListActiveAgentsResponse, RemovedAgent,
    ResourceUsage,
};

use super::sessions::store_error;
use super::{ServerToolHandler, state_name};
use crate::agents::identity::Scope;
use crate::server::ToolError;

impl ServerToolHandler {
    /// The stored records of the environments in `statuses`, by id: one store query
    /// for the environments, not a read of every agent ever recorded.
    async fn recorded(
        &self,
        statuses: &[AgentStatus],
    ) -> Result<HashMap<String, Agent>, ToolError> {
        let ids: Vec<String> = statuses
            .iter()
            .map(|s| s.agent.as_str().to_owned())
            .collect();
        Ok(self
            .manager
            .store()
            .get_agents(&ids)
            .await
            .map_err(store_error)?
            .into_iter()
            .map(|a| (a.id.clone(), a))
            .collect())
    }

    /// The latest activity of an environment: live counters, else the store, else the
    /// environment's own start or creation.
    fn last_active(
        &self,
        status: &AgentStatus,
        recorded: Option<&Agent>,
        now: DateTime<Utc>,
    ) -> (DateTime<Utc>, u32) {
        let live = self.manager.live(status.agent.as_str());
        let last = live
            .map(|l| l.last_active_at)
            .or(recorded.map(|a| a.last_active_at))
            .or(status.started_at)
            .or(status.created_at)
            .unwrap_or(now);
        (last, live.map_or(0, |l| l.running))
    }

    /// `list_active_agents`: every agent environment the runtime has that the caller
    /// may see.
    pub(super) async fn list_active_agents(
        &self,
        scope: &Scope<'_>,
    ) -> Result<ListActiveAgentsResponse, ToolError> {
        let now = Utc::now();
        let statuses = self.sorted_statuses(scope).await?;
        let recorded = self.recorded(&statuses).await?;
        let mut agents = Vec::with_capacity(statuses.len());
        for status in statuses {
            let (last, running) =
                self.last_active(&status, recorded.get(status.agent.as_str()), now);
            agents.push(AgentSummary {
                agent_id: Self::agent_id(status.agent.as_str())?,
                runtime: self.facts.runtime().0,
                container_id: status.container_id.clone(),
                state: state_name(status.state),
                last_active_at: last.to_rfc3339(),
                idle_seconds: (now - last).num_seconds().max(0) as u64,
                running_calls: running,
            });
        }
        Ok(ListActiveAgentsResponse { agents })
    }

    /// `get_agent_status`: one agent's session, calls running and resource use.
    pub(super) async fn agent_status(
        &self,
        agent_id: &AgentId,
    ) -> Result<AgentStatusResponse, ToolError> {
        let rid = codex_mcp_runtime::AgentId::new(agent_id.as_str())
            .map_err(|e| ToolError::Failed(e.to_string()))?;
        let status = self
            .manager
            .runtime()
            .status(&rid)
            .await
            .map_err(|e| ToolError::Failed(e.to_string()))?;
        let session = self.one_session(&rid).await?.ok_or_else(|| {
            ToolError::Failed(format!(
                "unknown agent {agent_id}: it has never made a call"
            ))
        })?;
        let disk = match status {
            Some(_) => self.manager.disk_usage(&rid).await,
            None => None,
        };
        Ok(AgentStatusResponse {
            running_calls: self
                .manager
                .live(agent_id.as_str())
                .map_or(0, |l| l.running),
            resources: status.as_ref().map(|s| ResourceUsage {
                cpu_percent: s.cpu_percent,
                memory_bytes: s.memory_bytes,
                memory_limit_bytes: s.memory_limit_bytes,
                disk_bytes: disk.map(|d| d.bytes),
            }),
            session,
        })
    }

    /// `cleanup_inactive_agents`: removes the environments of stopped agents and of
    /// agents idle for at least `threshold` seconds, among those the caller may see;
    /// never one with a call running.
    pub(super) async fn cleanup(
        &self,
        threshold: u64,
        purge: bool,
        scope: &Scope<'_>,
    ) -> Result<CleanupResponse, ToolError> {
        let now = Utc::now();
        let statuses = self.sorted_statuses(scope).await?;
        let recorded = self.recorded(&statuses).await?;
        let mut removed = Vec::new();
        let mut kept = 0;
        for status in statuses {
            let id = status.agent.as_str().to_string();
            let (last, running) = self.last_active(&status, recorded.get(&id), now);
            let idle = (now - last).num_seconds().max(0) as u64;
            if running > 0 || (idle < threshold && status.state != AgentState::Stopped) {
                kept += 1;
                continue;
            }
            self.manager
                .runtime()
                .remove(&status.agent, purge)
                .await
                .map_err(|e| ToolError::Failed(e.to_string()))?;
            self.manager.forget(&id, purge).await?;
            removed.push(RemovedAgent {
                agent_id: Self::agent_id(&id)?,
                idle_seconds: idle,
                purged: purge,
            });
        }
        Ok(CleanupResponse {
            idle_seconds: threshold,
            purge,
            removed,
            kept,
        })
    }
}
