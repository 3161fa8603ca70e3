//! The in-spec tasks of protocol 2025-11-25 (experimental there): a client asks for a
//! `tools/call` to run as a task by adding `params.task` (with an optional `ttl`), gets
//! a `CreateTaskResult` (`{"task": {...}}`) at once, then polls with `tasks/get`, waits
//! for the tool's own result with `tasks/result`, lists its tasks with `tasks/list`,
//! and cancels with `tasks/cancel`.
//!
//! The task itself is the same as in the 2026-07-28 extension ([`crate::tasks_ext`]);
//! only the wire differs: durations are named `ttl` / `pollInterval`, the
//! `CreateTaskResult` nests the task under `task`, results come from `tasks/result`,
//! and a tool result with `isError: true` shows as status `failed`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ErrorObject;
use crate::tasks_ext::{self, TaskStatus, TaskSupport};

/// `_meta` key tying a message to its task (`{"taskId": ...}`).
pub const RELATED_TASK: &str = "io.modelcontextprotocol/related-task";

/// Methods and notifications of the 2025-11-25 tasks utility.
pub mod methods {
    /// A task's current state.
    pub const TASKS_GET: &str = "tasks/get";
    /// Blocks until the task ends, then answers what the wrapped request would have.
    pub const TASKS_RESULT: &str = "tasks/result";
    /// The caller's tasks, cursor-paginated.
    pub const TASKS_LIST: &str = "tasks/list";
    /// Cancels a running task; a task that already ended is refused.
    pub const TASKS_CANCEL: &str = "tasks/cancel";
    /// Sent by the server when a task's status changes.
    pub const TASKS_STATUS: &str = "notifications/tasks/status";

    /// Whether `method` is a task method of either era (2025-11-25 or the 2026-07-28
    /// extension).
    pub fn is_any_task_method(method: &str) -> bool {
        matches!(method, TASKS_RESULT | TASKS_LIST)
            || crate::tasks_ext::methods::is_task_method(method)
    }
}

/// `params.task` of a task-augmented request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskMetadata {
    /// Requested lifetime from creation, in milliseconds (the server may cap it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
}

/// A task on the 2025-11-25 wire (`Task` in its schema).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireTask {
    /// Server-minted, unguessable id.
    pub task_id: String,
    /// Current status (`failed` also for a tool result with `isError: true`).
    pub status: TaskStatus,
    /// What the task is doing, or why it failed, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// ISO-8601 creation time.
    pub created_at: String,
    /// ISO-8601 time of the last change.
    pub last_updated_at: String,
    /// Lifetime from creation in milliseconds; `null`: no limit.
    pub ttl: Option<u64>,
    /// Suggested polling interval in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval: Option<u64>,
}

impl WireTask {
    /// The 2025-11-25 view of a task; `tool_failed` tells whether its (completed)
    /// result is a tool error, which this wire reports as `failed`.
    pub fn from_task(task: &tasks_ext::Task, tool_failed: bool) -> Self {
        let status = match task.status {
            TaskStatus::Completed if tool_failed => TaskStatus::Failed,
            other => other,
        };
        Self {
            task_id: task.task_id.clone(),
            status,
            status_message: task.status_message.clone(),
            created_at: task.created_at.clone(),
            last_updated_at: task.last_updated_at.clone(),
            ttl: task.ttl_ms,
            poll_interval: task.poll_interval_ms,
        }
    }
}

/// Params of `tasks/get`, `tasks/result` and `tasks/cancel`.
pub type TaskIdParams = tasks_ext::TaskIdParams;

/// Params of `tasks/list`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ListTasksParams {
    /// The `nextCursor` of the previous page.
    #[serde(default)]
    pub cursor: Option<String>,
}

/// `CreateTaskResult`: the new task under `task`.
pub fn create_task_result(task: &WireTask) -> Value {
    json!({ "task": task })
}

/// The `tasks` server capability: list, cancel and task-augmented `tools/call`.
pub fn server_capability() -> Value {
    json!({ "list": {}, "cancel": {}, "requests": { "tools": { "call": {} } } })
}

/// A tool's `execution` member in `tools/list`, or `None` for tools that never run as
/// tasks (the absent member means `forbidden`).
pub fn execution(support: TaskSupport) -> Option<Value> {
    (support != TaskSupport::Forbidden).then(|| json!({ "taskSupport": support }))
}

/// Adds `_meta[RELATED_TASK]` to a result object (keeping its other `_meta` keys).
pub fn with_related_task(mut result: Value, task_id: &str) -> Value {
    if let Some(obj) = result.as_object_mut() {
        let meta = obj.entry("_meta").or_insert_with(|| json!({}));
        if !meta.is_object() {
            *meta = json!({});
        }
        if let Some(meta) = meta.as_object_mut() {
            meta.insert(RELATED_TASK.into(), json!({ "taskId": task_id }));
        }
    }
    result
}

/// `-32602` for cancelling a task that already ended (the spec's required code).
pub fn already_ended(task_id: &str, status: TaskStatus) -> ErrorObject {
    let status = serde_json::to_value(status).unwrap_or(Value::Null);
    ErrorObject::invalid_params(format!(
        "task {task_id:?} already ended ({}); only a working task can be cancelled",
        status.as_str().unwrap_or("ended")
    ))
    .with_data(json!({ "taskId": task_id, "status": status }))
}

/// `-32602` for `tasks/result` of a cancelled task: there is no result to give.
pub fn cancelled_no_result(task_id: &str) -> ErrorObject {
    ErrorObject::invalid_params(format!(
        "task {task_id:?} was cancelled before it finished; it has no result"
    ))
    .with_data(json!({ "taskId": task_id, "status": "cancelled" }))
}

/// `-32602` for a requested `ttl` outside what the server allows.
pub fn ttl_out_of_range(requested: u64, min_ms: u64, max_ms: u64) -> ErrorObject {
    ErrorObject::invalid_params(format!(
        "task.ttl {requested} ms is out of range: this server keeps tasks from {min_ms} to \
         {max_ms} ms; ask for a ttl in that range or leave it out for the default"
    ))
    .with_data(json!({ "ttl": requested, "min": min_ms, "max": max_ms }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use pretty_assertions::assert_eq;

    fn task(status: TaskStatus) -> tasks_ext::Task {
        tasks_ext::Task {
            task_id: "t1".into(),
            status,
            status_message: Some("thinking".into()),
            created_at: "2025-11-25T10:00:00Z".into(),
            last_updated_at: "2025-11-25T10:00:01Z".into(),
            ttl_ms: Some(60_000),
            poll_interval_ms: Some(500),
        }
    }

    #[test]
    fn wire_task_uses_the_2025_names_and_nests_in_create() {
        let wire = WireTask::from_task(&task(TaskStatus::Working), false);
        assert_eq!(
            create_task_result(&wire),
            json!({"task": {
                "taskId": "t1",
                "status": "working",
                "statusMessage": "thinking",
                "createdAt": "2025-11-25T10:00:00Z",
                "lastUpdatedAt": "2025-11-25T10:00:01Z",
                "ttl": 60000,
                "pollInterval": 500
            }})
        );
        let mut unlimited = task(TaskStatus::Working);
        unlimited.ttl_ms = None;
        let v = serde_json::to_value(WireTask::from_task(&unlimited, false)).unwrap();
        assert_eq!(v.get("ttl"), Some(&Value::Null));
    }

    #[test]
    fn a_tool_error_shows_as_failed_on_this_wire_only() {
        let done = task(TaskStatus::Completed);
        assert_eq!(WireTask::from_task(&done, true).status, TaskStatus::Failed);
        assert_eq!(
            WireTask::from_task(&done, false).status,
            TaskStatus::Completed
        );
        let cancelled = task(TaskStatus::Cancelled);
        assert_eq!(
            WireTask::from_task(&cancelled, true).status,
            TaskStatus::Cancelled
        );
    }

    #[test]
    fn related_task_is_merged_into_meta() {
        let r = with_related_task(json!({"content": [], "_meta": {"a": 1}}), "t1");
        assert_eq!(
            r,
            json!({"content": [], "_meta": {"a": 1, RELATED_TASK: {"taskId": "t1"}}})
        );
        let r = with_related_task(json!({"content": [], "_meta": 5}), "t2");
        assert_eq!(r["_meta"], json!({RELATED_TASK: {"taskId": "t2"}}));
    }

    #[test]
    fn params_capability_and_errors() {
        let m: TaskMetadata = serde_json::from_value(json!({"ttl": 5000})).unwrap();
        assert_eq!(m.ttl, Some(5000));
        for bad in [
            json!({"ttl": -1}),
            json!({"ttl": "5s"}),
            json!({"ttl": 1.5}),
        ] {
            assert!(
                serde_json::from_value::<TaskMetadata>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        let l: ListTasksParams = serde_json::from_value(json!({})).unwrap();
        assert_eq!(l.cursor, None);
        assert_eq!(
            server_capability(),
            json!({"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}})
        );
        assert_eq!(execution(TaskSupport::Forbidden), None);
        assert_eq!(
            execution(TaskSupport::Optional),
            Some(json!({"taskSupport": "optional"}))
        );
        let e = already_ended("t1", TaskStatus::Completed);
        assert_eq!(e.code, ErrorCode::INVALID_PARAMS);
        assert!(
            e.message.contains("already ended (completed)"),
            "{}",
            e.message
        );
        assert!(cancelled_no_result("t1").message.contains("cancelled"));
        let e = ttl_out_of_range(0, 1000, 86_400_000);
        assert!(e.message.contains("0 ms is out of range"), "{}", e.message);
        assert!(methods::is_any_task_method("tasks/list"));
        assert!(methods::is_any_task_method("tasks/update"));
        assert!(!methods::is_any_task_method("tasks/delete"));
    }
}
