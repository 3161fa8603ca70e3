//! A bound on how many agents the server knows (`CODEX_MCP_MAX_AGENTS`): each new agent
//! is a container (or folder) and its volumes, so a client inventing agent ids could
//! otherwise fill the disk and the Docker engine. An agent already known is never
//! refused; a new one past the bound gets a sentence naming the setting and the cleanup.

use codex_mcp_runtime::AgentId;

use super::{AgentError, AgentManager};

/// The setting that sets the bound, named in refusals.
pub const SETTING: &str = "CODEX_MCP_MAX_AGENTS";

/// The refusal for a new agent when `known` agents exist and the bound is `max`.
fn too_many(agent: &AgentId, known: usize, max: usize) -> AgentError {
    AgentError::TooManyAgents {
        agent: agent.to_string(),
        known,
        max,
    }
}

impl AgentManager {
    /// Refuses to record a new agent past the bound. Runs under a lock so that
    /// concurrent first calls of different new agents cannot overshoot it together;
    /// the guard must be held until the agent is recorded.
    pub(super) async fn admit_new_agent(
        &self,
        agent: &AgentId,
    ) -> Result<Option<tokio::sync::MutexGuard<'_, ()>>, AgentError> {
        if self.max_agents == 0 {
            return Ok(None);
        }
        let guard = self.new_agents.lock().await;
        if self.store.get_agent(agent.as_str()).await?.is_some() {
            return Ok(Some(guard));
        }
        // An empty page: only the count, not every agent's row.
        let total = self.store.list_agents_page(0, 0).await?.total;
        let known = usize::try_from(total).unwrap_or(usize::MAX);
        if known >= self.max_agents {
            tracing::warn!(agent = %agent, known, max = self.max_agents, "refused a new agent ({SETTING})");
            return Err(too_many(agent, known, self.max_agents));
        }
        Ok(Some(guard))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_names_the_limit_and_the_cleanup() {
        let agent = AgentId::new("eve-17").unwrap();
        let text = too_many(&agent, 3, 3).to_string();
        for needle in [
            "\"eve-17\"",
            "CODEX_MCP_MAX_AGENTS=3",
            "cleanup_inactive_agents",
            "purge",
        ] {
            assert!(text.contains(needle), "{needle} missing: {text}");
        }
    }
}
