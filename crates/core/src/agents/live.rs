//! The live state behind the dashboard: calls running now (with Codex's latest progress
//! message and the call's cancellation token), the most recent finished calls, and a
//! broadcast of each change. Publishing costs a map update and a failed send when nobody
//! watches; the per-agent CPU and memory history grows only while a page is open (see
//! [`crate::dashboard`]'s sampler).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::Serialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// How many finished calls the hub keeps for the "recent calls" table and the charts.
pub const RECENT_CALLS: usize = 200;
/// How many samples of each agent's CPU and memory the sparklines show.
pub const HISTORY_POINTS: usize = 180;

/// A call running now.
#[derive(Debug, Clone, Serialize)]
pub struct RunningCall {
    /// Correlation id (as in the store and the logs).
    pub id: String,
    /// The agent it runs as.
    pub agent: String,
    /// The tool called.
    pub tool: String,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// Codex's latest progress message.
    pub progress: Option<String>,
    /// Fires to stop the call (the same token `notifications/cancelled` fires).
    #[serde(skip)]
    pub cancel: CancellationToken,
}

/// A call that has ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinishedCall {
    /// Correlation id.
    pub id: String,
    /// The agent it ran as.
    pub agent: String,
    /// The tool called.
    pub tool: String,
    /// `succeeded`, `failed`, `cancelled`, `timed_out`, ...
    pub status: String,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// How long it ran.
    pub duration_ms: u64,
    /// Input tokens, when Codex reported them.
    pub tokens_in: Option<u64>,
    /// Output tokens, when Codex reported them.
    pub tokens_out: Option<u64>,
    /// What went wrong, as the client was told.
    pub error: Option<String>,
    /// Whether its full result is stored (`GET /dashboard/calls/{id}/result`).
    pub has_result: bool,
    /// Whether the diff it produced is stored (`GET /dashboard/calls/{id}/diff`).
    pub has_diff: bool,
}

/// One change, as the feed sends it.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HubEvent {
    /// A call started.
    Started(RunningCall),
    /// Codex reported progress on a running call.
    Progress {
        /// The call.
        id: String,
        /// Its agent (for filtering by token).
        agent: String,
        /// The message.
        message: String,
    },
    /// A call ended.
    Finished(FinishedCall),
}

impl HubEvent {
    /// The agent the event concerns: a token sees only its agents' events.
    pub fn agent(&self) -> &str {
        match self {
            Self::Started(c) => &c.agent,
            Self::Progress { agent, .. } => agent,
            Self::Finished(c) => &c.agent,
        }
    }
}

/// One sample of an agent's resource use.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct UsagePoint {
    /// When it was taken.
    pub at: DateTime<Utc>,
    /// CPU in percent of one CPU.
    pub cpu_percent: Option<f64>,
    /// Memory in use, in bytes.
    pub memory_bytes: Option<u64>,
}

/// Why a cancel from the dashboard did nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CancelError {
    /// No running call has this id, or the caller may not see it (the same answer, so a
    /// token cannot probe for other agents' calls).
    #[error("no running call {0:?} that this token may cancel")]
    Unknown(String),
}

#[derive(Default)]
struct HubState {
    running: HashMap<String, RunningCall>,
    recent: VecDeque<FinishedCall>,
    history: HashMap<String, VecDeque<UsagePoint>>,
}

/// The hub; shared by the agent manager (which publishes) and the dashboard routes.
pub struct DashboardHub {
    state: Mutex<HubState>,
    events: broadcast::Sender<HubEvent>,
    watchers: AtomicUsize,
}

impl Default for DashboardHub {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            events: broadcast::channel(256).0,
            watchers: AtomicUsize::new(0),
        }
    }
}

impl DashboardHub {
    /// Publishes a call starting; `cancel` stops it.
    pub fn call_started(&self, id: &str, agent: &str, tool: &str, cancel: CancellationToken) {
        let call = RunningCall {
            id: id.to_string(),
            agent: agent.to_string(),
            tool: tool.to_string(),
            started_at: Utc::now(),
            progress: None,
            cancel,
        };
        self.state
            .lock()
            .running
            .insert(call.id.clone(), call.clone());
        let _ = self.events.send(HubEvent::Started(call));
    }

    /// Publishes Codex's latest progress message on a running call.
    pub fn call_progress(&self, id: &str, message: &str) {
        let agent = {
            let mut state = self.state.lock();
            let Some(call) = state.running.get_mut(id) else {
                return;
            };
            call.progress = Some(message.to_string());
            call.agent.clone()
        };
        let _ = self.events.send(HubEvent::Progress {
            id: id.to_string(),
            agent,
            message: message.to_string(),
        });
    }

    /// Publishes a call's end (also for calls the dashboard never saw start). The agent
    /// manager publishes it once the store holds the call's output, so the page's result
    /// link works from the first moment.
    pub fn call_finished(&self, call: FinishedCall) {
        {
            let mut state = self.state.lock();
            state.running.remove(&call.id);
            if state.recent.len() >= RECENT_CALLS {
                state.recent.pop_front();
            }
            state.recent.push_back(call.clone());
        }
        let _ = self.events.send(HubEvent::Finished(call));
    }

    /// Cancels a running call the caller may see (`visible` decides by agent).
    pub fn cancel(&self, id: &str, visible: impl Fn(&str) -> bool) -> Result<(), CancelError> {
        let state = self.state.lock();
        match state.running.get(id) {
            Some(call) if visible(&call.agent) => {
                call.cancel.cancel();
                Ok(())
            }
            _ => Err(CancelError::Unknown(id.to_string())),
        }
    }

    /// Running calls, oldest first, that `visible` admits.
    pub fn running(&self, visible: impl Fn(&str) -> bool) -> Vec<RunningCall> {
        let mut calls: Vec<_> = self
            .state
            .lock()
            .running
            .values()
            .filter(|c| visible(&c.agent))
            .cloned()
            .collect();
        calls.sort_by_key(|c| c.started_at);
        calls
    }

    /// Recent finished calls, oldest first, that `visible` admits.
    pub fn recent(&self, visible: impl Fn(&str) -> bool) -> Vec<FinishedCall> {
        self.state
            .lock()
            .recent
            .iter()
            .filter(|c| visible(&c.agent))
            .cloned()
            .collect()
    }

    /// Every change from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<HubEvent> {
        self.events.subscribe()
    }

    /// Adds a resource sample to an agent's history (sampler only).
    pub fn record_usage(&self, agent: &str, point: UsagePoint) {
        let mut state = self.state.lock();
        let history = state.history.entry(agent.to_string()).or_default();
        if history.len() >= HISTORY_POINTS {
            history.pop_front();
        }
        history.push_back(point);
    }

    /// An agent's resource history, oldest first.
    pub fn usage_history(&self, agent: &str) -> Vec<UsagePoint> {
        self.state
            .lock()
            .history
            .get(agent)
            .map(|h| h.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Registers a page watching; sampling runs while any guard lives. Returns the guard
    /// and whether this is the first watcher (who must start the sampler).
    pub fn watch(self: &Arc<Self>) -> (WatchGuard, bool) {
        let before = self.watchers.fetch_add(1, Ordering::SeqCst);
        (
            WatchGuard {
                hub: Arc::clone(self),
            },
            before == 0,
        )
    }

    /// Pages watching now.
    pub fn watchers(&self) -> usize {
        self.watchers.load(Ordering::SeqCst)
    }
}

/// Counts one watching page while it lives.
pub struct WatchGuard {
    hub: Arc<DashboardHub>,
}

impl Drop for WatchGuard {
    fn drop(&mut self) {
        self.hub.watchers.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::*;

    fn finished(id: &str, agent: &str) -> FinishedCall {
        FinishedCall {
            id: id.into(),
            agent: agent.into(),
            tool: "chat".into(),
            status: "failed".into(),
            finished_at: Utc::now(),
            duration_ms: 5,
            tokens_in: None,
            tokens_out: None,
            error: Some("boom".into()),
            has_result: false,
            has_diff: false,
        }
    }

    #[test]
    fn a_call_moves_from_running_to_recent_with_its_latest_progress() {
        let hub = DashboardHub::default();
        let mut events = hub.subscribe();
        hub.call_started("c1", "alice", "chat", CancellationToken::new());
        hub.call_progress("c1", "thinking");
        hub.call_progress("c1", "running tests");
        let running = hub.running(|_| true);
        assert_eq!(running.len(), 1);
        assert_eq!(running[0].progress.as_deref(), Some("running tests"));
        hub.call_finished(finished("c1", "alice"));
        assert!(hub.running(|_| true).is_empty());
        let recent = hub.recent(|_| true);
        assert_eq!(recent.len(), 1);
        assert_eq!(recent[0].error.as_deref(), Some("boom"));
        let kinds: Vec<_> = std::iter::from_fn(|| events.try_recv().ok())
            .map(|e| serde_json::to_value(e).unwrap()["kind"].clone())
            .collect();
        assert_eq!(kinds, vec!["started", "progress", "progress", "finished"]);
    }

    #[test]
    fn cancel_reaches_only_visible_calls() {
        let hub = DashboardHub::default();
        let bob = CancellationToken::new();
        hub.call_started("c-bob", "bob", "chat", bob.clone());
        assert_eq!(
            hub.cancel("c-bob", |agent| agent == "alice"),
            Err(CancelError::Unknown("c-bob".into()))
        );
        assert!(!bob.is_cancelled());
        assert_eq!(hub.cancel("c-bob", |agent| agent == "bob"), Ok(()));
        assert!(bob.is_cancelled());
    }

    #[test]
    fn recent_calls_and_history_are_bounded() {
        let hub = DashboardHub::default();
        for i in 0..RECENT_CALLS + 5 {
            hub.call_finished(finished(&format!("c{i}"), "a"));
            hub.record_usage(
                "a",
                UsagePoint {
                    at: Utc::now(),
                    cpu_percent: Some(1.0),
                    memory_bytes: None,
                },
            );
        }
        let recent = hub.recent(|_| true);
        assert_eq!(recent.len(), RECENT_CALLS);
        assert_eq!(recent[0].id, "c5");
        assert_eq!(hub.usage_history("a").len(), HISTORY_POINTS);
    }

    #[test]
    fn watchers_are_counted_while_their_guards_live() {
        let hub = Arc::new(DashboardHub::default());
        let (first, starts) = hub.watch();
        assert!(starts);
        let (second, starts_again) = hub.watch();
        assert!(!starts_again);
        assert_eq!(hub.watchers(), 2);
        drop(first);
        drop(second);
        assert_eq!(hub.watchers(), 0);
    }
}
