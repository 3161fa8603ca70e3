//! The Codex-backed tools (plan, implement, review, fix, chat, audit, debug): validate
//! the arguments, pick the agent, run Codex in its environment with progress, and turn
//! the final message into a structured result, or an error that says what happened.

use std::sync::Arc;

use async_trait::async_trait;
use codex_mcp_protocol::tools::{CallToolResult, Tool};
use codex_mcp_store::CallStatus;
use codex_mcp_tools::{ToolSpec, WorkspaceAccess};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::agents::records::{self, CallEnd};
use crate::agents::{AgentManager, snapshot};
use crate::codex::{self, CodexCommand, CodexRun, events};
use crate::server::{RequestCtx, ToolError, ToolHandler};

/// A Codex tool from the catalogue, served through an agent manager.
pub struct CodexToolHandler {
    spec: &'static ToolSpec,
    manager: Arc<AgentManager>,
}

impl CodexToolHandler {
    /// Serves `spec` with `manager`.
    pub fn new(spec: &'static ToolSpec, manager: Arc<AgentManager>) -> Self {
        Self { spec, manager }
    }
}

/// Keeps at most this many bytes of an unparseable final message in an error.
const RAW_LIMIT: usize = 4000;

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &s[..end], s.len())
}

#[async_trait]
impl ToolHandler for CodexToolHandler {
    fn definition(&self) -> Tool {
        self.spec.to_mcp_tool()
    }

    async fn call(
        &self,
        arguments: Map<String, Value>,
        ctx: RequestCtx,
    ) -> Result<CallToolResult, ToolError> {
        let call = codex_mcp_tools::prepare(self.spec.name, &arguments)
            .map_err(|e| ToolError::Failed(e.to_string()))?;
        let agent_arg = call.agent_id.as_ref().map(|a| a.to_string());
        let agent_id = self
            .manager
            .resolve_agent(agent_arg.as_deref(), ctx.identity())
            .map_err(ToolError::Failed)?;
        let record = self
            .manager
            .open_call(
                &agent_id,
                self.spec.name,
                &arguments,
                ctx.identity().session_id.as_deref(),
            )
            .await
            .map_err(ToolError::Failed)?;
        let hub = self.manager.dashboard();
        hub.call_started(
            record.id(),
            agent_id.as_str(),
            self.spec.name,
            ctx.cancellation().clone(),
        );
        ctx.progress(0.0, None, Some(format!("preparing agent {agent_id}")))
            .await;
        let result = self.run(&call, &agent_id, record.id(), &ctx).await;
        let end = match &result {
            Ok(done) => CallEnd {
                status: CallStatus::Succeeded,
                error: None,
                tokens: Some(done.tokens),
                thread: done.thread.clone(),
            },
            Err(failure) => CallEnd {
                status: failure.status,
                error: Some(failure.message.clone()),
                tokens: None,
                thread: failure.thread.clone(),
            },
        };
        tracing::info!(
            call = record.id(),
            tool = self.spec.name,
            agent = %agent_id,
            status = %end.status,
            thread = end.thread.as_deref().unwrap_or("-"),
            tokens_in = end.tokens.map_or(0, |t| t.input_tokens),
            tokens_out = end.tokens.map_or(0, |t| t.output_tokens),
            "codex call finished"
        );
        record.finish(end).await;
        result
            .map(|done| done.result)
            .map_err(|failure| ToolError::Failed(failure.message))
    }
}

/// A call that Codex answered.
struct Done {
    result: CallToolResult,
    tokens: crate::codex::Usage,
    thread: Option<String>,
}

/// A call that failed, with what its record needs.
struct Failure {
    status: CallStatus,
    message: String,
    thread: Option<String>,
}

impl Failure {
    /// A failure before or after Codex ran (the thread, if any, is already known).
    fn failed(message: String, thread: Option<String>) -> Self {
        Self {
            status: CallStatus::Failed,
            message,
            thread,
        }
    }
}

impl CodexToolHandler {
    async fn run(
        &self,
        call: &codex_mcp_tools::PreparedCall,
        agent_id: &codex_mcp_runtime::AgentId,
        call_id: &str,
        ctx: &RequestCtx,
    ) -> Result<Done, Failure> {
        let manager = &self.manager;
        let runtime = manager.runtime().as_ref();
        let agent_id = agent_id.clone();
        let fail = |message: String| Failure::failed(message, None);
        manager.admit(&agent_id).await.map_err(fail)?;
        let agent = manager.ready(&agent_id).await.map_err(fail)?;
        manager.record_location(&agent).await;
        let schema = manager
            .schema_path(&agent, call.tool.name, &call.codex_output_schema)
            .await
            .map_err(fail)?;

        let writes = self
            .spec
            .codex()
            .is_some_and(|c| c.access == WorkspaceAccess::Writes);
        // Only a writing tool in auto mode gets the writable view of the workspace; every
        // other run sees it read-only (Docker) or sandboxed (local), and suggest mode
        // works on a scratch copy.
        let applies = writes && manager.config().approval.applies_changes();
        let snap = if writes {
            Some(
                snapshot::take(runtime, &agent, call_id, !applies)
                    .await
                    .map_err(fail)?,
            )
        } else {
            None
        };
        let workdir = match &snap {
            Some(_) if applies => agent.env.live_workspace.clone(),
            Some(s) => s.workdir.clone(),
            None => agent.env.workspace.clone(),
        };
        let thread = manager
            .thread(&agent_id, &call.conversation_key)
            .await
            .map_err(fail)?;
        let command = CodexCommand {
            program: manager.config().codex_program.clone(),
            workdir,
            resume: thread.clone(),
            output_schema: Some(schema),
            model: manager.config().model.clone(),
            sandbox: manager.sandbox(writes),
            config: manager.config_overrides(),
        };
        let run = CodexRun {
            command,
            env: std::iter::once(("CODEX_HOME".into(), agent.env.codex_home.clone()))
                .chain(agent.codex_env.iter().cloned())
                .collect(),
            prompt: call.prompt.clone(),
            timeout: call.timeout,
            writes_workspace: applies,
        };

        // Progress flows through a channel so the event callback stays synchronous.
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let progress_ctx = ctx.clone();
        let (hub, id) = (Arc::clone(manager.dashboard()), call_id.to_string());
        let forward = tokio::spawn(async move {
            let mut step = 1.0;
            while let Some(message) = rx.recv().await {
                hub.call_progress(&id, &message);
                progress_ctx.progress(step, None, Some(message)).await;
                step += 1.0;
            }
        });
        let outcome = codex::run(runtime, &agent_id, run, ctx.cancellation(), |event| {
            if let Some(message) = events::describe(event) {
                let _ = tx.send(message);
            }
        })
        .await;
        drop(tx);
        let _ = forward.await;

        let outcome = match outcome {
            Ok(o) => o,
            Err(error) => {
                if let Some(thread) = error.thread_id() {
                    manager
                        .set_thread(&agent_id, &call.conversation_key, thread)
                        .await;
                }
                if let Some(snap) = &snap {
                    snap.discard(runtime, &agent).await;
                }
                return Err(Failure {
                    status: records::failure_status(&error),
                    message: codex::gone::explain(runtime, &agent_id, &error).await,
                    thread: error.thread_id().map(str::to_string),
                });
            }
        };
        if let Some(thread) = &outcome.thread_id {
            manager
                .set_thread(&agent_id, &call.conversation_key, thread)
                .await;
        }
        let thread = outcome.thread_id.clone();
        let tokens = manager.call_tokens(outcome.thread_id.as_deref(), outcome.usage);
        let mut structured = match call.finish(&outcome.final_message) {
            Ok(v) => v,
            Err(e) => {
                if let Some(snap) = &snap {
                    snap.discard(runtime, &agent).await;
                }
                return Err(Failure::failed(
                    format!(
                        "Codex's answer did not match the {} output schema: {e}. Raw answer: {}",
                        self.spec.name,
                        truncate(&outcome.final_message, RAW_LIMIT)
                    ),
                    thread,
                ));
            }
        };
        if let Some(snap) = &snap {
            let mut diff = snap
                .diff_and_clean(runtime, &agent, manager.config().max_diff_bytes)
                .await
                .map_err(|e| Failure::failed(e, thread.clone()))?;
            if !diff.is_empty() && !diff.ends_with('\n') {
                diff.push('\n');
            }
            if let Some(obj) = structured.as_object_mut() {
                obj.insert("diff".into(), json!(diff));
            }
        }
        let mut result = CallToolResult::structured(structured);
        result.content.truncate(1);
        Ok(Done {
            result,
            tokens,
            thread,
        })
    }
}
