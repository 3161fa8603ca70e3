//! Runs that a dead replica left behind. With Docker a Codex run outlives the mcpd that
//! started it (`docs/runtime.md`, "Runs that outlive mcpd"), so when a replica sharing the
//! store is killed mid-turn its Codex goes on in the agent's container, and Codex keeps
//! its thread's writer until it exits: the conversation's next turn, served by another
//! replica, would be refused ("thread ... already has an active writer"). A turn that
//! takes a conversation on a shared store therefore first marks the calls of dead
//! replicas `interrupted` (the sweep the store runs every few seconds anyway, done now)
//! and stops the runs of the agent's recent interrupted calls: their replica is gone, so
//! nobody will read them. Each such call is looked at once per process: the normal path
//! costs two store queries and no runtime call.

use std::collections::HashSet;

use codex_mcp_runtime::AgentId;
use codex_mcp_store::CallStatus;
use parking_lot::Mutex;

use super::AgentManager;

/// How many of the agent's newest calls are looked at: a run left behind blocks the
/// conversation's next turn, so it is among the newest.
const RECENT_CALLS: u32 = 20;

/// Past this many remembered calls the memory starts over (at worst a run is looked for
/// a second time).
const REMEMBERED: usize = 10_000;

/// The interrupted calls whose runs this process already stopped or found gone.
#[derive(Default)]
pub(super) struct CheckedRuns(Mutex<HashSet<String>>);

impl CheckedRuns {
    /// True the first time `call` is offered.
    fn first_look(&self, call: &str) -> bool {
        let mut seen = self.0.lock();
        if seen.len() >= REMEMBERED {
            seen.clear();
        }
        seen.insert(call.to_string())
    }

    /// Forgets `call`, so that a failed stop is tried again by the next turn.
    fn forget(&self, call: &str) {
        self.0.lock().remove(call);
    }
}

impl AgentManager {
    /// Stops the runs of `agent`'s interrupted calls still running in its environment,
    /// before the turn `mine` runs Codex (see the module docs). Failures are logged: the
    /// turn then goes on and says what Codex says.
    pub(crate) async fn stop_orphaned_runs(&self, agent: &AgentId, mine: &str) {
        match self.store.sweep_interrupted(codex_mcp_store::now()).await {
            Ok(r) if r.calls > 0 => tracing::warn!(
                calls = r.calls,
                "marked calls of a replica that is gone as interrupted"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not sweep for calls of gone replicas"),
        }
        let calls = match self.store.list_calls(agent.as_str(), RECENT_CALLS).await {
            Ok(calls) => calls,
            Err(e) => {
                tracing::warn!(%agent, error = %e, "could not list calls to find left runs");
                return;
            }
        };
        for call in calls
            .iter()
            .filter(|c| c.status == CallStatus::Interrupted && c.id != mine)
        {
            if !self.orphans.first_look(&call.id) {
                continue;
            }
            match self.runtime.stop_run(agent, &call.id).await {
                Ok(()) => tracing::debug!(%agent, call = %call.id, "left run stopped or gone"),
                Err(e) => {
                    self.orphans.forget(&call.id);
                    tracing::warn!(%agent, call = %call.id, error = %e, "could not stop a left run");
                }
            }
        }
    }
}
