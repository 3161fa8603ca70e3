//! Agents' disk use, measured on demand and remembered for [`DISK_REFRESH`]: the
//! dashboard's sampler asks every second while a page watches and `get_agent_status`
//! asks per call, but the runtime walks an agent's folders at most once per interval.
//! Nothing measures in the background.

use std::collections::HashMap;
use std::time::Duration;

use codex_mcp_runtime::{AgentId, DiskUsage};
use parking_lot::Mutex;
use tokio::time::Instant;

use super::AgentManager;

/// How long a measured figure is reused before the runtime is asked again.
pub const DISK_REFRESH: Duration = Duration::from_secs(30);

/// The last figure per agent and when it was taken.
#[derive(Default)]
pub(super) struct DiskCache(Mutex<HashMap<String, (Instant, Option<DiskUsage>)>>);

impl DiskCache {
    /// Drops `agent`'s figure (its environment was removed).
    pub(super) fn forget(&self, agent: &str) {
        self.0.lock().remove(agent);
    }
}

impl AgentManager {
    /// What `agent`'s folders take on disk: the figure of the last [`DISK_REFRESH`], else
    /// a new measurement by the runtime. `None` when the runtime cannot tell (a stopped
    /// container, an unknown agent) or failed (logged).
    pub async fn disk_usage(&self, agent: &AgentId) -> Option<DiskUsage> {
        let now = Instant::now();
        if let Some((at, usage)) = self.disk.0.lock().get(agent.as_str())
            && now.duration_since(*at) < DISK_REFRESH
        {
            return *usage;
        }
        let usage = match self.runtime.disk_usage(agent).await {
            Ok(usage) => usage,
            Err(e) => {
                tracing::warn!(agent = %agent, error = %e, "could not measure the agent's disk use");
                None
            }
        };
        self.disk
            .0
            .lock()
            .insert(agent.as_str().to_string(), (Instant::now(), usage));
        usage
    }
}
