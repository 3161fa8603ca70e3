//! Tasks written through to the durable [`TaskStore`]: every creation, status change,
//! and end of a task in the [`super::tasks::TaskTable`] is queued here and written by
//! one background writer, in order, so a task outlives the process and the session
//! that created it, and is readable by every replica sharing the store.
//!
//! Reads go to memory first; an id not in memory (a task of a previous process, or of
//! another replica) is read from the store and shown as it was recorded there.

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::tasks_ext::{DetailedTask, Task, TaskStatus};
use codex_mcp_store::{
    NewTask, StoreError, TaskFinish, TaskProgress, TaskStatus as StoredStatus, TaskStore,
};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// The store's owner of a caller's tasks: its bearer token name, or one shared owner
/// when the server has no tokens (every caller is then the same owner).
pub(crate) fn owner_key(owner: Option<&str>) -> String {
    match owner {
        Some(token) => format!("token:{token}"),
        None => "anonymous".to_string(),
    }
}

/// The caller an [`owner_key`] was made for.
pub(crate) fn owner_of_key(key: &str) -> Option<String> {
    key.strip_prefix("token:").map(str::to_string)
}

/// ISO-8601 with milliseconds, as both task wires show times.
pub(crate) fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The store's name of a protocol status (the same five names).
pub(crate) fn stored_status(status: TaskStatus) -> StoredStatus {
    match status {
        TaskStatus::Working => StoredStatus::Working,
        TaskStatus::InputRequired => StoredStatus::InputRequired,
        TaskStatus::Completed => StoredStatus::Completed,
        TaskStatus::Failed => StoredStatus::Failed,
        TaskStatus::Cancelled => StoredStatus::Cancelled,
    }
}

fn protocol_status(status: StoredStatus) -> TaskStatus {
    match status {
        StoredStatus::Working => TaskStatus::Working,
        StoredStatus::InputRequired => TaskStatus::InputRequired,
        StoredStatus::Completed => TaskStatus::Completed,
        StoredStatus::Failed => TaskStatus::Failed,
        StoredStatus::Cancelled => TaskStatus::Cancelled,
    }
}

/// A protocol error as the store keeps it: its JSON, so it reads back whole.
pub(crate) fn error_text(error: &ErrorObject) -> String {
    serde_json::to_string(error).unwrap_or_else(|_| error.message.clone())
}

/// A stored error back as a protocol error. The store writes plain sentences itself
/// (the restart recovery), which become internal errors of exactly that sentence.
fn error_of(text: &str) -> ErrorObject {
    serde_json::from_str(text).unwrap_or_else(|_| plain_internal(text))
}

/// An internal error whose message is `sentence` as it is (not prefixed): what a task
/// failed by a restart says, whether the store or a restarted server failed it.
pub(crate) fn plain_internal(sentence: &str) -> ErrorObject {
    ErrorObject::new(codex_mcp_protocol::ErrorCode::INTERNAL_ERROR, sentence)
}

/// The protocol view of a stored task.
pub(crate) fn detailed_of(stored: &codex_mcp_store::Task, poll_ms: u64) -> DetailedTask {
    let status = protocol_status(stored.status);
    DetailedTask {
        task: Task {
            task_id: stored.id.clone(),
            status,
            status_message: stored.status_message.clone(),
            created_at: iso(stored.created_at),
            last_updated_at: iso(stored.updated_at),
            ttl_ms: stored.ttl_ms,
            poll_interval_ms: stored.poll_interval_ms.or(Some(poll_ms)),
        },
        result: stored.result.clone(),
        error: (status == TaskStatus::Failed)
            .then(|| stored.error.as_deref().map(error_of))
            .flatten(),
        input_requests: None,
    }
}

/// Whether a stored task has passed its TTL and ended (the store deletes these).
pub(crate) fn expired(stored: &codex_mcp_store::Task, now: DateTime<Utc>) -> bool {
    let Some(ttl) = stored.ttl_ms else {
        return false;
    };
    let ttl = chrono::Duration::milliseconds(i64::try_from(ttl).unwrap_or(i64::MAX));
    stored.status.is_terminal()
        && stored
            .created_at
            .checked_add_signed(ttl)
            .is_some_and(|end| end < now)
}

/// One write, in the order the table made it.
pub(crate) enum Write {
    Create(NewTask),
    Progress(String, TaskProgress),
    Finish(String, TaskFinish),
    /// Task id, the call doing its work, the call's arguments.
    Bind(String, String, Value),
    /// Answered once every write before it is done.
    Flush(oneshot::Sender<()>),
}

/// Where a task's changes go: a cheap handle every task entry holds.
#[derive(Clone)]
pub(crate) struct Writer {
    queue: mpsc::UnboundedSender<Write>,
}

impl Writer {
    pub(crate) fn send(&self, write: Write) {
        // The writer only stops when every handle is gone.
        let _ = self.queue.send(write);
    }

    /// Waits until every write queued so far reached the store.
    pub(crate) async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        self.send(Write::Flush(done));
        let _ = wait.await;
    }
}

/// The durable side of a task table: the store, and the writer feeding it.
pub(crate) struct Durable {
    pub store: Arc<dyn TaskStore>,
    pub writer: Writer,
}

impl Durable {
    /// Starts the writer on the current Tokio runtime; `None` outside one (the table
    /// then keeps tasks in memory only, and says so).
    pub(crate) fn start(store: Arc<dyn TaskStore>) -> Option<Self> {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no Tokio runtime at server build: tasks are kept in memory only");
            return None;
        };
        let (queue, rx) = mpsc::unbounded_channel();
        runtime.spawn(write_all(Arc::clone(&store), rx));
        Some(Self {
            store,
            writer: Writer { queue },
        })
    }
}

async fn write_all(store: Arc<dyn TaskStore>, mut rx: mpsc::UnboundedReceiver<Write>) {
    while let Some(write) = rx.recv().await {
        let (what, id, outcome) = match write {
            Write::Create(task) => {
                let id = task.id.clone();
                ("create", id, store.create_task(task).await.map(|_| ()))
            }
            Write::Progress(id, progress) => {
                let outcome = store.update_task(&id, progress).await.map(|_| ());
                ("update", id, outcome)
            }
            Write::Finish(id, finish) => {
                let outcome = store.finish_task(&id, finish).await.map(|_| ());
                ("finish", id, outcome)
            }
            Write::Bind(id, call_id, arguments) => {
                let outcome = store.bind_task_call(&id, &call_id, &arguments).await;
                ("bind", id, outcome)
            }
            Write::Flush(done) => {
                let _ = done.send(());
                continue;
            }
        };
        match outcome {
            Ok(()) => {}
            // Another replica (or the restart recovery) ended it first: the store keeps
            // the first end, as it should.
            Err(StoreError::TaskEnded { .. }) => {
                tracing::debug!(task = %id, what, "task already ended in the store");
            }
            Err(e) => {
                tracing::warn!(task = %id, what, error = %e, "could not record a task change")
            }
        }
    }
}

/// Reads a stored task of `owner`, mapping store failures to an internal error.
pub(crate) async fn read(
    store: &dyn TaskStore,
    owner: &str,
    id: &str,
) -> Result<Option<codex_mcp_store::Task>, ErrorObject> {
    store
        .get_task(owner, id)
        .await
        .map_err(|e| ErrorObject::internal(format!("cannot read task {id:?}: {e}")))
}

/// Whether a `CallToolResult` (as JSON) reports a tool error.
pub(crate) fn is_tool_error(result: Option<&Value>) -> bool {
    result
        .and_then(|r| r.get("isError"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn stored(status: StoredStatus, error: Option<&str>) -> codex_mcp_store::Task {
        let at = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        codex_mcp_store::Task {
            id: "task-1".into(),
            owner: owner_key(None),
            agent_id: None,
            tool: "chat".into(),
            call_id: None,
            status,
            status_message: Some("why".into()),
            created_at: at,
            updated_at: at,
            ttl_ms: Some(1000),
            poll_interval_ms: None,
            result: None,
            error: error.map(String::from),
        }
    }

    #[test]
    fn stored_errors_read_back_whole_or_as_internal_sentences() {
        let e = ErrorObject::invalid_params("bad").with_data(json!({"x": 1}));
        let d = detailed_of(&stored(StoredStatus::Failed, Some(&error_text(&e))), 500);
        assert_eq!(d.error, Some(e));
        assert_eq!(d.task.poll_interval_ms, Some(500));
        let d = detailed_of(
            &stored(StoredStatus::Failed, Some("the server restarted")),
            1,
        );
        assert_eq!(d.error, Some(plain_internal("the server restarted")));
        assert_eq!(
            d.error.map(|e| (e.code, e.message)),
            Some((
                codex_mcp_protocol::ErrorCode::INTERNAL_ERROR,
                "the server restarted".to_string()
            ))
        );
        let d = detailed_of(&stored(StoredStatus::Cancelled, Some("x")), 1);
        assert_eq!(d.error, None);
        assert_eq!(d.task.created_at, "2026-01-01T00:00:00.000Z");
    }

    #[test]
    fn statuses_owners_and_expiry() {
        for s in [
            TaskStatus::Working,
            TaskStatus::InputRequired,
            TaskStatus::Completed,
            TaskStatus::Failed,
            TaskStatus::Cancelled,
        ] {
            assert_eq!(protocol_status(stored_status(s)), s);
        }
        assert_ne!(owner_key(Some("anonymous")), owner_key(None));
        assert_eq!(owner_of_key(&owner_key(Some("ci"))), Some("ci".into()));
        assert_eq!(owner_of_key(&owner_key(None)), None);
        let later = DateTime::parse_from_rfc3339("2026-01-01T00:00:02Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(expired(&stored(StoredStatus::Completed, None), later));
        assert!(!expired(&stored(StoredStatus::Working, None), later));
        assert!(is_tool_error(Some(&json!({"isError": true}))));
        assert!(!is_tool_error(Some(&json!({"content": []}))));
    }
}
