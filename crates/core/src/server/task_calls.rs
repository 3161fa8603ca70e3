//! The engine side of tasks: turning a `tools/call` into a task (one detached-call
//! path for both task wires), and answering the 2026-07-28 extension's `tasks/get`,
//! `tasks/update` and `tasks/cancel` (the 2025-11-25 methods are in `task_wire`).

use std::sync::Arc;
use std::time::Duration;

use codex_mcp_protocol::tasks::{self as wire, WireTask};
use codex_mcp_protocol::tasks_ext::{self, TaskIdParams, UpdateTaskParams, methods};
use codex_mcp_protocol::{Era, ErrorObject};
use serde_json::{Map, Value, json};

use super::McpServer;
use super::call_limit::CallPermit;
use super::context::RequestCtx;
use super::dispatch::{Outcome, encode, params_as};
use super::jobs::Detached;
use super::registry::ToolHandler;
use super::task_wire::owner;
use super::tasks::Found;

impl McpServer {
    /// Runs `tool` as a task kept `ttl` after creation ([`Self::detach`], shared with
    /// background jobs) and answers with the era's `CreateTaskResult`.
    pub(super) async fn start_task_for(
        &self,
        tool: Arc<dyn ToolHandler>,
        name: &str,
        arguments: Map<String, Value>,
        ctx: &RequestCtx,
        permit: CallPermit,
        ttl: Duration,
    ) -> Result<Outcome, ErrorObject> {
        let entry = match self.detach(tool, name, arguments, ctx, permit, ttl).await? {
            Detached::Started(entry) => entry,
            Detached::InputRequired(pending) => return Ok(Outcome::InputRequired(pending)),
        };
        if ctx.era() == Era::Legacy {
            if let Some(session) = ctx.session() {
                super::task_wire::spawn_status_notifier(entry.clone(), Arc::clone(session));
            }
            let created = WireTask::from_task(&entry.task(), false);
            return Ok(Outcome::Done(wire::create_task_result(&created), None));
        }
        Ok(Outcome::Done(
            tasks_ext::create_task_result(&entry.task()),
            None,
        ))
    }

    /// The task methods of either wire, by the request's era.
    pub(super) async fn task_method(
        &self,
        method: &str,
        params: Option<&Value>,
        ctx: &RequestCtx,
    ) -> Result<Outcome, ErrorObject> {
        match ctx.era() {
            Era::Modern => self.extension_task_method(method, params, ctx).await,
            Era::Legacy => self.wire_task_method(method, params, ctx).await,
        }
    }

    /// `tasks/get`, `tasks/update`, `tasks/cancel` (modern era; the client must have
    /// declared the extension on this request). `tasks/get` and `tasks/cancel` also
    /// reach tasks of a previous process through the store.
    async fn extension_task_method(
        &self,
        method: &str,
        params: Option<&Value>,
        ctx: &RequestCtx,
    ) -> Result<Outcome, ErrorObject> {
        if !tasks_ext::declared(&ctx.client_capabilities()) {
            return Err(tasks_ext::missing_extension());
        }
        let owner = owner(ctx);
        let tasks = &self.inner.tasks;
        match method {
            methods::TASKS_GET => {
                let p: TaskIdParams = params_as(params, method)?;
                let task = tasks.lookup(&p.task_id, owner.as_deref()).await?;
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
                match tasks.lookup(&p.task_id, owner.as_deref()).await? {
                    Found::Live(task) => task.cancel(),
                    Found::Stored(task) if !task.task.status.is_terminal() => {
                        tasks.cancel_stored(&p.task_id).await?;
                    }
                    Found::Stored(_) => {}
                }
                Ok(Outcome::Done(json!({}), None))
            }
            other => Err(ErrorObject::method_not_found(other)),
        }
    }
}
