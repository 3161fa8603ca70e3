//! The engine side of tasks: turning a `tools/call` into a task (one detached-call
//! path for both task wires), and answering the 2026-07-28 extension's `tasks/get`,
//! `tasks/update` and `tasks/cancel` (the 2025-11-25 methods are in `task_wire`).

use std::sync::Arc;
use std::time::Duration;

use codex_mcp_protocol::tasks::{self as wire, WireTask};
use codex_mcp_protocol::tasks_ext::{self, TaskIdParams, UpdateTaskParams, methods};
use codex_mcp_protocol::tools::CallToolResult;
use codex_mcp_protocol::{Era, ErrorObject};
use serde_json::{Map, Value, json};
use tracing::Instrument as _;

use super::McpServer;
use super::call_limit::CallPermit;
use super::context::{AskError, RequestCtx};
use super::correlation;
use super::dispatch::{Outcome, encode, params_as};
use super::registry::{ToolError, ToolHandler};
use super::task_wire::owner;
use super::tasks::{Found, TaskSpec};

/// How long a cancelled task's call may take to stop on its own before it is dropped.
const CANCEL_GRACE: Duration = Duration::from_secs(5);

impl McpServer {
    /// Runs `tool` as a task kept for the default TTL; see [`Self::start_task_for`].
    /// (Kept for callers that start tasks without a client-chosen TTL, e.g. jobs.)
    #[allow(dead_code)]
    pub(super) async fn start_task(
        &self,
        tool: Arc<dyn ToolHandler>,
        name: &str,
        arguments: Map<String, Value>,
        ctx: &RequestCtx,
        permit: CallPermit,
    ) -> Result<Outcome, ErrorObject> {
        let ttl = self.inner.options.task_ttl;
        self.start_task_for(tool, name, arguments, ctx, permit, ttl)
            .await
    }

    /// Runs `tool` as a task kept `ttl` after creation: asks the tool's up-front
    /// questions first (multi round-trip), then creates the task (readable by
    /// `tasks/get` and recorded in the store before this returns), starts the call
    /// detached from the request and answers with the era's `CreateTaskResult`.
    pub(super) async fn start_task_for(
        &self,
        tool: Arc<dyn ToolHandler>,
        name: &str,
        arguments: Map<String, Value>,
        ctx: &RequestCtx,
        permit: CallPermit,
        ttl: Duration,
    ) -> Result<Outcome, ErrorObject> {
        let before = tool.questions_before_task();
        if !before.is_empty() {
            match ctx.ask_many(before).await {
                Ok(_) => {}
                Err(AskError::Pending(pending)) => return Ok(Outcome::InputRequired(pending)),
                Err(other) => return Err(ErrorObject::invalid_params(other)),
            }
        }
        let spec = TaskSpec {
            tool: name.to_string(),
            ttl,
        };
        let entry = self.inner.tasks.create_with(owner(ctx), spec);
        self.inner.tasks.flush().await;
        let task_ctx = ctx.for_task(entry.clone());
        let correlation_id = correlation::new_id("call");
        let span = tracing::info_span!(
            "tool_call",
            correlation_id = %correlation_id,
            tool = %name,
            task = %entry.id()
        );
        let call = correlation::scope(
            correlation_id,
            async move { tool.call(arguments, task_ctx).await }.instrument(span),
        );
        let task = entry.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let mut running = tokio::spawn(call);
            let joined = tokio::select! {
                joined = &mut running => joined,
                () = task.cancellation().cancelled() => {
                    // The call sees the same token (a Codex turn stops its process on
                    // it); it gets a moment to clean up before it is dropped.
                    if tokio::time::timeout(CANCEL_GRACE, &mut running).await.is_err() {
                        running.abort();
                    }
                    return;
                }
            };
            match joined {
                Ok(Ok(result)) => match encode(result) {
                    Ok(value) => task.complete(value),
                    Err(e) => task.fail(e),
                },
                Ok(Err(ToolError::Failed(message))) => {
                    match encode(CallToolResult::error(message)) {
                        Ok(value) => task.complete(value),
                        Err(e) => task.fail(e),
                    }
                }
                Ok(Err(ToolError::Protocol(error))) => task.fail(error),
                Ok(Err(ToolError::Pending(_))) => task.fail(ErrorObject::internal(
                    "the tool asked for input without its task",
                )),
                Err(join) => task.fail(ErrorObject::internal(format!("the tool stopped: {join}"))),
            }
        });
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
