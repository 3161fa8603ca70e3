//! The 2025-11-25 task wire over the same tasks as the 2026-07-28 extension:
//! `tasks/get`, `tasks/result` (blocks until the task ends), `tasks/list`,
//! `tasks/cancel`, the requested `ttl` of a task-augmented `tools/call`, and
//! `notifications/tasks/status` on the session's stream.

use std::sync::Arc;
use std::time::Duration;

use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::jsonrpc::{Message, Notification};
use codex_mcp_protocol::tasks::{
    self as wire, ListTasksParams, TaskIdParams, TaskMetadata, WireTask,
};
use codex_mcp_protocol::tasks_ext::{DetailedTask, TaskStatus};
use serde_json::{Value, json};

use super::McpServer;
use super::context::RequestCtx;
use super::dispatch::{Outcome, encode, params_as};
use super::task_durable::is_tool_error;
use super::tasks::{Found, MIN_TASK_TTL, POLL_INTERVAL, TaskEntry, millis};
use crate::session::Session;

/// The bearer token name of the caller: tasks are visible to it alone (both wires).
pub(super) fn owner(ctx: &RequestCtx) -> Option<String> {
    ctx.identity()
        .token
        .as_ref()
        .map(|grant| grant.name.clone())
}

/// The 2025-11-25 view of a task (a tool error shows as `failed`).
fn wire_task(detailed: &DetailedTask) -> WireTask {
    WireTask::from_task(&detailed.task, is_tool_error(detailed.result.as_ref()))
}

impl McpServer {
    /// The TTL of a new task: the client's `task.ttl` when it is within
    /// [`MIN_TASK_TTL`]..=`max_task_ttl`, the default when it asked for none; out of
    /// range is invalid params naming the range.
    pub(super) fn task_ttl(
        &self,
        requested: Option<&TaskMetadata>,
    ) -> Result<Duration, ErrorObject> {
        let options = &self.inner.options;
        let Some(ms) = requested.and_then(|t| t.ttl) else {
            return Ok(options.task_ttl);
        };
        let (min, max) = (millis(MIN_TASK_TTL), millis(options.max_task_ttl));
        if !(min..=max).contains(&ms) {
            return Err(wire::ttl_out_of_range(ms, min, max));
        }
        Ok(Duration::from_millis(ms))
    }

    /// `tasks/get`, `tasks/result`, `tasks/list`, `tasks/cancel` of 2025-11-25 (only
    /// when some tool runs as a task).
    pub(super) async fn wire_task_method(
        &self,
        method: &str,
        params: Option<&Value>,
        ctx: &RequestCtx,
    ) -> Result<Outcome, ErrorObject> {
        if !self.inner.tasks_offered {
            return Err(ErrorObject::method_not_found(method));
        }
        let owner = owner(ctx);
        let owner = owner.as_deref();
        let tasks = &self.inner.tasks;
        match method {
            wire::methods::TASKS_GET => {
                let p: TaskIdParams = params_as(params, method)?;
                let found = tasks.lookup(&p.task_id, owner).await?;
                Ok(Outcome::Done(encode(wire_task(&found.detailed()))?, None))
            }
            wire::methods::TASKS_RESULT => {
                let p: TaskIdParams = params_as(params, method)?;
                let ended = self.wait_ended(&p.task_id, owner, ctx).await?;
                task_result(&p.task_id, ended).map(|value| Outcome::Done(value, None))
            }
            wire::methods::TASKS_LIST => {
                let p: ListTasksParams = params_as(params, method)?;
                let page_size = self.inner.options.page_size;
                let (items, next) = tasks.list(owner, p.cursor.as_deref(), page_size).await?;
                let listed: Vec<WireTask> = items.iter().map(wire_task).collect();
                let mut body = json!({ "tasks": listed });
                if let Some(next) = next {
                    body["nextCursor"] = json!(next);
                }
                Ok(Outcome::Done(body, None))
            }
            wire::methods::TASKS_CANCEL => {
                let p: TaskIdParams = params_as(params, method)?;
                let found = tasks.lookup(&p.task_id, owner).await?;
                let before = wire_task(&found.detailed());
                if before.status.is_terminal() {
                    return Err(wire::already_ended(&p.task_id, before.status));
                }
                match found {
                    Found::Live(task) => task.cancel(),
                    Found::Stored(_) => tasks.cancel_stored(&p.task_id).await?,
                }
                let after = tasks.lookup(&p.task_id, owner).await?;
                Ok(Outcome::Done(encode(wire_task(&after.detailed()))?, None))
            }
            other => Err(ErrorObject::method_not_found(other)),
        }
    }

    /// Waits until the task `id` has ended and returns it: a task of this process is
    /// watched; one only in the store (another replica's) is polled there.
    async fn wait_ended(
        &self,
        id: &str,
        owner: Option<&str>,
        ctx: &RequestCtx,
    ) -> Result<DetailedTask, ErrorObject> {
        loop {
            let detailed = match self.inner.tasks.lookup(id, owner).await? {
                Found::Live(task) => {
                    tokio::select! {
                        () = task.finished() => task.detailed(),
                        () = ctx.cancellation().cancelled() => {
                            return Err(ErrorObject::internal("tasks/result was cancelled"));
                        }
                    }
                }
                Found::Stored(task) => *task,
            };
            if detailed.task.status.is_terminal() {
                return Ok(detailed);
            }
            tokio::select! {
                () = tokio::time::sleep(POLL_INTERVAL) => {}
                () = ctx.cancellation().cancelled() => {
                    return Err(ErrorObject::internal("tasks/result was cancelled"));
                }
            }
        }
    }
}

/// What `tasks/result` answers for an ended task: exactly what the `tools/call` would
/// have (its result, or its JSON-RPC error), tied to the task by `_meta`; a cancelled
/// task has no result and says so.
fn task_result(id: &str, ended: DetailedTask) -> Result<Value, ErrorObject> {
    match ended.task.status {
        TaskStatus::Completed => {
            let value = ended.result.unwrap_or_else(|| json!({ "content": [] }));
            Ok(wire::with_related_task(value, id))
        }
        TaskStatus::Cancelled => Err(wire::cancelled_no_result(id)),
        _ => Err(ended.error.unwrap_or_else(|| {
            ErrorObject::internal(
                ended
                    .task
                    .status_message
                    .unwrap_or_else(|| "the task failed".into()),
            )
        })),
    }
}

/// Sends `notifications/tasks/status` (the whole task) on `session`'s stream each
/// time the task's status changes, until it ends or the session closes.
pub(super) fn spawn_status_notifier(task: Arc<TaskEntry>, session: Arc<Session>) {
    tokio::spawn(async move {
        let mut changes = task.subscribe();
        let mut last = wire_task(&task.detailed()).status;
        while !last.is_terminal() && !session.is_closed() {
            if changes.changed().await.is_err() {
                return;
            }
            let now = wire_task(&task.detailed());
            if now.status == last {
                continue;
            }
            last = now.status;
            let params = match serde_json::to_value(&now) {
                Ok(params) => params,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot encode a task status notification");
                    return;
                }
            };
            let note = Notification::new(wire::methods::TASKS_STATUS, Some(params));
            session.send_standalone(Message::Notification(note));
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use codex_mcp_protocol::tasks_ext::Task;
    use pretty_assertions::assert_eq;

    fn ended(
        status: TaskStatus,
        result: Option<Value>,
        error: Option<ErrorObject>,
    ) -> DetailedTask {
        DetailedTask {
            task: Task {
                task_id: "t".into(),
                status,
                status_message: Some("why".into()),
                created_at: "x".into(),
                last_updated_at: "x".into(),
                ttl_ms: None,
                poll_interval_ms: None,
            },
            result,
            error,
            input_requests: None,
        }
    }

    #[test]
    fn task_result_is_the_call_result_or_its_error() {
        let ok = task_result(
            "t",
            ended(TaskStatus::Completed, Some(json!({"content": []})), None),
        );
        assert_eq!(
            ok,
            Ok(json!({"content": [], "_meta": {wire::RELATED_TASK: {"taskId": "t"}}}))
        );
        let e = ErrorObject::invalid_params("bad args");
        assert_eq!(
            task_result("t", ended(TaskStatus::Failed, None, Some(e.clone()))),
            Err(e)
        );
        assert_eq!(
            task_result("t", ended(TaskStatus::Failed, None, None)),
            Err(ErrorObject::internal("why"))
        );
        assert_eq!(
            task_result("t", ended(TaskStatus::Cancelled, None, None)),
            Err(wire::cancelled_no_result("t"))
        );
    }
}
