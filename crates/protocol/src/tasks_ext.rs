//! The `io.modelcontextprotocol/tasks` extension of protocol 2026-07-28 (SEP-2663):
//! long-running `tools/call`s that the server turns into tasks the client polls.
//!
//! The wire differs from the 2025-11-25 in-spec tasks: the server decides when a call
//! becomes a task (no `task` request param), answers with a flat `CreateTaskResult`
//! (`resultType: "task"` and the task's fields at the top level), inlines the result or
//! error on `tasks/get` (there is no `tasks/result` nor `tasks/list`), takes client
//! input through `tasks/update`, and names durations `ttlMs` / `pollIntervalMs`.
//! A client opts in per request by listing [`EXTENSION_ID`] under
//! `_meta["io.modelcontextprotocol/clientCapabilities"].extensions`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::ErrorObject;

/// The extension's id, under `capabilities.extensions` on both sides.
pub const EXTENSION_ID: &str = "io.modelcontextprotocol/tasks";

/// `resultType` of a `tools/call` answered with a task.
pub const RESULT_TASK: &str = "task";

/// Methods of the extension.
pub mod methods {
    /// Polls a task; a terminal task carries its result or error.
    pub const TASKS_GET: &str = "tasks/get";
    /// Delivers `inputResponses` to a task waiting in `input_required`.
    pub const TASKS_UPDATE: &str = "tasks/update";
    /// Asks the server to cancel a task (idempotent).
    pub const TASKS_CANCEL: &str = "tasks/cancel";

    /// Whether `method` belongs to the extension.
    pub fn is_task_method(method: &str) -> bool {
        matches!(method, TASKS_GET | TASKS_UPDATE | TASKS_CANCEL)
    }
}

/// Where a task is in its life. The three last ones are terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// Running.
    Working,
    /// Waiting for the client to answer `inputRequests` through `tasks/update`.
    InputRequired,
    /// Finished with a tool result (which may itself be `isError: true`).
    Completed,
    /// Ended by a protocol-level error (carried as `error`).
    Failed,
    /// Cancelled by the client.
    Cancelled,
}

impl TaskStatus {
    /// Whether the task can no longer change.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// Whether a tool may (or must) run as a task.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskSupport {
    /// Always answered synchronously.
    #[default]
    Forbidden,
    /// A task when the client declared the extension, else synchronous.
    Optional,
    /// Only as a task: a client without the extension gets `-32021`.
    Required,
}

/// The fields every task shape carries (`Task` in SEP-2663).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    /// Server-minted, unguessable id.
    pub task_id: String,
    /// Current status.
    pub status: TaskStatus,
    /// What the task is doing, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// ISO-8601 creation time.
    pub created_at: String,
    /// ISO-8601 time of the last status change.
    pub last_updated_at: String,
    /// How long after creation the task stays readable; `null`: no limit.
    pub ttl_ms: Option<u64>,
    /// How often the client should poll.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval_ms: Option<u64>,
}

/// `tasks/get`'s answer: the task, with its result (completed), error (failed) or
/// pending questions (input_required).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailedTask {
    /// The task's fields, at the top level.
    #[serde(flatten)]
    pub task: Task,
    /// The tool's result, once completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The protocol error, once failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
    /// Questions still waiting for an answer, keyed by server-minted ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_requests: Option<Map<String, Value>>,
}

/// A `CreateTaskResult` body (before era shaping adds `_meta`): the task, flat, with
/// `resultType: "task"`.
pub fn create_task_result(task: &Task) -> Value {
    let mut body = serde_json::to_value(task).unwrap_or_else(|_| json!({}));
    if let Some(obj) = body.as_object_mut() {
        obj.insert("resultType".into(), json!(RESULT_TASK));
    }
    body
}

/// Params of `tasks/get` and `tasks/cancel`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskIdParams {
    /// The task.
    pub task_id: String,
}

/// Params of `tasks/update`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateTaskParams {
    /// The task.
    pub task_id: String,
    /// Answers keyed by the ids of the task's `inputRequests`; unknown keys are ignored.
    pub input_responses: Map<String, Value>,
}

/// Whether client capabilities (the modern `_meta` object, or a legacy session's)
/// declare the extension.
pub fn declared(client_capabilities: &Value) -> bool {
    client_capabilities
        .get("extensions")
        .and_then(|e| e.get(EXTENSION_ID))
        .is_some_and(|v| !v.is_null())
}

/// `-32021` naming the extension, for task methods and task-only tools called by a
/// client that did not declare it.
pub fn missing_extension() -> ErrorObject {
    ErrorObject::missing_capability(json!({ "extensions": { EXTENSION_ID: {} } }))
}

/// `-32602` for a task id the caller cannot see (never existed, expired, or owned by
/// another bearer token: the answer is the same, so ids of others cannot be probed).
pub fn unknown_task(task_id: &str) -> ErrorObject {
    ErrorObject::invalid_params(format!("unknown task id {task_id:?}"))
        .with_data(json!({ "taskId": task_id }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use pretty_assertions::assert_eq;

    fn task(status: TaskStatus) -> Task {
        Task {
            task_id: "t1".into(),
            status,
            status_message: None,
            created_at: "2026-07-28T10:00:00Z".into(),
            last_updated_at: "2026-07-28T10:00:01Z".into(),
            ttl_ms: Some(60_000),
            poll_interval_ms: Some(500),
        }
    }

    #[test]
    fn create_task_result_is_flat_with_ms_names() {
        assert_eq!(
            create_task_result(&task(TaskStatus::Working)),
            json!({
                "resultType": "task",
                "taskId": "t1",
                "status": "working",
                "createdAt": "2026-07-28T10:00:00Z",
                "lastUpdatedAt": "2026-07-28T10:00:01Z",
                "ttlMs": 60000,
                "pollIntervalMs": 500
            })
        );
    }

    #[test]
    fn detailed_task_inlines_result_or_error_or_questions() {
        let done = DetailedTask {
            task: task(TaskStatus::Completed),
            result: Some(json!({"content": [{"type": "text", "text": "ok"}]})),
            error: None,
            input_requests: None,
        };
        let v = serde_json::to_value(&done).unwrap();
        assert_eq!(v["status"], "completed");
        assert_eq!(v["result"]["content"][0]["text"], "ok");
        assert!(v.get("error").is_none() && v.get("inputRequests").is_none());
        assert!(v.get("task").is_none() && v.get("requestState").is_none());

        let waiting = DetailedTask {
            task: task(TaskStatus::InputRequired),
            result: None,
            error: None,
            input_requests: Some(
                json!({"k": {"method": "elicitation/create", "params": {}}})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        };
        let v = serde_json::to_value(&waiting).unwrap();
        assert_eq!(v["status"], "input_required");
        assert_eq!(v["inputRequests"]["k"]["method"], "elicitation/create");
        let back: DetailedTask = serde_json::from_value(v).unwrap();
        assert_eq!(back, waiting);
    }

    #[test]
    fn ttl_without_limit_is_null_not_absent() {
        let mut t = task(TaskStatus::Working);
        t.ttl_ms = None;
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v.get("ttlMs"), Some(&Value::Null));
    }

    #[test]
    fn params_reject_malformed_input() {
        let ok: TaskIdParams = serde_json::from_value(json!({"taskId": "a", "_meta": {}})).unwrap();
        assert_eq!(ok.task_id, "a");
        for bad in [json!({}), json!({"taskId": 5}), json!({"task_id": "a"})] {
            assert!(
                serde_json::from_value::<TaskIdParams>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        let up: UpdateTaskParams =
            serde_json::from_value(json!({"taskId": "a", "inputResponses": {"k": 1}})).unwrap();
        assert_eq!(up.input_responses["k"], 1);
        for bad in [
            json!({"taskId": "a"}),
            json!({"taskId": "a", "inputResponses": []}),
            json!({"taskId": "a", "inputResponses": null}),
        ] {
            assert!(
                serde_json::from_value::<UpdateTaskParams>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn declaration_and_errors() {
        assert!(declared(&json!({"extensions": {EXTENSION_ID: {}}})));
        assert!(!declared(&json!({"extensions": {EXTENSION_ID: null}})));
        assert!(!declared(&json!({"extensions": {"other": {}}})));
        assert!(!declared(&json!({})));
        assert!(!declared(&Value::Null));
        let e = missing_extension();
        assert_eq!(e.code, ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY);
        assert_eq!(
            e.data,
            Some(json!({"requiredCapabilities": {"extensions": {EXTENSION_ID: {}}}}))
        );
        assert_eq!(unknown_task("x").code, ErrorCode::INVALID_PARAMS);
        assert!(TaskStatus::Cancelled.is_terminal() && !TaskStatus::InputRequired.is_terminal());
        assert_eq!(
            serde_json::to_value(TaskSupport::Required).unwrap(),
            json!("required")
        );
    }
}
