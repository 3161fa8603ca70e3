//! Per-agent async locks, so `ensure` for one agent never races with itself while
//! different agents proceed in parallel.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::OwnedMutexGuard;

use crate::AgentId;

#[derive(Default, Debug)]
pub(crate) struct AgentLocks {
    map: Mutex<HashMap<AgentId, Arc<tokio::sync::Mutex<()>>>>,
}

impl AgentLocks {
    /// Waits for and takes the agent's lock.
    pub(crate) async fn lock(&self, agent: &AgentId) -> OwnedMutexGuard<()> {
        let m = {
            let mut map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
            map.entry(agent.clone()).or_default().clone()
        };
        m.lock_owned().await
    }

    /// Whether someone holds the agent's lock right now (an `ensure` in progress).
    pub(crate) fn is_locked(&self, agent: &AgentId) -> bool {
        let map = self.map.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(agent).is_some_and(|m| m.try_lock().is_err())
    }
}
