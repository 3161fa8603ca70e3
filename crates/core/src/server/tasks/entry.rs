//! One task's life: its status as the wire shows it, the changes its waiters and the store
//! hear of, and the questions it parks on until `tasks/update` answers them.

use std::time::Instant;

use chrono::Utc;

use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::tasks_ext::{DetailedTask, Task, TaskStatus};
use serde_json::{Map, Value, json};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::{POLL_INTERVAL, TaskEntry, TaskState, millis};
use codex_mcp_store::{TaskFinish, TaskProgress};

use crate::server::task_durable::{self, Write, iso, stored_status};

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
            ttl_ms: Some(millis(self.ttl)),
            poll_interval_ms: Some(millis(POLL_INTERVAL)),
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

    /// Whether the task ended and its TTL passed (running tasks never expire).
    pub(super) fn expired(&self) -> bool {
        self.expires <= Instant::now() && self.state.lock().status.is_terminal()
    }

    /// Watches the task: the value changes on every change of status or message.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Waits until the task has ended.
    pub async fn finished(&self) {
        let mut changes = self.subscribe();
        loop {
            if self.state.lock().status.is_terminal() {
                return;
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// Records a change of a running task's status or message in the store and tells
    /// watchers.
    fn record_change(&self, state: &TaskState) {
        if let Some(writer) = &self.writer {
            writer.send(Write::Progress(
                self.id.clone(),
                TaskProgress {
                    status: stored_status(state.status),
                    status_message: state.status_message.clone(),
                    at: state.last_updated_at,
                },
            ));
        }
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
    }

    /// Moves to `status` unless the task already ended (a late result of a cancelled
    /// task is dropped). Returns whether the change happened.
    fn settle(
        &self,
        status: TaskStatus,
        result: Option<Value>,
        error: Option<ErrorObject>,
        message: Option<String>,
    ) -> bool {
        {
            let mut state = self.state.lock();
            if state.status.is_terminal() {
                return false;
            }
            state.status = status;
            state.input_requests.clear();
            state.last_updated_at = Utc::now();
            if message.is_some() {
                state.status_message = message;
            }
            if let Some(writer) = &self.writer {
                writer.send(Write::Finish(
                    self.id.clone(),
                    TaskFinish {
                        status: stored_status(status),
                        status_message: state.status_message.clone(),
                        result: result.clone(),
                        error: error.as_ref().map(task_durable::error_text),
                        at: state.last_updated_at,
                    },
                ));
            }
            state.result = result;
            state.error = error;
        }
        self.changed.send_modify(|v| *v = v.wrapping_add(1));
        true
    }

    /// The tool finished with a result (tool errors included: `isError: true`).
    pub fn complete(&self, result: Value) {
        self.settle(TaskStatus::Completed, Some(result), None, None);
    }

    /// The call ended with a protocol-level error (its message becomes the status
    /// message).
    pub fn fail(&self, error: ErrorObject) {
        let message = error.message.clone();
        self.settle(TaskStatus::Failed, None, Some(error), Some(message));
    }

    /// Cancels the task; a terminal task stays as it is (cancel is idempotent).
    pub fn cancel(&self) {
        self.settle(
            TaskStatus::Cancelled,
            None,
            None,
            Some("cancelled by the client".into()),
        );
        self.cancel.cancel();
        self.answered.notify_waiters();
    }

    /// Sets the human-readable status message (an ended task keeps its own).
    pub fn set_status_message(&self, message: impl Into<String>) {
        let mut state = self.state.lock();
        if state.status.is_terminal() {
            return;
        }
        state.status_message = Some(message.into());
        state.last_updated_at = Utc::now();
        self.record_change(&state);
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
                self.record_change(&state);
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
            self.record_change(&state);
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
