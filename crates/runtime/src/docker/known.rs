//! The containers this server last left running, so that a warm turn's `ensure` asks
//! the engine nothing: it trusts the last known state. What it trusts is checked by the
//! next exec anyway: when the engine answers that the container is gone (404) or not
//! running (409), the exec forgets it, readies it as `ensure` does and tries once more
//! (`exec.rs`). Stopping or removing an agent through this server forgets it at once.
//!
//! It also keeps where each container's run helper is (its `codex-mcp.run-helper` label,
//! see `labels.rs`), which decides how `exec` starts a process there.
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
pub(super) struct Known(Mutex<HashMap<AgentId, Entry>>);

/// What is known of one running container.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    /// The host folder bound as its workspace, if any.
    pub bind: Option<PathBuf>,
    /// What `ensure` hands back for it.
    pub env: AgentEnv,
    /// Its run helper's path, when it has one.
    pub run_helper: Option<String>,
}

impl Known {
    /// The agent's environment when its container was left running with the workspace
    /// `bind`.
    pub(super) fn running(&self, agent: &AgentId, bind: Option<&Path>) -> Option<AgentEnv> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(agent)
            .filter(|e| e.bind.as_deref() == bind)
            .map(|e| e.env.clone())
    }

    /// The run helper of the agent's container, when it is known to run and has one.
    pub(super) fn run_helper(&self, agent: &AgentId) -> Option<String> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(agent).and_then(|e| e.run_helper.clone())
    }

    /// Remembers that the agent's container runs (see [`Entry`]).
    pub(super) fn set(&self, agent: &AgentId, entry: Entry) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.insert(agent.clone(), entry);
    }

    /// Forgets the agent's container; returns its workspace bind when it was known.
    pub(super) fn forget(&self, agent: &AgentId) -> Option<Option<PathBuf>> {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.remove(agent).map(|e| e.bind)
    }
}
