//! Tasks, shared by both task wires (the 2025-11-25 in-spec tasks and the 2026-07-28
//! `io.modelcontextprotocol/tasks` extension): a task-supporting `tools/call` runs
//! detached from its HTTP request, and the task methods reach it by id.
//!
//! A task is held in memory while this process runs it and, when the server has a
//! store, written through to it ([`super::task_durable`]): it outlives the session and
//! the process that created it. It lives until its TTL passes (running tasks are kept;
//! ended ones are swept), is visible only to the bearer token that created it (every
//! other caller gets the same "unknown task id" error), and asks its client for input by
//! parking in `input_required` until `tasks/update` delivers every answer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::tasks_ext::{self, DetailedTask, TaskStatus};
use codex_mcp_store::{NewTask, TaskFinish, TaskStore};
use parking_lot::Mutex;
use rand::RngCore;
use serde_json::{Map, Value};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::task_durable::{self, Durable, Write, Writer, owner_key};

/// How long a task stays readable after creation unless the client asks otherwise
/// (mcpd: `CODEX_MCP_TASK_TTL_SECONDS`).
pub const TASK_TTL: Duration = Duration::from_secs(3600);
/// The longest TTL a client may ask for (mcpd: `CODEX_MCP_TASK_MAX_TTL_SECONDS`).
pub const MAX_TASK_TTL: Duration = Duration::from_secs(86_400);
/// The shortest TTL a client may ask for.
pub const MIN_TASK_TTL: Duration = Duration::from_secs(1);
/// How often ended tasks past their TTL are deleted.
pub const SWEEP_EVERY: Duration = Duration::from_secs(60);
/// How often clients are told to poll.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// The status message of tasks running when the server shuts down.
pub const SHUTDOWN_MESSAGE: &str = "the server shut down while this task was running; run it again";

/// A duration in whole milliseconds, as the task wires carry TTLs and poll intervals.
pub(super) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// What a new task runs, and for how long it is kept.
#[derive(Debug, Clone)]
pub(crate) struct TaskSpec {
    /// The tool it runs (recorded in the store).
    pub tool: String,
    /// How long after creation it stays readable.
    pub ttl: Duration,
}

/// Every task of a server.
pub(crate) struct TaskTable {
    tasks: Mutex<HashMap<String, Arc<TaskEntry>>>,
    durable: Option<Durable>,
}

impl Default for TaskTable {
    fn default() -> Self {
        Self::new(None)
    }
}

/// A task found by id: one this process runs, or one read from the store.
pub(crate) enum Found {
    Live(Arc<TaskEntry>),
    Stored(Box<DetailedTask>),
}

impl Found {
    /// The `tasks/get` view (2026 shape; the 2025 wire renames it).
    pub(crate) fn detailed(&self) -> DetailedTask {
        match self {
            Self::Live(entry) => entry.detailed(),
            Self::Stored(detailed) => (**detailed).clone(),
        }
    }
}

/// One task: its fixed facts, its changing state, and how to stop it.
pub struct TaskEntry {
    id: String,
    /// Bearer token name of the creator (`None` without tokens).
    owner: Option<String>,
    created_at: DateTime<Utc>,
    ttl: Duration,
    expires: Instant,
    cancel: CancellationToken,
    state: Mutex<TaskState>,
    /// Woken when `tasks/update` delivers answers or the task is cancelled.
    answered: Notify,
    /// Bumped on every change of status or message (waiters and notifiers watch it).
    changed: watch::Sender<u64>,
    /// Where changes are recorded, when the server has a store.
    writer: Option<Writer>,
}

struct TaskState {
    status: TaskStatus,
    status_message: Option<String>,
    last_updated_at: DateTime<Utc>,
    result: Option<Value>,
    error: Option<ErrorObject>,
    /// Questions not answered yet.
    input_requests: Map<String, Value>,
    /// Answers delivered but not yet taken by the waiting tool.
    answers: Map<String, Value>,
}

fn new_task_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("task-{hex}")
}

impl TaskTable {
    /// A table; with `store`, tasks are written through to it (needs a Tokio runtime).
    pub(crate) fn new(store: Option<Arc<dyn TaskStore>>) -> Self {
        Self {
            tasks: Mutex::new(HashMap::new()),
            durable: store.and_then(Durable::start),
        }
    }

    /// Creates a working task owned by `owner` with the default TTL; it is readable
    /// as soon as this returns (the unit tests' shorthand).
    #[cfg(test)]
    pub(crate) fn create(&self, owner: Option<String>) -> Arc<TaskEntry> {
        self.create_with(
            owner,
            TaskSpec {
                tool: String::new(),
                ttl: TASK_TTL,
            },
        )
    }

    /// Creates a working task running `spec.tool`, kept `spec.ttl` after creation; it
    /// is readable here at once and queued for the store ([`Self::flush`] waits for it).
    pub(crate) fn create_with(&self, owner: Option<String>, spec: TaskSpec) -> Arc<TaskEntry> {
        let now = Utc::now();
        let entry = self.entry(new_task_id(), owner, now, spec.ttl, None);
        if let Some(writer) = &entry.writer {
            writer.send(Write::Create(NewTask {
                id: entry.id.clone(),
                owner: owner_key(entry.owner.as_deref()),
                agent_id: None,
                tool: spec.tool,
                call_id: None,
                created_at: now,
                ttl_ms: Some(millis(spec.ttl)),
                poll_interval_ms: Some(millis(POLL_INTERVAL)),
                status_message: None,
            }));
        }
        self.insert(entry)
    }

    fn entry(
        &self,
        id: String,
        owner: Option<String>,
        created_at: DateTime<Utc>,
        ttl: Duration,
        status_message: Option<String>,
    ) -> TaskEntry {
        TaskEntry {
            id,
            owner,
            created_at,
            ttl,
            expires: Instant::now() + ttl,
            cancel: CancellationToken::new(),
            state: Mutex::new(TaskState {
                status: TaskStatus::Working,
                status_message,
                last_updated_at: Utc::now(),
                result: None,
                error: None,
                input_requests: Map::new(),
                answers: Map::new(),
            }),
            answered: Notify::new(),
            changed: watch::Sender::new(0),
            writer: self.durable.as_ref().map(|d| d.writer.clone()),
        }
    }

    fn insert(&self, entry: impl Into<Arc<TaskEntry>>) -> Arc<TaskEntry> {
        let entry = entry.into();
        let mut tasks = self.tasks.lock();
        tasks.retain(|_, t| !t.expired());
        tasks.insert(entry.id.clone(), entry.clone());
        entry
    }

    /// Waits until every change queued so far is in the store (at once without one).
    pub(crate) async fn flush(&self) {
        if let Some(durable) = &self.durable {
            durable.writer.flush().await;
        }
    }

    /// The task `id` if `owner` may see it and this process holds it; else the
    /// extension's unknown-task error.
    pub(crate) fn find(
        &self,
        id: &str,
        owner: Option<&str>,
    ) -> Result<Arc<TaskEntry>, ErrorObject> {
        let tasks = self.tasks.lock();
        tasks
            .get(id)
            .filter(|t| t.owner.as_deref() == owner && !t.expired())
            .cloned()
            .ok_or_else(|| tasks_ext::unknown_task(id))
    }

    /// The task `id` if `owner` may see it: from memory, else from the store (a task
    /// of a previous process or of another replica).
    pub(crate) async fn lookup(&self, id: &str, owner: Option<&str>) -> Result<Found, ErrorObject> {
        if let Ok(entry) = self.find(id, owner) {
            return Ok(Found::Live(entry));
        }
        match self.stored(id, owner).await? {
            Some((_, detailed)) => Ok(Found::Stored(Box::new(detailed))),
            None => Err(tasks_ext::unknown_task(id)),
        }
    }

    /// `owner`'s task `id` as the store has it, with the tool it runs: a task of a
    /// previous process or of another replica. `None` when unknown or expired.
    pub(crate) async fn stored(
        &self,
        id: &str,
        owner: Option<&str>,
    ) -> Result<Option<(String, DetailedTask)>, ErrorObject> {
        let Some(durable) = &self.durable else {
            return Ok(None);
        };
        match task_durable::read(durable.store.as_ref(), &owner_key(owner), id).await? {
            Some(stored) if !task_durable::expired(&stored, Utc::now()) => {
                let detailed = task_durable::detailed_of(&stored, millis(POLL_INTERVAL));
                Ok(Some((stored.tool, detailed)))
            }
            _ => Ok(None),
        }
    }

    /// Cancels a task this process does not run (another replica's, still working in
    /// the store); the store keeps the first end, so a race with its own end is safe.
    pub(crate) async fn cancel_stored(&self, id: &str) -> Result<(), ErrorObject> {
        let Some(durable) = &self.durable else {
            return Err(tasks_ext::unknown_task(id));
        };
        let finish = TaskFinish {
            status: codex_mcp_store::TaskStatus::Cancelled,
            status_message: Some("cancelled by the client".into()),
            result: None,
            error: None,
            at: Utc::now(),
        };
        match durable.store.finish_task(id, finish).await {
            Ok(_) | Err(codex_mcp_store::StoreError::TaskEnded { .. }) => Ok(()),
            Err(e) => Err(ErrorObject::internal(format!(
                "cannot cancel task {id:?}: {e}"
            ))),
        }
    }

    /// One page of `owner`'s tasks, newest first, with the live state of those this
    /// process runs. `cursor` comes from the previous page.
    pub(crate) async fn list(
        &self,
        owner: Option<&str>,
        cursor: Option<&str>,
        page_size: usize,
    ) -> Result<(Vec<DetailedTask>, Option<String>), ErrorObject> {
        let Some(durable) = &self.durable else {
            let mut mine: Vec<Arc<TaskEntry>> = {
                let tasks = self.tasks.lock();
                tasks
                    .values()
                    .filter(|t| t.owner.as_deref() == owner && !t.expired())
                    .cloned()
                    .collect()
            };
            mine.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
            let page = codex_mcp_protocol::result::paginate(&mine, cursor, page_size)?;
            let items = page.items.iter().map(|t| t.detailed()).collect();
            return Ok((items, page.next_cursor));
        };
        let limit = u32::try_from(page_size)
            .unwrap_or(u32::MAX)
            .clamp(1, codex_mcp_store::MAX_TASK_PAGE);
        let page = durable
            .store
            .list_tasks(&owner_key(owner), cursor, limit)
            .await
            .map_err(|e| match e {
                codex_mcp_store::StoreError::Invalid { .. } => {
                    ErrorObject::invalid_params(format!("tasks/list: {e}"))
                }
                other => ErrorObject::internal(format!("cannot list tasks: {other}")),
            })?;
        let now = Utc::now();
        let items = page
            .tasks
            .iter()
            .filter(|t| !task_durable::expired(t, now))
            .map(|t| match self.find(&t.id, owner) {
                Ok(live) => live.detailed(),
                Err(_) => task_durable::detailed_of(t, millis(POLL_INTERVAL)),
            })
            .collect();
        Ok((items, page.next_cursor))
    }

    /// Drops ended tasks past their TTL, here and in the store.
    pub(crate) async fn sweep(&self) {
        self.tasks.lock().retain(|_, t| !t.expired());
        if let Some(durable) = &self.durable {
            match durable.store.expire_tasks(Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(tasks = n, "deleted ended tasks past their TTL"),
                Err(e) => tracing::warn!(error = %e, "could not delete expired tasks"),
            }
        }
    }

    /// Ends every running task as failed with [`SHUTDOWN_MESSAGE`] and stops its work
    /// (server shutdown: nothing survives the process).
    pub(crate) fn cancel_all(&self) {
        let tasks: Vec<_> = self.tasks.lock().values().cloned().collect();
        for task in tasks {
            task.fail(ErrorObject::internal(SHUTDOWN_MESSAGE));
            task.cancel();
        }
    }
}

mod entry;
mod replicas;
mod resume;
#[cfg(test)]
mod tests;

pub(crate) use replicas::CHECK_EVERY;
