//! The SQLite backend: one file, `codex-mcp.db`, in the data dir.
//!
//! One writer thread owns the connection every write goes through and commits queued writes in
//! batches (module `writer`); reads run on a small pool of read-only connections
//! (module `readers`). WAL mode lets both proceed at once.

mod agents;
mod calls;
mod checkpointer;
mod clean_mark;
mod convert;
mod failure;
mod maintenance;
mod migrations;
mod open;
mod readers;
mod resume;
mod sessions;
mod tasks;
mod threads;
mod writer;

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use chrono::Utc;

use crate::error::StoreError;
use crate::model::{
    Agent, AgentActivity, AgentDeleted, AgentPage, AgentUpdate, Call, CallFinish, CallOutput,
    CallStart, NewAgent, NewSession, OutputEntry, Pruned, Recovered, Session, Thread, Timestamp,
};
use crate::session_store::SessionStore;
use crate::task::{LeftTask, NewTask, Task, TaskFinish, TaskPage, TaskProgress};
use crate::task_store::TaskStore;
use readers::Readers;
use writer::Writer;

pub use open::{DB_FILE, LOCK_FILE};

/// The SQLite-backed [`SessionStore`].
///
/// Open it once per process: it holds an exclusive lock on `codex-mcp.db.lock`, so a
/// second mcpd on the same data dir is refused instead of marking the first one's calls
/// interrupted. Dropping it finishes queued writes, closes the file and releases the
/// lock (blocking briefly); [`SqliteStore::close`] does the same without blocking.
pub struct SqliteStore {
    // Field order is drop order: readers close before the writer, so the writer's
    // connection is the last one and checkpoints the WAL into the main file.
    readers: Arc<Readers>,
    writer: Writer,
    recovered: Recovered,
    checked: bool,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.readers.path())
            .field("recovered", &self.recovered)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if absent) `codex-mcp.db` in `data_dir`, creating the dir too;
    /// migrates it, then marks calls left running by a previous process `interrupted`
    /// (but those of tasks the engine may re-attach to, see
    /// [`SessionStore::recover_interrupted`]).
    ///
    /// Blocking (file I/O, an integrity check unless the last close was clean, migrations): from async code call it via
    /// `tokio::task::spawn_blocking`. Fails with a typed error naming the file and the
    /// fix when the dir cannot be written, the file is not a codex-mcp database or is
    /// damaged, it comes from a newer codex-mcp, or another mcpd has it open; in every
    /// such case the file is left as it was.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let opened = open::open(data_dir)?;
        let recovered = maintenance::recover(&opened.conn, Utc::now())
            .map_err(|f| f.into_store(&opened.path))?;
        if recovered.calls > 0 || recovered.sessions > 0 || recovered.tasks > 0 {
            tracing::warn!(
                path = %opened.path.display(),
                calls = recovered.calls,
                sessions = recovered.sessions,
                tasks = recovered.tasks,
                "marked calls left running by a previous mcpd as interrupted and its tasks failed"
            );
        }
        let readers = Arc::new(Readers::new(opened.path.clone()));
        let checked = opened.checked;
        let writer = Writer::start(opened.conn, opened.path, opened.lock)?;
        Ok(Self {
            readers,
            writer,
            recovered,
            checked,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        self.readers.path()
    }

    /// What recovery at open changed: calls marked interrupted, sessions closed.
    pub fn recovered_at_open(&self) -> Recovered {
        self.recovered
    }

    /// Whether open ran the full integrity check (`PRAGMA quick_check`, every page):
    /// always, unless the previous process closed the file cleanly and it has not
    /// changed since.
    pub fn checked_at_open(&self) -> bool {
        self.checked
    }

    /// The newest schema version this build knows (what `PRAGMA user_version` holds).
    pub fn schema_version() -> i64 {
        migrations::known_version()
    }

    /// Finishes queued writes, closes the database and releases its lock, without
    /// blocking the async runtime.
    pub async fn close(self) {
        let _ = tokio::task::spawn_blocking(move || drop(self)).await;
    }
}

#[async_trait::async_trait]
impl SessionStore for SqliteStore {
    async fn ensure_agent(&self, agent: NewAgent) -> Result<Agent, StoreError> {
        self.writer
            .run(move |conn| agents::ensure(conn, &agent))
            .await
    }

    async fn update_agent(&self, id: &str, update: AgentUpdate) -> Result<Agent, StoreError> {
        let id = id.to_owned();
        self.writer
            .run(move |conn| agents::update(conn, &id, &update))
            .await
    }

    async fn touch_agent(&self, id: &str, at: Timestamp) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.writer
            .run(move |conn| agents::touch(conn, &id, at))
            .await
    }

    async fn get_agent(&self, id: &str) -> Result<Option<Agent>, StoreError> {
        let id = id.to_owned();
        self.readers.run(move |conn| agents::get(conn, &id)).await
    }

    async fn list_agents(&self) -> Result<Vec<Agent>, StoreError> {
        self.readers.run(agents::list).await
    }

    async fn list_agents_page(&self, offset: u64, limit: u32) -> Result<AgentPage, StoreError> {
        self.readers
            .run(move |conn| agents::page(conn, offset, limit))
            .await
    }

    async fn get_agents(&self, ids: &[String]) -> Result<Vec<Agent>, StoreError> {
        let ids = ids.to_vec();
        self.readers
            .run(move |conn| agents::get_many(conn, &ids))
            .await
    }

    async fn delete_agent(&self, id: &str) -> Result<Option<AgentDeleted>, StoreError> {
        let id = id.to_owned();
        self.writer.run(move |conn| agents::delete(conn, &id)).await
    }

    async fn open_session(&self, session: NewSession) -> Result<(), StoreError> {
        self.writer
            .run(move |conn| sessions::open(conn, &session))
            .await
    }

    async fn close_session(&self, id: &str, at: Timestamp) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.writer
            .run(move |conn| sessions::close(conn, &id, at))
            .await
    }

    async fn list_sessions(
        &self,
        agent_id: Option<&str>,
        open_only: bool,
    ) -> Result<Vec<Session>, StoreError> {
        let agent_id = agent_id.map(str::to_owned);
        self.readers
            .run(move |conn| sessions::list(conn, agent_id.as_deref(), open_only))
            .await
    }

    async fn start_call(&self, call: CallStart) -> Result<(), StoreError> {
        self.writer.run(move |conn| calls::start(conn, &call)).await
    }

    async fn finish_call(&self, id: &str, finish: CallFinish) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.writer
            .run(move |conn| calls::finish(conn, &id, &finish))
            .await
    }

    async fn get_call_output(&self, id: &str) -> Result<Option<CallOutput>, StoreError> {
        let id = id.to_owned();
        self.readers.run(move |conn| calls::output(conn, &id)).await
    }

    async fn get_call(&self, id: &str) -> Result<Option<Call>, StoreError> {
        let id = id.to_owned();
        self.readers.run(move |conn| calls::get(conn, &id)).await
    }

    async fn list_calls(&self, agent_id: &str, limit: u32) -> Result<Vec<Call>, StoreError> {
        let agent_id = agent_id.to_owned();
        self.readers
            .run(move |conn| calls::list(conn, &agent_id, limit))
            .await
    }

    async fn list_agent_outputs(
        &self,
        agent_id: &str,
        limit: u32,
    ) -> Result<Vec<OutputEntry>, StoreError> {
        let agent_id = agent_id.to_owned();
        self.readers
            .run(move |conn| calls::list_with_output(conn, &agent_id, limit))
            .await
    }

    async fn get_thread(
        &self,
        agent_id: &str,
        conversation_key: &str,
    ) -> Result<Option<Thread>, StoreError> {
        let (agent_id, key) = (agent_id.to_owned(), conversation_key.to_owned());
        self.readers
            .run(move |conn| threads::get(conn, &agent_id, &key))
            .await
    }

    async fn put_thread(
        &self,
        agent_id: &str,
        conversation_key: &str,
        thread_id: &str,
        at: Timestamp,
    ) -> Result<Thread, StoreError> {
        let (agent_id, key) = (agent_id.to_owned(), conversation_key.to_owned());
        let thread_id = thread_id.to_owned();
        self.writer
            .run(move |conn| threads::put(conn, &agent_id, &key, &thread_id, at))
            .await
    }

    async fn list_threads(&self, agent_id: &str) -> Result<Vec<Thread>, StoreError> {
        let agent_id = agent_id.to_owned();
        self.readers
            .run(move |conn| threads::list(conn, &agent_id))
            .await
    }

    async fn agents_activity(
        &self,
        ids: &[String],
        calls: u32,
    ) -> Result<HashMap<String, AgentActivity>, StoreError> {
        let ids = ids.to_vec();
        self.readers
            .run(move |conn| agents::activity(conn, &ids, calls))
            .await
    }

    async fn forget_thread(
        &self,
        agent_id: &str,
        conversation_key: &str,
    ) -> Result<bool, StoreError> {
        let (agent_id, key) = (agent_id.to_owned(), conversation_key.to_owned());
        self.writer
            .run(move |conn| threads::forget(conn, &agent_id, &key))
            .await
    }

    async fn recover_interrupted(&self, at: Timestamp) -> Result<Recovered, StoreError> {
        self.writer
            .run(move |conn| maintenance::recover(conn, at))
            .await
    }

    async fn prune_before(&self, cutoff: Timestamp) -> Result<Pruned, StoreError> {
        let chunk = maintenance::PRUNE_CHUNK;
        let mut pruned = Pruned::default();
        // One chunk per transaction, so other writers get turns between chunks.
        loop {
            let removed = self
                .writer
                .run(move |conn| maintenance::prune_calls(conn, cutoff, chunk))
                .await?;
            pruned.calls += removed;
            if removed < u64::from(chunk) {
                break;
            }
        }
        loop {
            let removed = self
                .writer
                .run(move |conn| maintenance::prune_sessions(conn, cutoff, chunk))
                .await?;
            pruned.sessions += removed;
            if removed < u64::from(chunk) {
                break;
            }
        }
        Ok(pruned)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.readers
            .run(|conn| Ok(conn.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))?))
            .await
            .map(|_| ())
    }
}

#[async_trait::async_trait]
impl TaskStore for SqliteStore {
    async fn create_task(&self, task: NewTask) -> Result<Task, StoreError> {
        self.writer
            .run(move |conn| tasks::create(conn, &task))
            .await
    }

    async fn get_task(&self, owner: &str, id: &str) -> Result<Option<Task>, StoreError> {
        let (owner, id) = (owner.to_owned(), id.to_owned());
        self.readers
            .run(move |conn| tasks::get(conn, &owner, &id))
            .await
    }

    async fn list_tasks(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<TaskPage, StoreError> {
        let (owner, cursor) = (owner.to_owned(), cursor.map(str::to_owned));
        self.readers
            .run(move |conn| tasks::list(conn, &owner, cursor.as_deref(), limit))
            .await
    }

    async fn update_task(&self, id: &str, progress: TaskProgress) -> Result<Task, StoreError> {
        let id = id.to_owned();
        self.writer
            .run(move |conn| tasks::update(conn, &id, &progress))
            .await
    }

    async fn finish_task(&self, id: &str, finish: TaskFinish) -> Result<Task, StoreError> {
        let id = id.to_owned();
        self.writer
            .run(move |conn| tasks::finish(conn, &id, &finish))
            .await
    }

    async fn expire_tasks(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.writer.run(move |conn| tasks::expire(conn, now)).await
    }

    async fn bind_task_call(
        &self,
        id: &str,
        call_id: &str,
        arguments: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let (id, call_id, arguments) = (id.to_owned(), call_id.to_owned(), arguments.clone());
        self.writer
            .run(move |conn| resume::bind(conn, &id, &call_id, &arguments))
            .await
    }

    async fn left_running(&self) -> Result<Vec<LeftTask>, StoreError> {
        self.readers.run(resume::left_running).await
    }

    async fn fail_left_running(&self, task: &LeftTask, at: Timestamp) -> Result<(), StoreError> {
        let task = task.clone();
        self.writer
            .run(move |conn| resume::fail(conn, &task, at))
            .await
    }
}

#[cfg(test)]
mod tests;
