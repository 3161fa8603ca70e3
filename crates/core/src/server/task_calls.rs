//! The engine side of the 2026-07-28 tasks extension: turning a `tools/call` into a
//! task, and answering `tasks/get`, `tasks/update` and `tasks/cancel`.

use std::sync::Arc;

use codex_mcp_protocol::tasks_ext::{self, TaskIdParams, UpdateTaskParams, methods};
use codex_mcp_protocol::{Era, ErrorObject};
use serde_json::{Map, Value, json};

use super::McpServer;
use super::call_limit::CallPermit;
use super::context::RequestCtx;
use super::dispatch::{Outcome, encode, params_as};
use super::jobs::Detached;
use super::registry::ToolHandler;

/// The bearer token name of the caller: tasks (and jobs) are visible to it alone.
pub(super) fn owner(ctx: &RequestCtx) -> Option<String> {
    ctx.identity()
        .token
        .as_ref()
        .map(|grant| grant.name.clone())
}

impl McpServer {
    /// Runs `tool` as a task ([`Self::detach`], shared with background jobs) and
    /// answers with the `CreateTaskResult`.
    pub(super) async fn start_task(
        &self,
        tool: Arc<dyn ToolHandler>,
        name: &str,
        arguments: Map<String, Value>,
        ctx: &RequestCtx,
        permit: CallPermit,
    ) -> Result<Outcome, ErrorObject> {
        let entry = match self.detach(tool, name, arguments, ctx, permit).await? {
            Detached::Started(entry) => entry,
            Detached::InputRequired(pending) => return Ok(Outcome::InputRequired(pending)),
        };
        Ok(Outcome::Done(
            tasks_ext::create_task_result(&entry.task()),
            None,
        ))
    }

    /// `tasks/get`, `tasks/update`, `tasks/cancel` (modern era; the client must have
    /// declared the extension on this request).
    pub(super) fn task_method(
        &self,
        method: &str,
        params: Option<&Value>,
        ctx: &RequestCtx,
    ) -> Result<Outcome, ErrorObject> {
        if ctx.era() != Era::Modern {
            return Err(ErrorObject::method_not_found(method));
        }
        if !tasks_ext::declared(&ctx.client_capabilities()) {
            return Err(tasks_ext::missing_extension());
        }
        let owner = owner(ctx);
        let tasks = &self.inner.tasks;
        match method {
            methods::TASKS_GET => {
                let p: TaskIdParams = params_as(params, method)?;
                let task = tasks.find(&p.task_id, owner.as_deref())?;
                Ok(Outcome::Done(encode(task.detailed())?, None))
            }
            methods::TASKS_UPDATE => {
                let p: UpdateTaskParams = params_as(params, method)?;
                tasks
                    .find(&p.task_id, owner.as_deref())?
                    .deliver(p.input_responses);
                Ok(Outcome::Done(json!({}), None))
            }
            methods::TASKS_CANCEL => {
                let p: TaskIdParams = params_as(params, method)?;
                tasks.find(&p.task_id, owner.as_deref())?.cancel();
                Ok(Outcome::Done(json!({}), None))
            }
            other => Err(ErrorObject::method_not_found(other)),
        }
    }
}
