//! The containers this server last left running, so that a warm turn's `ensure` asks
//! the engine nothing: it trusts the last known state. What it trusts is checked by the
//! next exec anyway: when the engine answers that the container is gone (404) or not
//! running (409), the exec forgets it, readies it as `ensure` does and tries once more
//! (`exec.rs`). Stopping or removing an agent through this server forgets it at once.
//!
//! Within one server the settings a container is checked against (limits, network,
//! image id first seen, workspace) do not change, so a container found right once stays
//! right while it runs; another server on the same engine (a replica) that stops,
//! removes or recreates it is met by the exec's fallback.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::{AgentEnv, AgentId};

/// See the module docs.
#[derive(Debug, Default)]
pub(super) struct Known(Mutex<HashMap<AgentId, (Option<PathBuf>, AgentEnv)>>);

impl Known {
    /// The agent's environment when its container was left running with the workspace
    /// `bind`.
    pub(super) fn running(&self, agent: &AgentId, bind: Option<&Path>) -> Option<AgentEnv> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(agent)
            .filter(|(b, _)| b.as_deref() == bind)
            .map(|(_, env)| env.clone())
    }

    /// Remembers that the agent's container runs, with the workspace `bind`.
    pub(super) fn set(&self, agent: &AgentId, bind: Option<PathBuf>, env: AgentEnv) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.insert(agent.clone(), (bind, env));
    }

    /// Forgets the agent's container; returns its workspace bind when it was known.
    pub(super) fn forget(&self, agent: &AgentId) -> Option<Option<PathBuf>> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(agent).map(|(bind, _)| bind)
    }
}
