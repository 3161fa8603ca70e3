//! The Codex-backed tools (plan, implement, review, fix, chat, audit, debug): validate
//! the arguments, pick the agent, run Codex in its environment with progress, and turn
//! the final message into a structured result, or an error that says what happened.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use codex_mcp_protocol::tools::{CallToolResult, Tool};
use codex_mcp_tools::{ToolSpec, WorkspaceAccess};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;

use crate::agents::{AgentManager, identity, snapshot};
use crate::codex::{self, CodexCommand, CodexRun, events};
use crate::server::{RequestCtx, ToolError, ToolHandler};

static CALL_IDS: AtomicU64 = AtomicU64::new(1);

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
        let agent_id =
            identity::resolve(agent_arg.as_deref(), ctx.identity()).map_err(ToolError::Failed)?;
        ctx.progress(0.0, None, Some(format!("preparing agent {agent_id}")))
            .await;
        self.manager.call_started(&agent_id);
        let result = self.run(&call, &agent_id, &ctx).await;
        let tokens = result.as_ref().map(|(_, t)| *t).unwrap_or_default();
        self.manager.call_finished(&agent_id, tokens);
        result.map(|(r, _)| r)
    }
}

impl CodexToolHandler {
    async fn run(
        &self,
        call: &codex_mcp_tools::PreparedCall,
        agent_id: &codex_mcp_runtime::AgentId,
        ctx: &RequestCtx,
    ) -> Result<(CallToolResult, crate::codex::Usage), ToolError> {
        let manager = &self.manager;
        let runtime = manager.runtime().as_ref();
        let agent_id = agent_id.clone();
        let agent = manager.ready(&agent_id).await.map_err(ToolError::Failed)?;
        let schema = manager
            .schema_path(&agent, call.tool.name, &call.codex_output_schema)
            .await
            .map_err(ToolError::Failed)?;

        let writes = self
            .spec
            .codex()
            .is_some_and(|c| c.access == WorkspaceAccess::Writes);
        let call_id = format!(
            "{}-{}",
            std::process::id(),
            CALL_IDS.fetch_add(1, Ordering::Relaxed)
        );
        let snap = if writes {
            Some(
                snapshot::take(
                    runtime,
                    &agent,
                    &call_id,
                    !manager.config().approval.applies_changes(),
                )
                .await
                .map_err(ToolError::Failed)?,
            )
        } else {
            None
        };
        let workdir = snap
            .as_ref()
            .map_or_else(|| agent.env.workspace.clone(), |s| s.workdir.clone());
        let thread = manager.thread(&agent_id, &call.conversation_key);
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
            env: vec![("CODEX_HOME".into(), agent.env.codex_home.clone())],
            prompt: call.prompt.clone(),
            timeout: call.timeout,
        };

        // Progress flows through a channel so the event callback stays synchronous.
        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let progress_ctx = ctx.clone();
        let forward = tokio::spawn(async move {
            let mut step = 1.0;
            while let Some(message) = rx.recv().await {
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
                    manager.set_thread(&agent_id, &call.conversation_key, thread);
                }
                if let Some(snap) = &snap {
                    snap.discard(runtime, &agent).await;
                }
                return Err(ToolError::Failed(
                    codex::gone::explain(runtime, &agent_id, &error).await,
                ));
            }
        };
        if let Some(thread) = &outcome.thread_id {
            manager.set_thread(&agent_id, &call.conversation_key, thread);
        }
        let tokens = manager.call_tokens(outcome.thread_id.as_deref(), outcome.usage);
        let mut structured = match call.finish(&outcome.final_message) {
            Ok(v) => v,
            Err(e) => {
                if let Some(snap) = &snap {
                    snap.discard(runtime, &agent).await;
                }
                return Err(ToolError::Failed(format!(
                    "Codex's answer did not match the {} output schema: {e}. Raw answer: {}",
                    self.spec.name,
                    truncate(&outcome.final_message, RAW_LIMIT)
                )));
            }
        };
        if let Some(snap) = &snap {
            let mut diff = snap
                .diff_and_clean(runtime, &agent)
                .await
                .map_err(ToolError::Failed)?;
            if !diff.is_empty() && !diff.ends_with('\n') {
                diff.push('\n');
            }
            if let Some(obj) = structured.as_object_mut() {
                obj.insert("diff".into(), json!(diff));
            }
        }
        tracing::info!(
            tool = self.spec.name,
            agent = %agent_id,
            thread = outcome.thread_id.as_deref().unwrap_or("-"),
            tokens_in = tokens.input_tokens,
            tokens_out = tokens.output_tokens,
            "codex call finished"
        );
        let mut result = CallToolResult::structured(structured);
        result.content.truncate(1);
        Ok((result, tokens))
    }
}
