//! The [`TaskStore`] trait: durable MCP tasks and background jobs.
//!
//! Kept apart from [`crate::SessionStore`] (which requires it) so a backend implements
//! the task methods in one place. Reads are scoped by owner; writes that move a task
//! along are by id only, because only the engine running the task makes them.

use crate::error::StoreError;
use crate::model::Timestamp;
use crate::task::{LeftTask, NewTask, Task, TaskFinish, TaskPage, TaskProgress};

/// The most tasks one [`TaskStore::list_tasks`] page holds.
pub const MAX_TASK_PAGE: u32 = 200;

/// Durable tasks: created `working`, moved along by progress, ended once.
#[async_trait::async_trait]
pub trait TaskStore: Send + Sync {
    /// Records a new `working` task and returns it. Fails with `AlreadyExists` for a
    /// used id, `NotFound` for an unknown agent, `Invalid` for an empty owner or a TTL
    /// or poll interval too large to store.
    async fn create_task(&self, task: NewTask) -> Result<Task, StoreError>;

    /// The task `id` if it belongs to `owner`; another owner's task is `None`, like an
    /// unknown id.
    async fn get_task(&self, owner: &str, id: &str) -> Result<Option<Task>, StoreError>;

    /// One page (at most `limit`, 1..=[`MAX_TASK_PAGE`]) of `owner`'s tasks, newest
    /// first, starting after `cursor` (from the previous page's `next_cursor`). A cursor
    /// this store did not hand out is `Invalid`.
    async fn list_tasks(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<TaskPage, StoreError>;

    /// Changes a running task's status (`working` / `input_required`) and message and
    /// returns it. An ended task is left as it is: `TaskEnded`.
    async fn update_task(&self, id: &str, progress: TaskProgress) -> Result<Task, StoreError>;

    /// Ends a task (`completed`, `failed` or `cancelled`, which is how a task is
    /// cancelled) with its result or error, and returns it. Only the first end counts:
    /// ending an ended task fails with `TaskEnded` and changes nothing, so a cancel
    /// racing the work's own finish has exactly one winner.
    async fn finish_task(&self, id: &str, finish: TaskFinish) -> Result<Task, StoreError>;

    /// Deletes ended tasks whose TTL ran out by `now` (created + ttl < now); returns how
    /// many. Running tasks past their TTL are kept: the engine cancels them first.
    async fn expire_tasks(&self, now: Timestamp) -> Result<u64, StoreError>;

    /// Records the call doing task `id`'s work and the call's arguments (a JSON object),
    /// so that a restarted server can re-attach to the call's Codex run and finish it.
    /// `NotFound` for an unknown task; an ended task is `TaskEnded`.
    async fn bind_task_call(
        &self,
        id: &str,
        call_id: &str,
        arguments: &serde_json::Value,
    ) -> Result<(), StoreError>;

    /// The tasks a previous process of this server (this replica) left running that
    /// startup recovery kept for the engine to decide on: each has a bound call
    /// ([`Self::bind_task_call`]) that is still `running`. Every other running task was
    /// failed at open.
    async fn left_running(&self) -> Result<Vec<LeftTask>, StoreError>;

    /// Fails a task [`Self::left_running`] returned whose work cannot be re-attached:
    /// the task `failed` with [`crate::TASK_INTERRUPTED`], its call `interrupted` with
    /// [`crate::CALL_INTERRUPTED`], as of `at`. A task or call that already ended is left
    /// as it is.
    async fn fail_left_running(&self, task: &LeftTask, at: Timestamp) -> Result<(), StoreError>;
}
