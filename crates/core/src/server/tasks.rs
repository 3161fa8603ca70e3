//! Tasks of the 2026-07-28 `io.modelcontextprotocol/tasks` extension, held in memory by
//! the engine: a task-supporting `tools/call` from a client that declared the extension
//! runs detached from its HTTP request, and `tasks/get` / `tasks/update` /
//! `tasks/cancel` reach it by id.
//!
//! A task lives until its TTL passes (a sweep at each creation drops expired ones), is
//! visible only to the bearer token that created it (every other caller gets the same
//! "unknown task id" error), and asks its client for input by parking in
//! `input_required` until `tasks/update` delivers every answer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, SecondsFormat, Utc};
use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::tasks_ext::{self, DetailedTask, Task, TaskStatus};
use parking_lot::Mutex;
use rand::RngCore;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// How long a task stays readable after creation.
pub const TASK_TTL: Duration = Duration::from_secs(3600);
/// How often clients are told to poll.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Every task of a server.
#[derive(Default)]
pub(crate) struct TaskTable {
    tasks: Mutex<HashMap<String, Arc<TaskEntry>>>,
}

/// One task: its fixed facts, its changing state, and how to stop it.
pub struct TaskEntry {
    id: String,
    /// Bearer token name of the creator (`None` without tokens).
    owner: Option<String>,
    created_at: DateTime<Utc>,
    expires: Instant,
    cancel: CancellationToken,
    state: Mutex<TaskState>,
    /// Woken when `tasks/update` delivers answers or the task is cancelled.
    answered: Notify,
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

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn new_task_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("task-{hex}")
}

impl TaskTable {
    /// Creates a working task owned by `owner`; it is readable as soon as this returns.
    pub(crate) fn create(&self, owner: Option<String>) -> Arc<TaskEntry> {
        let now = Utc::now();
        let entry = Arc::new(TaskEntry {
            id: new_task_id(),
            owner,
            created_at: now,
            expires: Instant::now() + TASK_TTL,
            cancel: CancellationToken::new(),
            state: Mutex::new(TaskState {
                status: TaskStatus::Working,
                status_message: None,
                last_updated_at: now,
                result: None,
                error: None,
                input_requests: Map::new(),
                answers: Map::new(),
            }),
            answered: Notify::new(),
        });
        let mut tasks = self.tasks.lock();
        let clock = Instant::now();
        tasks.retain(|_, t| t.expires > clock);
        tasks.insert(entry.id.clone(), entry.clone());
        entry
    }

    /// The task `id` if `owner` may see it; else the extension's unknown-task error.
    pub(crate) fn find(
        &self,
        id: &str,
        owner: Option<&str>,
    ) -> Result<Arc<TaskEntry>, ErrorObject> {
        let tasks = self.tasks.lock();
        tasks
            .get(id)
            .filter(|t| t.owner.as_deref() == owner && t.expires > Instant::now())
            .cloned()
            .ok_or_else(|| tasks_ext::unknown_task(id))
    }

    /// Cancels every running task (server shutdown).
    pub(crate) fn cancel_all(&self) {
        let tasks: Vec<_> = self.tasks.lock().values().cloned().collect();
        for task in tasks {
            task.cancel();
        }
    }
}

impl TaskEntry {
    /// The task's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Fires when the task is cancelled; the running tool stops on it.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancel
    }

    /// The task's own fields, as `CreateTaskResult` and `tasks/get` show them.
    pub fn task(&self) -> Task {
        let state = self.state.lock();
        self.task_of(&state)
    }

    fn task_of(&self, state: &TaskState) -> Task {
        Task {
            task_id: self.id.clone(),
            status: state.status,
            status_message: state.status_message.clone(),
            created_at: iso(self.created_at),
            last_updated_at: iso(state.last_updated_at),
            ttl_ms: Some(u64::try_from(TASK_TTL.as_millis()).unwrap_or(u64::MAX)),
            poll_interval_ms: Some(u64::try_from(POLL_INTERVAL.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    /// The `tasks/get` view.
    pub fn detailed(&self) -> DetailedTask {
        let state = self.state.lock();
        DetailedTask {
            task: self.task_of(&state),
            result: state.result.clone(),
            error: state.error.clone(),
            input_requests: (state.status == TaskStatus::InputRequired)
                .then(|| state.input_requests.clone()),
        }
    }

    /// Moves to `status` unless the task already ended (a late result of a cancelled
    /// task is dropped). Returns whether the change happened.
    fn settle(
        &self,
        status: TaskStatus,
        result: Option<Value>,
        error: Option<ErrorObject>,
    ) -> bool {
        let mut state = self.state.lock();
        if state.status.is_terminal() {
            return false;
        }
        state.status = status;
        state.result = result;
        state.error = error;
        state.input_requests.clear();
        state.last_updated_at = Utc::now();
        true
    }

    /// The tool finished with a result (tool errors included: `isError: true`).
    pub fn complete(&self, result: Value) {
        self.settle(TaskStatus::Completed, Some(result), None);
    }

    /// The call ended with a protocol-level error.
    pub fn fail(&self, error: ErrorObject) {
        self.settle(TaskStatus::Failed, None, Some(error));
    }

    /// Cancels the task; a terminal task stays as it is (cancel is idempotent).
    pub fn cancel(&self) {
        if self.settle(TaskStatus::Cancelled, None, None) {
            self.state.lock().status_message = Some("cancelled by the client".into());
        }
        self.cancel.cancel();
        self.answered.notify_waiters();
    }

    /// Sets the human-readable status message.
    pub fn set_status_message(&self, message: impl Into<String>) {
        let mut state = self.state.lock();
        state.status_message = Some(message.into());
        state.last_updated_at = Utc::now();
    }

    /// `tasks/update`: takes answers to pending questions; keys the task did not ask
    /// (or already had answered) are ignored. The task returns to `working` once no
    /// question is left.
    pub fn deliver(&self, responses: Map<String, Value>) {
        {
            let mut state = self.state.lock();
            if state.status != TaskStatus::InputRequired {
                return;
            }
            for (key, answer) in responses {
                if state.input_requests.remove(&key).is_some() {
                    state.answers.insert(key, answer);
                }
            }
            if state.input_requests.is_empty() {
                state.status = TaskStatus::Working;
                state.last_updated_at = Utc::now();
            }
        }
        self.answered.notify_waiters();
    }

    /// Asks the client `questions` (key, method, params) and waits until every one is
    /// answered through `tasks/update`, in order; the task shows `input_required` with
    /// the still-unanswered questions meanwhile. `None`: the task ended (cancelled)
    /// before every answer came.
    pub async fn ask(&self, questions: Vec<(String, String, Value)>) -> Option<Vec<Value>> {
        let keys: Vec<String> = questions.iter().map(|(k, _, _)| k.clone()).collect();
        {
            let mut state = self.state.lock();
            if state.status.is_terminal() {
                return None;
            }
            for (key, method, params) in questions {
                state
                    .input_requests
                    .insert(key, json!({ "method": method, "params": params }));
            }
            state.status = TaskStatus::InputRequired;
            state.last_updated_at = Utc::now();
        }
        loop {
            let notified = self.answered.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut state = self.state.lock();
                if state.status == TaskStatus::Cancelled {
                    return None;
                }
                if keys.iter().all(|k| state.answers.contains_key(k)) {
                    return Some(
                        keys.iter()
                            .filter_map(|k| state.answers.remove(k))
                            .collect(),
                    );
                }
            }
            tokio::select! {
                () = &mut notified => {}
                () = self.cancel.cancelled() => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn q(key: &str) -> (String, String, Value) {
        (
            key.into(),
            "elicitation/create".into(),
            json!({"message": key}),
        )
    }

    #[test]
    fn tasks_are_found_only_by_their_owner() {
        let table = TaskTable::default();
        let mine = table.create(Some("alice".into()));
        assert!(table.find(mine.id(), Some("alice")).is_ok());
        for other in [Some("bob"), None] {
            let e = table.find(mine.id(), other).err().unwrap();
            assert_eq!(e, tasks_ext::unknown_task(mine.id()));
        }
        assert!(table.find("task-nope", Some("alice")).is_err());
    }

    #[test]
    fn terminal_states_do_not_change() {
        let table = TaskTable::default();
        let t = table.create(None);
        t.complete(json!({"content": []}));
        t.cancel();
        t.fail(ErrorObject::internal("late"));
        let d = t.detailed();
        assert_eq!(d.task.status, TaskStatus::Completed);
        assert_eq!(d.result, Some(json!({"content": []})));
        assert_eq!(d.error, None);
        assert!(t.cancellation().is_cancelled());
    }

    #[tokio::test]
    async fn partial_answers_keep_the_task_waiting() {
        let table = TaskTable::default();
        let t = table.create(None);
        let asker = {
            let t = t.clone();
            tokio::spawn(async move { t.ask(vec![q("a"), q("b")]).await })
        };
        while t.detailed().task.status != TaskStatus::InputRequired {
            tokio::task::yield_now().await;
        }
        t.deliver(json!({"a": 1, "zzz": 2}).as_object().unwrap().clone());
        let d = t.detailed();
        assert_eq!(d.task.status, TaskStatus::InputRequired);
        let left: Vec<_> = d.input_requests.unwrap().keys().cloned().collect();
        assert_eq!(left, vec!["b".to_string()]);
        t.deliver(json!({"b": 3}).as_object().unwrap().clone());
        assert_eq!(asker.await.unwrap(), Some(vec![json!(1), json!(3)]));
        assert_eq!(t.detailed().task.status, TaskStatus::Working);
    }

    #[tokio::test]
    async fn cancel_wakes_a_waiting_question() {
        let table = TaskTable::default();
        let t = table.create(None);
        let asker = {
            let t = t.clone();
            tokio::spawn(async move { t.ask(vec![q("a")]).await })
        };
        while t.detailed().task.status != TaskStatus::InputRequired {
            tokio::task::yield_now().await;
        }
        t.cancel();
        assert_eq!(asker.await.unwrap(), None);
        let d = t.detailed();
        assert_eq!(d.task.status, TaskStatus::Cancelled);
        assert_eq!(d.input_requests, None);
    }
}
