//! When agent environments run: at most `MAX_CONCURRENT_SESSIONS` at once (the least
//! recently used idle one is stopped to make room for a new one), and none idle longer
//! than `SESSION_TIMEOUT`. A stopped environment keeps its data; the next call for the
//! agent starts it again.
//!
//! Races handled here: an agent picked for stopping cannot have a call running (calls
//! count themselves as running before they ask for a slot, and the check and the removal
//! happen under one lock); and an agent whose environment is being stopped waits for the
//! stop to finish before it is admitted again, so a stop never lands on a fresh call.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use codex_mcp_runtime::{AgentId, AgentState};
use parking_lot::Mutex;

use super::{AgentError, AgentManager};

/// Limits on running environments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecyclePolicy {
    /// Most environments running at once (`MAX_CONCURRENT_SESSIONS`).
    pub max_running: usize,
    /// Idle time after which an environment is stopped (`SESSION_TIMEOUT`).
    pub idle_timeout: Duration,
}

impl Default for LifecyclePolicy {
    fn default() -> Self {
        Self {
            max_running: 20,
            idle_timeout: Duration::from_secs(3600),
        }
    }
}

/// Running environments and their latest use.
pub(super) struct Lifecycle {
    policy: LifecyclePolicy,
    slots: Mutex<Slots>,
    /// Held while admitting an agent without a slot and while stopping one.
    admission: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Slots {
    /// Whether the runtime's running environments were counted (once, lazily).
    seeded: bool,
    running: HashMap<String, Instant>,
}

impl Lifecycle {
    pub(super) fn new(policy: LifecyclePolicy) -> Self {
        Self {
            policy,
            slots: Mutex::new(Slots::default()),
            admission: tokio::sync::Mutex::new(()),
        }
    }

    pub(super) fn policy(&self) -> LifecyclePolicy {
        self.policy
    }
}

/// A sentence for a call that found every slot busy.
impl AgentManager {
    /// Counts environments the runtime already runs (e.g. adopted after a restart).
    async fn seed_slots(&self) {
        if self.lifecycle.slots.lock().seeded {
            return;
        }
        let listed = self.runtime.list().await;
        let mut slots = self.lifecycle.slots.lock();
        if slots.seeded {
            return;
        }
        slots.seeded = true;
        match listed {
            Ok(list) => {
                let now = Instant::now();
                for s in list.into_iter().filter(|s| s.state == AgentState::Running) {
                    slots
                        .running
                        .entry(s.agent.as_str().to_string())
                        .or_insert(now);
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not count running agent environments"),
        }
    }

    /// Takes the agent's slot if it has one (and marks it used).
    fn has_slot(&self, agent: &str) -> bool {
        let mut slots = self.lifecycle.slots.lock();
        match slots.running.get_mut(agent) {
            Some(used) => {
                *used = Instant::now();
                true
            }
            None => false,
        }
    }

    /// Gives the agent a running slot before its environment is readied: free if one
    /// is, else by stopping the least recently used idle environment. Fails with a
    /// sentence when every environment has a call running.
    pub async fn admit(&self, agent: &AgentId) -> Result<(), AgentError> {
        self.seed_slots().await;
        if self.has_slot(agent.as_str()) {
            return Ok(());
        }
        let _admitting = self.lifecycle.admission.lock().await;
        let max = self.lifecycle.policy.max_running;
        let victim = {
            let mut slots = self.lifecycle.slots.lock();
            if slots.running.contains_key(agent.as_str()) || slots.running.len() < max {
                slots
                    .running
                    .insert(agent.as_str().to_string(), Instant::now());
                return Ok(());
            }
            let victim = slots
                .running
                .iter()
                .filter(|(id, _)| self.live(id).is_none_or(|l| l.running == 0))
                .min_by_key(|(_, used)| **used)
                .map(|(id, _)| id.clone());
            let Some(victim) = victim else {
                return Err(AgentError::Busy { max });
            };
            slots.running.remove(&victim);
            slots
                .running
                .insert(agent.as_str().to_string(), Instant::now());
            victim
        };
        self.stop_environment(&victim, "to make room (MAX_CONCURRENT_SESSIONS)")
            .await;
        Ok(())
    }

    /// Marks the agent's slot used now (a call ended).
    pub(super) fn slot_used(&self, agent: &str) {
        self.has_slot(agent);
    }

    async fn stop_environment(&self, agent: &str, why: &str) {
        let Ok(id) = AgentId::new(agent) else { return };
        match self.runtime.stop(&id).await {
            Ok(()) => tracing::info!(agent, "stopped the agent's environment {why}"),
            Err(e) => tracing::warn!(agent, error = %e, "could not stop the agent's environment"),
        }
    }

    /// Stops environments idle longer than `SESSION_TIMEOUT`; returns which.
    pub async fn stop_idle(&self) -> Vec<String> {
        self.seed_slots().await;
        let timeout = self.lifecycle.policy.idle_timeout;
        let _admitting = self.lifecycle.admission.lock().await;
        let idle: Vec<String> = {
            let mut slots = self.lifecycle.slots.lock();
            let idle: Vec<String> = slots
                .running
                .iter()
                .filter(|(id, used)| {
                    used.elapsed() >= timeout && self.live(id).is_none_or(|l| l.running == 0)
                })
                .map(|(id, _)| id.clone())
                .collect();
            for id in &idle {
                slots.running.remove(id);
            }
            idle
        };
        for id in &idle {
            self.stop_environment(id, "after SESSION_TIMEOUT without calls")
                .await;
        }
        idle
    }

    /// Forgets an agent's slot (its environment was stopped or removed elsewhere).
    pub(super) fn release_slot(&self, agent: &str) {
        self.lifecycle.slots.lock().running.remove(agent);
    }

    /// Checks for idle environments every quarter of `SESSION_TIMEOUT` (between 1 s and
    /// 60 s) until the manager is dropped.
    pub fn spawn_idle_sweeper(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let timeout = self.lifecycle.policy.idle_timeout;
        let period = (timeout / 4).clamp(Duration::from_secs(1), Duration::from_secs(60));
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(period);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(manager) = weak.upgrade() else {
                    return;
                };
                manager.stop_idle().await;
            }
        })
    }

    /// Environments holding a running slot now.
    pub fn running_environments(&self) -> usize {
        self.lifecycle.slots.lock().running.len()
    }

    /// The limits in force.
    pub fn lifecycle_policy(&self) -> LifecyclePolicy {
        self.lifecycle.policy()
    }
}
