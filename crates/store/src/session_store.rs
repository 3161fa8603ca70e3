//! The [`SessionStore`] trait: everything the engine asks of durable storage.
//!
//! The trait is deliberately narrow and record-shaped (no SQL, no connection or
//! transaction handles) so that a networked backend can implement it for several mcpd
//! instances sharing state; `docs/store.md` lists what such a backend must add.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;

use crate::conversation_hold::ConversationHold;
use crate::error::StoreError;
use crate::model::{
    Agent, AgentActivity, AgentDeleted, AgentPage, AgentUpdate, Call, CallFinish, CallOutput,
    CallStart, NewAgent, NewSession, OutputEntry, OutputQuery, Pruned, Recovered, Session, Thread,
    Timestamp,
};
use crate::task_store::TaskStore;

/// Durable record of agents, MCP sessions, tool calls and Codex threads (and, through
/// its supertrait [`TaskStore`], tasks).
///
/// Object safe: the engine holds an `Arc<dyn SessionStore>`. Every write is durable
/// against a crash of the process once its future resolves. Callers pass the
/// timestamps, so a test clock works and backends agree on the time of an event.
#[async_trait::async_trait]
pub trait SessionStore: TaskStore + Send + Sync {
    /// Records an agent the first time it is seen and returns the stored agent; an
    /// agent that already exists is returned unchanged (use [`Self::update_agent`]).
    async fn ensure_agent(&self, agent: NewAgent) -> Result<Agent, StoreError>;

    /// Changes an agent's runtime, container, workspace or status and returns it.
    async fn update_agent(&self, id: &str, update: AgentUpdate) -> Result<Agent, StoreError>;

    /// Moves an agent's last activity forward to `at` (never backward). Starting and
    /// finishing a call already do this.
    async fn touch_agent(&self, id: &str, at: Timestamp) -> Result<(), StoreError>;

    /// One agent with its usage totals, or `None`.
    async fn get_agent(&self, id: &str) -> Result<Option<Agent>, StoreError>;

    /// All agents with their usage totals, most recently active first.
    async fn list_agents(&self) -> Result<Vec<Agent>, StoreError>;

    /// The page of [`Self::list_agents`] that skips `offset` agents and holds at most
    /// `limit`, with the number of agents in all: costs the page, not the whole table
    /// (an index on last activity), so a listing stays fast after months of agents.
    async fn list_agents_page(&self, offset: u64, limit: u32) -> Result<AgentPage, StoreError>;

    /// The stored agents among `ids` (unknown ids are left out), most recently active
    /// first: one query for the agents a caller may see or a runtime reports.
    async fn get_agents(&self, ids: &[String]) -> Result<Vec<Agent>, StoreError>;

    /// Deletes an agent with its sessions, calls and threads: the only way those go
    /// away other than call pruning. Returns `None` if there was no such agent.
    async fn delete_agent(&self, id: &str) -> Result<Option<AgentDeleted>, StoreError>;

    /// Records an MCP session opening.
    async fn open_session(&self, session: NewSession) -> Result<(), StoreError>;

    /// Records an MCP session closing; closing a closed session keeps the first time.
    async fn close_session(&self, id: &str, at: Timestamp) -> Result<(), StoreError>;

    /// Sessions newest first, optionally only one agent's and only open ones.
    async fn list_sessions(
        &self,
        agent_id: Option<&str>,
        open_only: bool,
    ) -> Result<Vec<Session>, StoreError>;

    /// The replica that holds session `id` open, when that is another process sharing
    /// this store: a request for it reached the wrong replica. A store only one process
    /// opens (SQLite) has no other: the default says `None`.
    async fn session_elsewhere(&self, id: &str) -> Result<Option<String>, StoreError> {
        let _ = id;
        Ok(None)
    }

    /// Records a tool call starting (status `running`); counts it on its agent.
    async fn start_call(&self, call: CallStart) -> Result<(), StoreError>;

    /// Records how a running call ended and adds its tokens to its agent. Fails with
    /// [`StoreError::NotRunning`] if it already ended (or was marked interrupted).
    async fn finish_call(&self, id: &str, finish: CallFinish) -> Result<(), StoreError>;

    /// A finished call's output (see [`CallFinish::output`]), or `None` when the call is
    /// unknown, still running, pruned, or produced nothing.
    async fn get_call_output(&self, id: &str) -> Result<Option<CallOutput>, StoreError>;

    /// One call by correlation id, or `None`.
    async fn get_call(&self, id: &str) -> Result<Option<Call>, StoreError>;

    /// An agent's calls, newest first, at most `limit`.
    async fn list_calls(&self, agent_id: &str, limit: u32) -> Result<Vec<Call>, StoreError>;

    /// Finished calls with a stored output, newest first (start time, then id), at most
    /// `query.limit`, only of `query.agents` when given: what `resources/list` and the
    /// dashboard's recent results show. Built on [`Self::list_agent_outputs`].
    async fn list_call_outputs(&self, query: &OutputQuery) -> Result<Vec<OutputEntry>, StoreError> {
        let agents = match &query.agents {
            Some(agents) => agents.clone(),
            None => self
                .list_agents()
                .await?
                .into_iter()
                .map(|a| a.id)
                .collect(),
        };
        // Each agent's newest `limit` hold every entry of the overall newest `limit`.
        let mut entries = Vec::new();
        for agent in &agents {
            entries.extend(self.list_agent_outputs(agent, query.limit).await?);
        }
        entries.sort_by(|a, b| {
            b.call
                .started_at
                .cmp(&a.call.started_at)
                .then_with(|| b.call.id.cmp(&a.call.id))
        });
        entries.truncate(query.limit as usize);
        Ok(entries)
    }

    /// One agent's calls that have a stored output, newest first, at most `limit`.
    async fn list_agent_outputs(
        &self,
        agent_id: &str,
        limit: u32,
    ) -> Result<Vec<OutputEntry>, StoreError>;

    /// The Codex thread that continues `conversation_key` for the agent, or `None`.
    async fn get_thread(
        &self,
        agent_id: &str,
        conversation_key: &str,
    ) -> Result<Option<Thread>, StoreError>;

    /// Stores (or replaces) the Codex thread for a conversation and returns the stored
    /// mapping; storing the same thread id again only moves `last_used_at`.
    async fn put_thread(
        &self,
        agent_id: &str,
        conversation_key: &str,
        thread_id: &str,
        at: Timestamp,
    ) -> Result<Thread, StoreError>;

    /// An agent's conversations, most recently used first.
    async fn list_threads(&self, agent_id: &str) -> Result<Vec<Thread>, StoreError>;

    /// [`Self::list_threads`] and [`Self::list_calls`] (at most `calls` each) of every
    /// agent in `ids`, by agent id, in one read: a page of sessions costs one round
    /// trip, not two per agent. Every id gets an entry (empty for an unknown agent).
    async fn agents_activity(
        &self,
        ids: &[String],
        calls: u32,
    ) -> Result<HashMap<String, AgentActivity>, StoreError>;

    /// Forgets one conversation's thread (e.g. Codex can no longer resume it).
    /// Returns whether there was one.
    async fn forget_thread(
        &self,
        agent_id: &str,
        conversation_key: &str,
    ) -> Result<bool, StoreError>;

    /// Marks `running` calls `interrupted`, running tasks `failed` (the server
    /// restarted) and closes every open session, as of `at`, except a running task whose
    /// bound call is still running ([`TaskStore::bind_task_call`]): it and its call are
    /// left for the engine, which re-attaches to the call's Codex run or fails them
    /// ([`TaskStore::left_running`]). Only correct at startup, before this process
    /// records anything: it assumes no call is really running.
    /// [`crate::SqliteStore::open`] already does it.
    async fn recover_interrupted(&self, at: Timestamp) -> Result<Recovered, StoreError>;

    /// Marks `interrupted` the running calls, and closes the open sessions, of other
    /// processes sharing this store that have died (a replica killed mid-call), as of
    /// `at`; safe to call at any time. A store only one process can open (SQLite) has
    /// nobody else to sweep: the default does nothing.
    async fn sweep_interrupted(&self, at: Timestamp) -> Result<Recovered, StoreError> {
        let _ = at;
        Ok(Recovered::default())
    }

    /// The calls (their ids, which name their Codex runs) that other processes sharing
    /// this store are running now: a replica starting on a shared container engine must
    /// not stop those runs when it adopts the engine's containers. A store only one
    /// process can open (SQLite) has no other: the default is empty.
    async fn live_runs_elsewhere(&self) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    /// Deletes finished calls that ended before `cutoff`, and closed sessions that closed
    /// before it and no remaining call refers to. Agents, their usage totals and
    /// threads are kept.
    async fn prune_before(&self, cutoff: Timestamp) -> Result<Pruned, StoreError>;

    /// [`Self::prune_before`] with a cutoff of `age` ago: the retention setting.
    async fn prune_calls_older_than(&self, age: Duration) -> Result<Pruned, StoreError> {
        let age = chrono::Duration::from_std(age)
            .map_err(|e| StoreError::invalid("retention age", e.to_string()))?;
        let cutoff = Utc::now()
            .checked_sub_signed(age)
            .ok_or_else(|| StoreError::invalid("retention age", "reaches before year 0"))?;
        self.prune_before(cutoff).await
    }

    /// Checks that the store answers (for `/health` and `mcpd doctor`).
    async fn ping(&self) -> Result<(), StoreError>;

    /// Waits until no other process sharing this store runs a turn of `agent_id`'s
    /// conversation `conversation_key`, and holds it until the returned hold is dropped.
    /// The engine serialises its own turns first, so a process waits here with at most one
    /// turn per conversation. A store only one process can open (SQLite) has nobody to wait
    /// for: the default holds nothing. Dropping the future while it waits gives up the wait.
    async fn hold_conversation(
        &self,
        agent_id: &str,
        conversation_key: &str,
    ) -> Result<ConversationHold, StoreError> {
        let _ = (agent_id, conversation_key);
        Ok(ConversationHold::in_process())
    }

    /// Waits until no other process sharing this store refreshes the ChatGPT login, and
    /// keeps them out until the hold is dropped. Alone on its store (SQLite), a process
    /// has nobody to wait for: the default holds nothing.
    async fn hold_login_refresh(&self) -> Result<ConversationHold, StoreError> {
        Ok(ConversationHold::in_process())
    }

    /// The ChatGPT login (auth.json bytes) another process sharing this store refreshed
    /// last, for this one to adopt instead of spending the single-use refresh token
    /// again. Alone on its store, there is none: the default says `None`.
    async fn shared_login(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(None)
    }

    /// Publishes a refreshed login for the other processes sharing this store (see
    /// [`Self::shared_login`]); alone on its store, a process keeps nothing.
    async fn publish_login(&self, auth_json: &[u8]) -> Result<(), StoreError> {
        let _ = auth_json;
        Ok(())
    }
}
