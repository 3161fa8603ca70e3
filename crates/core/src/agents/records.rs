//! The durable side of the agent manager: every Codex tool call, every agent and every
//! Codex thread goes into the session store, so that after a restart conversations
//! continue and nothing an agent did is lost. Also the live counters (calls running now,
//! last activity) the lifecycle and the agent tools read without a database round trip.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use codex_mcp_runtime::{AgentId, RuntimeKind};
use codex_mcp_store::{
    AgentStatus, AgentUpdate, CallFinish, CallOutput, CallStart, CallStatus, NewAgent, StoreError,
};
use parking_lot::Mutex;
use serde_json::{Map, Value};

use super::{AgentError, AgentManager, ReadyAgent, live};
use crate::codex::Usage;

/// What the manager knows about agents without asking the store.
#[derive(Default)]
pub(super) struct LiveState {
    /// Agents recorded in the store by this process (skips a write per call).
    recorded: HashSet<String>,
    /// Agents whose environment location was written to the store by this process.
    located: HashSet<String>,
    /// Calls running and the latest activity, per agent.
    agents: HashMap<String, Live>,
}

/// One agent's live counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Live {
    /// Calls running now.
    pub running: u32,
    /// Latest call start or finish.
    pub last_active_at: DateTime<Utc>,
}

/// A call that was recorded as started and must be recorded as finished.
#[derive(Debug)]
pub struct CallRecord {
    /// Correlation id (also in the store and the logs).
    pub id: String,
    agent: AgentId,
    tool: String,
    started: Instant,
}

/// A started call whose record must be finished: by [`OpenCall::finish`], or, if the
/// call's future is dropped first (the client went away and the transport dropped the
/// request), as `cancelled` from `Drop`. No call is left `running` by a live server.
pub struct OpenCall {
    manager: Arc<AgentManager>,
    record: Option<CallRecord>,
}

impl OpenCall {
    /// The call's correlation id.
    pub fn id(&self) -> &str {
        self.record.as_ref().map_or("", |r| r.id.as_str())
    }

    /// Records how the call ended.
    pub async fn finish(mut self, end: CallEnd) {
        if let Some(record) = self.record.take() {
            self.manager.end_call(record, end).await;
        }
    }
}

impl Drop for OpenCall {
    fn drop(&mut self) {
        let Some(record) = self.record.take() else {
            return;
        };
        let manager = Arc::clone(&self.manager);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let end = CallEnd {
                    status: CallStatus::Cancelled,
                    error: Some(ABANDONED.to_string()),
                    tokens: None,
                    thread: None,
                    output: None,
                };
                manager.end_call(record, end).await;
            });
        }
    }
}

/// The error of a call whose client went away.
pub const ABANDONED: &str = "the client went away before the call finished; Codex was stopped";

/// How a call ended, for its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallEnd {
    /// Final status (never `Running`).
    pub status: CallStatus,
    /// What went wrong, as told to the client.
    pub error: Option<String>,
    /// Tokens this call used, when Codex reported them.
    pub tokens: Option<Usage>,
    /// The Codex thread the call ran on.
    pub thread: Option<String>,
    /// What it produced, stored for tasks, jobs and resources.
    pub output: Option<CallOutput>,
}

/// The store's name for a runtime.
pub fn runtime_name(kind: RuntimeKind) -> &'static str {
    match kind {
        RuntimeKind::Docker => "docker",
        RuntimeKind::Local => "local",
        RuntimeKind::Kubernetes => "kubernetes",
    }
}

/// A correlation id unique across restarts: start time and 64 random bits. A caller
/// that must know a call's id before it starts (a task binds its call) makes one here.
pub fn new_call_id() -> String {
    use rand::RngCore as _;
    format!(
        "call-{}-{:016x}",
        Utc::now().timestamp_millis(),
        rand::rng().next_u64()
    )
}

impl AgentManager {
    /// Records the agent (first time only) so sessions and calls can refer to it.
    pub async fn record_agent(&self, agent: &AgentId) -> Result<(), AgentError> {
        if self.live.lock().recorded.contains(agent.as_str()) {
            return Ok(());
        }
        let _admitted = self.admit_new_agent(agent).await?;
        self.store
            .ensure_agent(NewAgent {
                id: agent.as_str().to_string(),
                runtime: runtime_name(self.runtime.kind()).to_string(),
                container: None,
                workspace: None,
                status: AgentStatus::Starting,
                at: codex_mcp_store::now(),
            })
            .await?;
        self.live.lock().recorded.insert(agent.as_str().to_string());
        Ok(())
    }

    /// Records where a ready agent lives (once per process): runtime, container,
    /// workspace, running. A failure is logged, not returned: the call can go on.
    ///
    /// The container id comes from the environment `ready` returned, not from the
    /// runtime's `status`: on Docker that samples the container's stats, which takes the
    /// engine about a second, on the first call of every agent.
    pub async fn record_location(&self, agent: &ReadyAgent) {
        if self.live.lock().located.contains(agent.id.as_str()) {
            return;
        }
        let update = AgentUpdate {
            runtime: Some(runtime_name(self.runtime.kind()).to_string()),
            container: Some(agent.env.container_id.clone()),
            workspace: Some(Some(agent.env.workspace.clone())),
            status: Some(AgentStatus::Running),
        };
        match self.store.update_agent(agent.id.as_str(), update).await {
            Ok(_) => {
                self.live
                    .lock()
                    .located
                    .insert(agent.id.as_str().to_string());
            }
            Err(e) => {
                tracing::warn!(agent = %agent.id, error = %e, "could not record the agent's environment")
            }
        }
    }

    /// Records a call starting, under `id` when the caller chose it ([`new_call_id`]).
    /// Fails (and the call must not run) when the store cannot record it: a call nobody
    /// can find later is worse than a refused one.
    pub async fn begin_call(
        &self,
        agent: &AgentId,
        tool: &str,
        arguments: &Map<String, Value>,
        session: Option<&str>,
        id: Option<String>,
    ) -> Result<CallRecord, AgentError> {
        self.record_agent(agent).await?;
        let id = id.unwrap_or_else(new_call_id);
        let mut start = CallStart {
            id: id.clone(),
            agent_id: agent.as_str().to_string(),
            session_id: session.map(str::to_string),
            tool: tool.to_string(),
            arguments_digest: codex_mcp_store::arguments_digest_of_object(arguments),
            thread_id: None,
            started_at: codex_mcp_store::now(),
        };
        let first = self.store.start_call(start.clone()).await;
        if let Err(StoreError::NotFound {
            kind: "session", ..
        }) = first
        {
            // The session was not recorded (its write failed or raced): keep the call.
            start.session_id = None;
            self.store.start_call(start).await?;
        } else {
            first?;
        }
        self.touch(agent, 1);
        Ok(CallRecord {
            id,
            agent: agent.clone(),
            tool: tool.to_string(),
            started: Instant::now(),
        })
    }

    /// [`Self::begin_call`], returning a record that finishes itself if dropped.
    pub async fn open_call(
        self: &Arc<Self>,
        agent: &AgentId,
        tool: &str,
        arguments: &Map<String, Value>,
        session: Option<&str>,
        id: Option<String>,
    ) -> Result<OpenCall, AgentError> {
        let record = self.begin_call(agent, tool, arguments, session, id).await?;
        Ok(OpenCall {
            manager: Arc::clone(self),
            record: Some(record),
        })
    }

    /// The record of call `id`, which a previous process of this server started at
    /// `started_at` and left `running`, to finish it: a restarted server re-attaching
    /// to the call's Codex run. Counts it running on its agent, as starting one does.
    pub fn resume_call(
        self: &Arc<Self>,
        agent: &AgentId,
        tool: &str,
        id: &str,
        started_at: DateTime<Utc>,
    ) -> OpenCall {
        let age = (Utc::now() - started_at)
            .to_std()
            .unwrap_or(std::time::Duration::ZERO);
        let started = Instant::now().checked_sub(age).unwrap_or_else(Instant::now);
        self.touch(agent, 1);
        OpenCall {
            manager: Arc::clone(self),
            record: Some(CallRecord {
                id: id.to_string(),
                agent: agent.clone(),
                tool: tool.to_string(),
                started,
            }),
        }
    }

    /// Records how a call ended. A store failure here is logged: the client still gets
    /// the call's result, and the next start marks the call interrupted.
    pub async fn end_call(&self, record: CallRecord, end: CallEnd) {
        self.touch(&record.agent, -1);
        self.slot_used(record.agent.as_str());
        let duration_ms = record.started.elapsed().as_millis() as u64;
        self.metrics.record(
            &record.tool,
            end.status,
            duration_ms,
            end.tokens
                .map_or((0, 0), |t| (t.input_tokens, t.output_tokens)),
        );
        let finished = live::FinishedCall {
            id: record.id.clone(),
            agent: record.agent.as_str().to_string(),
            tool: record.tool.clone(),
            status: end.status.to_string(),
            finished_at: Utc::now(),
            duration_ms,
            tokens_in: end.tokens.map(|t| t.input_tokens),
            tokens_out: end.tokens.map(|t| t.output_tokens),
            error: end.error.clone(),
            has_result: end.output.is_some(),
            has_diff: end.output.as_ref().is_some_and(|o| o.diff.is_some()),
        };
        let finish = CallFinish {
            status: end.status,
            finished_at: codex_mcp_store::now(),
            error: end.error,
            duration_ms,
            tokens_in: end.tokens.map(|t| t.input_tokens),
            tokens_out: end.tokens.map(|t| t.output_tokens),
            thread_id: end.thread,
            output: end.output,
        };
        if let Err(e) = self.store.finish_call(&record.id, finish).await {
            tracing::error!(call = %record.id, agent = %record.agent, error = %e, "could not record the end of a call");
        }
        self.dashboard.call_finished(finished);
    }

    fn touch(&self, agent: &AgentId, running: i32) {
        let now = Utc::now();
        let mut live = self.live.lock();
        let entry = live
            .agents
            .entry(agent.as_str().to_string())
            .or_insert(Live {
                running: 0,
                last_active_at: now,
            });
        entry.running = entry.running.saturating_add_signed(running);
        entry.last_active_at = now;
    }

    /// Calls running now and latest activity of an agent active since the start.
    pub fn live(&self, agent: &str) -> Option<Live> {
        self.live.lock().agents.get(agent).copied()
    }

    /// Every agent active since the start, by id.
    pub fn live_agents(&self) -> Vec<(String, Live)> {
        let mut v: Vec<_> = self
            .live
            .lock()
            .agents
            .iter()
            .map(|(k, l)| (k.clone(), *l))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// The Codex thread continuing an agent's conversation, from the store.
    pub async fn thread(
        &self,
        agent: &AgentId,
        conversation: &str,
    ) -> Result<Option<String>, AgentError> {
        Ok(self
            .store
            .get_thread(agent.as_str(), conversation)
            .await?
            .map(|t| t.thread_id))
    }

    /// Stores the thread of an agent's conversation. Logged on failure: the call's
    /// answer matters more than the next call's continuity.
    pub async fn set_thread(&self, agent: &AgentId, conversation: &str, thread: &str) {
        if let Err(e) = self
            .store
            .put_thread(agent.as_str(), conversation, thread, codex_mcp_store::now())
            .await
        {
            tracing::error!(agent = %agent, conversation, error = %e, "could not store the Codex thread");
        }
    }

    /// Marks an agent's environment removed (`purge`: also deletes its records, since
    /// its conversations are gone with its Codex home).
    pub async fn forget(&self, agent: &str, purge: bool) -> Result<(), AgentError> {
        {
            let mut live = self.live.lock();
            live.agents.remove(agent);
            live.located.remove(agent);
            if purge {
                live.recorded.remove(agent);
            }
        }
        self.forget_memory(agent);
        self.disk.forget(agent);
        if purge && let Some(credentials) = &self.credentials {
            credentials.revoke(agent);
        }
        if purge {
            self.store.delete_agent(agent).await?;
        } else {
            let update = AgentUpdate {
                container: Some(None),
                status: Some(AgentStatus::Removed),
                ..AgentUpdate::default()
            };
            match self.store.update_agent(agent, update).await {
                Ok(_) | Err(StoreError::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// A live state guarded for the manager.
pub(super) type SharedLive = Mutex<LiveState>;
