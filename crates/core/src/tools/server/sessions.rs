//! `list_sessions` and `get_my_session_info`: the store's record of each agent (calls,
//! tokens, threads, recent calls) joined with what the runtime says about its
//! environment now.

use std::collections::{HashMap, HashSet};

use codex_mcp_runtime::{AgentId as RuntimeAgentId, AgentStatus};
use codex_mcp_store::{Agent, AgentActivity, Call, StoreError};
use codex_mcp_tools::AgentId;
use codex_mcp_tools::tools::sessions::{CallInfo, ListSessionsResponse, SessionInfo, ThreadInfo};

use super::{ServerToolHandler, state_name};
use crate::agents::identity::Scope;
use crate::server::ToolError;

/// How many calls a session shows.
const RECENT_CALLS: u32 = 10;

pub(super) fn store_error(e: StoreError) -> ToolError {
    crate::agents::AgentError::from(e).into()
}

fn call_info(call: Call) -> CallInfo {
    CallInfo {
        call_id: call.id,
        tool: call.tool,
        status: call.status.as_str().to_string(),
        started_at: call.started_at.to_rfc3339(),
        finished_at: call.finished_at.map(|t| t.to_rfc3339()),
        duration_ms: call.duration_ms,
        error: call.error,
        tokens_in: call.tokens_in,
        tokens_out: call.tokens_out,
    }
}

impl ServerToolHandler {
    /// The runtime's statuses of the agents the caller may see, by agent id.
    pub(super) async fn statuses(
        &self,
        scope: &Scope<'_>,
    ) -> Result<HashMap<String, AgentStatus>, ToolError> {
        let list = self
            .manager
            .runtime()
            .list()
            .await
            .map_err(|e| ToolError::Failed(e.to_string()))?;
        Ok(list
            .into_iter()
            .filter(|s| scope.allows(s.agent.as_str()))
            .map(|s| (s.agent.as_str().to_string(), s))
            .collect())
    }

    /// The same statuses, in agent id order.
    pub(super) async fn sorted_statuses(
        &self,
        scope: &Scope<'_>,
    ) -> Result<Vec<AgentStatus>, ToolError> {
        let mut statuses: Vec<_> = self.statuses(scope).await?.into_values().collect();
        statuses.sort_by(|a, b| a.agent.as_str().cmp(b.agent.as_str()));
        Ok(statuses)
    }

    /// The stored activity (threads, recent calls) of the agents on a page, read at once.
    async fn activity_of(
        &self,
        agents: &[Agent],
    ) -> Result<HashMap<String, AgentActivity>, ToolError> {
        let ids: Vec<String> = agents.iter().map(|a| a.id.clone()).collect();
        self.manager
            .store()
            .agents_activity(&ids, RECENT_CALLS)
            .await
            .map_err(store_error)
    }

    /// One agent's session from its stored record, its activity and its runtime status.
    fn session_info(
        agent: &Agent,
        activity: AgentActivity,
        status: Option<&AgentStatus>,
    ) -> Result<SessionInfo, ToolError> {
        let threads = activity
            .threads
            .into_iter()
            .map(|t| ThreadInfo {
                conversation: t.conversation_key,
                thread_id: t.thread_id,
            })
            .collect();
        let recent_calls = activity.recent_calls.into_iter().map(call_info).collect();
        Ok(SessionInfo {
            agent_id: Self::agent_id(&agent.id)?,
            runtime: agent.runtime.clone(),
            container_id: status
                .and_then(|s| s.container_id.clone())
                .or_else(|| agent.container.clone()),
            state: status.map_or_else(
                || agent.status.as_str().to_string(),
                |s| state_name(s.state),
            ),
            created_at: agent.created_at.to_rfc3339(),
            last_active_at: agent.last_active_at.to_rfc3339(),
            workspace: agent.workspace.clone(),
            calls: agent.usage.calls_made,
            calls_running: agent.usage.calls_running,
            tokens_in: agent.usage.tokens_in,
            tokens_out: agent.usage.tokens_out,
            threads,
            recent_calls,
        })
    }

    /// A session for an environment the store has no record of (made by an older
    /// server, or before the store was reset by hand).
    pub(super) fn unrecorded_session(
        &self,
        status: &AgentStatus,
    ) -> Result<SessionInfo, ToolError> {
        let created = status
            .created_at
            .or(status.started_at)
            .unwrap_or_else(chrono::Utc::now);
        Ok(SessionInfo {
            agent_id: Self::agent_id(status.agent.as_str())?,
            runtime: self.facts.runtime().0,
            container_id: status.container_id.clone(),
            state: state_name(status.state),
            created_at: created.to_rfc3339(),
            last_active_at: created.to_rfc3339(),
            workspace: None,
            calls: 0,
            calls_running: 0,
            tokens_in: 0,
            tokens_out: 0,
            threads: Vec::new(),
            recent_calls: Vec::new(),
        })
    }

    /// `list_sessions`: recorded agents the caller may see, most recently active first,
    /// then environments without a record; the page `(offset, limit)` of that list. Only
    /// the page's agents are read from the store (a page of its agent listing, or the
    /// few agents a token lists) and only they are read in full (threads, recent calls,
    /// in one store read for the whole page): one page costs the same with ten recorded
    /// agents or ten thousand. The runtime is asked once for its environments, which
    /// exist only for agents not cleaned up.
    pub(super) async fn list_sessions(
        &self,
        only: Option<&AgentId>,
        scope: &Scope<'_>,
        (offset, limit): (usize, usize),
    ) -> Result<ListSessionsResponse, ToolError> {
        let store = self.manager.store();
        let statuses = self.statuses(scope).await?;
        let env_ids: Vec<String> = statuses.keys().cloned().collect();
        let (page, recorded_total, recorded_envs) = match (only, scope) {
            (None, Scope::All) => {
                let limit32 = u32::try_from(limit).unwrap_or(u32::MAX);
                let page = store
                    .list_agents_page(offset as u64, limit32)
                    .await
                    .map_err(store_error)?;
                let with_env = store.get_agents(&env_ids).await.map_err(store_error)?;
                let total = usize::try_from(page.total).unwrap_or(usize::MAX);
                (page.agents, total, with_env)
            }
            (only, scope) => {
                let ids = match (only, scope) {
                    (Some(id), _) => vec![id.as_str().to_owned()],
                    (None, Scope::Token(grant)) => grant.agents.clone(),
                    (None, Scope::All) => Vec::new(),
                };
                let agents: Vec<Agent> = store
                    .get_agents(&ids)
                    .await
                    .map_err(store_error)?
                    .into_iter()
                    .filter(|a| scope.allows(&a.id))
                    .collect();
                let total = agents.len();
                let page = agents.iter().skip(offset).take(limit).cloned().collect();
                (page, total, agents)
            }
        };
        let recorded: HashSet<&str> = recorded_envs.iter().map(|a| a.id.as_str()).collect();
        let mut rest: Vec<&AgentStatus> = statuses
            .values()
            .filter(|s| !recorded.contains(s.agent.as_str()))
            .filter(|s| only.is_none_or(|id| id.as_str() == s.agent.as_str()))
            .collect();
        rest.sort_by(|a, b| a.agent.as_str().cmp(b.agent.as_str()));
        let total = recorded_total.saturating_add(rest.len());
        let mut sessions = Vec::with_capacity(limit.min(total));
        let mut activity = self.activity_of(&page).await?;
        for agent in &page {
            let found = activity.remove(&agent.id).unwrap_or_default();
            sessions.push(Self::session_info(agent, found, statuses.get(&agent.id))?);
        }
        let skip_rest = offset.saturating_sub(recorded_total);
        for status in rest
            .into_iter()
            .skip(skip_rest)
            .take(limit - sessions.len())
        {
            sessions.push(self.unrecorded_session(status)?);
        }
        let end = offset.saturating_add(limit);
        Ok(ListSessionsResponse {
            sessions,
            total: total as u64,
            next_offset: (end < total).then_some(end as u64),
            jobs: Vec::new(),
        })
    }

    /// One agent's session, or `None` if neither the store nor the runtime knows it.
    pub(super) async fn one_session(
        &self,
        id: &RuntimeAgentId,
    ) -> Result<Option<SessionInfo>, ToolError> {
        let status = self
            .manager
            .runtime()
            .status(id)
            .await
            .map_err(|e| ToolError::Failed(e.to_string()))?;
        let agent = self
            .manager
            .store()
            .get_agent(id.as_str())
            .await
            .map_err(store_error)?;
        match (agent, status) {
            (Some(agent), status) => {
                let found = self
                    .activity_of(std::slice::from_ref(&agent))
                    .await?
                    .remove(&agent.id)
                    .unwrap_or_default();
                Ok(Some(Self::session_info(&agent, found, status.as_ref())?))
            }
            (None, Some(status)) => Ok(Some(self.unrecorded_session(&status)?)),
            (None, None) => Ok(None),
        }
    }
}
