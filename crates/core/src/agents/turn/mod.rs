//! The turn service: one Codex turn for one agent, from admission to the call's record,
//! as codex-rs core owns a conversation turn. The MCP tools only map arguments in and the
//! outcome out; tasks and background jobs run the same [`Turn`] detached from the request.
//!
//! [`AgentManager::run_turn`] returns a [`Turn`]: a progress stream and a `Send + 'static`
//! future. The future does the work (it can be awaited in place or spawned); the stream
//! yields what Codex is doing, in order, and ends when the future does. Cancelling the
//! request's token, or dropping the future, stops Codex and records the call `cancelled`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use codex_mcp_runtime::AgentId;
use codex_mcp_store::{CallOutput, CallStatus};
use codex_mcp_tools::{PreparedCall, WorkspaceAccess};
use futures::{Stream, StreamExt};
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::records::CallEnd;
use super::snapshot;
use super::{AgentError, AgentManager, ReadyAgent};
use crate::codex::{self, CodexCommand, CodexOutcome, CodexRun, Usage, events};
use phases::Phases;
use reattach::Origin;

/// One turn to run: the validated call, who runs it, and how to stop it.
#[derive(Debug, Clone)]
pub struct TurnRequest {
    /// The tool's validated call (prompt, schema, timeout, conversation).
    pub call: PreparedCall,
    /// The raw arguments, for the record's digest.
    pub arguments: Map<String, Value>,
    /// The agent the turn runs as (already resolved and allowed).
    pub agent: AgentId,
    /// The MCP session the call came in on, for the record.
    pub session: Option<String>,
    /// Cancelling it stops Codex; the call is recorded `cancelled`.
    pub cancel: CancellationToken,
    /// The call's id when the caller chose it ([`crate::agents::records::new_call_id`]):
    /// a task binds its call before the call starts. `None`: a new one.
    pub call_id: Option<String>,
}

/// One step of a turn, in order: `step` 0 is the preparation, then one per Codex event
/// worth telling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnProgress {
    /// Counts up from 0.
    pub step: u64,
    /// What is happening, in a few words.
    pub message: String,
}

/// What a successful turn produced.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnOutcome {
    /// The call's correlation id (store, logs).
    pub call_id: String,
    /// The tool's structured result (with `diff` for writing tools).
    pub structured: Value,
    /// Tokens this turn used.
    pub tokens: Usage,
    /// The Codex thread the conversation continues on.
    pub thread: Option<String>,
}

/// The work of a turn: `Send + 'static`, so it can be spawned.
pub type TurnFuture = Pin<Box<dyn Future<Output = Result<TurnOutcome, AgentError>> + Send>>;

/// A turn's progress, in order; ends when the turn does.
#[derive(Debug)]
pub struct TurnProgressStream(mpsc::UnboundedReceiver<TurnProgress>);

impl Stream for TurnProgressStream {
    type Item = TurnProgress;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}

/// A running turn: its progress and its result.
pub struct Turn {
    progress: TurnProgressStream,
    outcome: TurnFuture,
}

impl Turn {
    /// The progress stream and the future, to be driven separately (e.g. the future
    /// spawned as a background job, the stream read by whoever watches it).
    pub fn into_parts(self) -> (TurnProgressStream, TurnFuture) {
        (self.progress, self.outcome)
    }

    /// Runs the turn here, handing each progress item to `on_progress` before the
    /// result is returned.
    pub async fn run_with<F, Fut>(self, mut on_progress: F) -> Result<TurnOutcome, AgentError>
    where
        F: FnMut(TurnProgress) -> Fut,
        Fut: Future<Output = ()>,
    {
        let (mut progress, mut outcome) = self.into_parts();
        let result = loop {
            tokio::select! {
                biased;
                Some(item) = progress.next() => on_progress(item).await,
                result = &mut outcome => break result,
            }
        };
        // The future owned the sender: what is left is buffered, then the stream ends.
        while let Some(item) = progress.next().await {
            on_progress(item).await;
        }
        result
    }
}

/// Awaiting a turn runs it without watching its progress.
impl std::future::IntoFuture for Turn {
    type Output = Result<TurnOutcome, AgentError>;
    type IntoFuture = TurnFuture;

    fn into_future(self) -> TurnFuture {
        self.outcome
    }
}

/// Where a turn's progress goes: the turn's stream, and the dashboard once the call is
/// recorded.
#[derive(Clone)]
struct Progress {
    tx: mpsc::UnboundedSender<TurnProgress>,
    step: u64,
    watched: Option<(Arc<crate::agents::live::DashboardHub>, String)>,
}

impl Progress {
    fn send(&mut self, message: String) {
        if let Some((hub, call)) = &self.watched {
            hub.call_progress(call, &message);
        }
        // Nobody listening is fine: the turn goes on.
        let _ = self.tx.send(TurnProgress {
            step: self.step,
            message,
        });
        self.step += 1;
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

/// The stored form of a structured result: the diff apart from the rest.
fn output_of(structured: &Value) -> CallOutput {
    let mut result = structured.clone();
    let diff = match result.as_object_mut().and_then(|o| o.remove("diff")) {
        Some(Value::String(diff)) => Some(diff),
        Some(other) => {
            // Not a diff after all: keep it where it was.
            if let Some(o) = result.as_object_mut() {
                o.insert("diff".into(), other);
            }
            None
        }
        None => None,
    };
    CallOutput { result, diff }
}

/// Waits for `step` unless the turn is cancelled first.
async fn unless_cancelled<T>(
    cancel: &CancellationToken,
    step: impl Future<Output = Result<T, AgentError>>,
) -> Result<T, AgentError> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => Err(AgentError::Cancelled),
        result = step => result,
    }
}

impl AgentManager {
    /// Starts one Codex turn (see the module docs). Nothing runs until the returned
    /// [`Turn`]'s future is polled.
    pub fn run_turn(self: &Arc<Self>, request: TurnRequest) -> Turn {
        self.turn_from(request, Origin::Fresh)
    }

    fn turn_from(self: &Arc<Self>, request: TurnRequest, origin: Origin) -> Turn {
        let (tx, rx) = mpsc::unbounded_channel();
        let manager = Arc::clone(self);
        let progress = Progress {
            tx,
            step: 0,
            watched: None,
        };
        Turn {
            progress: TurnProgressStream(rx),
            outcome: Box::pin(async move { manager.turn(request, origin, progress).await }),
        }
    }

    /// Records the call, runs it, records how it ended.
    async fn turn(
        self: Arc<Self>,
        request: TurnRequest,
        origin: Origin,
        mut progress: Progress,
    ) -> Result<TurnOutcome, AgentError> {
        let tool = request.call.tool.name;
        let mut phases = Phases::start();
        let record = match &origin {
            Origin::Fresh => {
                self.open_call(
                    &request.agent,
                    tool,
                    &request.arguments,
                    request.session.as_deref(),
                    request.call_id.clone(),
                )
                .await?
            }
            Origin::Reattach {
                call_id,
                started_at,
            } => self.resume_call(&request.agent, tool, call_id, *started_at),
        };
        let call_id = record.id().to_string();
        phases.mark("open_call");
        self.dashboard.call_started(
            &call_id,
            request.agent.as_str(),
            tool,
            request.cancel.clone(),
        );
        progress.watched = Some((Arc::clone(&self.dashboard), call_id.clone()));
        progress.send(format!("preparing agent {}", request.agent));
        let result = self
            .turn_steps(&request, &origin, &call_id, progress, &mut phases)
            .await;
        if let (Err(AgentError::Cancelled), Origin::Reattach { .. }) = (&result, &origin) {
            // Cancelled before (or while) re-attaching: the run must not outlive it.
            self.stop_left_run(&request.agent, &call_id).await;
        }
        let end = match &result {
            Ok(done) => CallEnd {
                status: CallStatus::Succeeded,
                error: None,
                tokens: Some(done.tokens),
                thread: done.thread.clone(),
                output: Some(output_of(&done.structured)),
            },
            Err(error) => CallEnd {
                status: error.status(),
                error: Some(error.to_string()),
                tokens: None,
                thread: error.thread().map(str::to_string),
                output: None,
            },
        };
        tracing::info!(
            call = %call_id,
            tool,
            agent = %request.agent,
            status = %end.status,
            thread = end.thread.as_deref().unwrap_or("-"),
            tokens_in = end.tokens.map_or(0, |t| t.input_tokens),
            tokens_out = end.tokens.map_or(0, |t| t.output_tokens),
            "codex call finished"
        );
        record.finish(end).await;
        phases.mark("record");
        tracing::debug!(call = %call_id, agent = %request.agent, phases = %phases.summary(), "turn phases");
        result
    }

    /// Environment, snapshot, thread, Codex, answer, diff.
    async fn turn_steps(
        &self,
        request: &TurnRequest,
        origin: &Origin,
        call_id: &str,
        progress: Progress,
        phases: &mut Phases,
    ) -> Result<TurnOutcome, AgentError> {
        let (call, agent_id, cancel) = (&request.call, &request.agent, &request.cancel);
        let runtime = self.runtime.as_ref();
        let writes = call
            .tool
            .codex()
            .is_some_and(|c| c.access == WorkspaceAccess::Writes);
        // Only a writing tool in auto mode gets the writable view of the workspace; every
        // other run sees it read-only (Docker) or sandboxed (local), and suggest mode
        // works on a scratch copy.
        let applies = writes && self.config.approval.applies_changes();
        let (agent, schema) = unless_cancelled(cancel, async {
            self.admit(agent_id).await?;
            let (agent, schema) = self
                .ready(agent_id, call_id, call.tool.name, &call.codex_output_schema)
                .await?;
            self.record_location(&agent).await;
            Ok((agent, schema))
        })
        .await?;
        phases.mark("ready");
        // Not cancelled half-way: a snapshot either exists and is cleaned up below, or
        // does not exist.
        let snap = match (writes, origin) {
            (false, _) => None,
            (true, Origin::Fresh) => {
                Some(snapshot::take(runtime, &agent, call_id, !applies).await?)
            }
            (true, Origin::Reattach { .. }) => Some(snapshot::existing(&agent, call_id, !applies)),
        };
        phases.mark("snapshot");
        // Held until this turn has stored its thread: the conversation's next turn
        // continues from it.
        let conversation = unless_cancelled(cancel, async {
            Ok(self
                .conversations
                .acquire(
                    self.store.as_ref(),
                    agent_id.as_str(),
                    &call.conversation_key,
                )
                .await?)
        })
        .await;
        let (_conversation, thread) = match (cancel.is_cancelled(), conversation) {
            (true, _) => (None, Err(AgentError::Cancelled)),
            (false, Err(e)) => (None, Err(e)),
            (false, Ok(held)) => {
                if held.is_shared() {
                    self.stop_orphaned_runs(agent_id, call_id).await;
                }
                let thread = self.thread(agent_id, &call.conversation_key).await;
                (Some(held), thread)
            }
        };
        phases.mark("thread");
        let outcome = match thread {
            Ok(thread) => {
                let workdir = match &snap {
                    Some(_) if applies => agent.env.live_workspace.clone(),
                    Some(s) => s.workdir.clone(),
                    None => agent.env.workspace.clone(),
                };
                let mut run =
                    self.codex_run(call, &agent, workdir, thread, schema, (writes, applies));
                run.run_id = Some(call_id.to_string());
                let outcome = self.codex(request, origin, run, progress, phases).await;
                if let (Ok(_), Some(tool)) = (&outcome, agent.staged_schema) {
                    self.schema_installed(agent_id, tool);
                }
                outcome
            }
            Err(e) => Err(e),
        };
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(error) => {
                if let Some(snap) = &snap {
                    snap.discard(runtime, &agent).await;
                }
                return Err(error);
            }
        };
        let thread = outcome.thread_id.clone();
        let tokens = self.call_tokens(thread.as_deref(), outcome.usage);
        let mut structured = match call.finish(&outcome.final_message) {
            Ok(v) => v,
            Err(e) => {
                if let Some(snap) = &snap {
                    snap.discard(runtime, &agent).await;
                }
                return Err(AgentError::Schema {
                    tool: call.tool.name,
                    detail: e.to_string(),
                    raw: truncate(&outcome.final_message, RAW_LIMIT),
                    thread,
                });
            }
        };
        if let Some(snap) = &snap {
            let mut diff = snap
                .diff_and_clean(runtime, &agent, self.config.max_diff_bytes)
                .await
                .map_err(|source| AgentError::Diff {
                    source,
                    thread: thread.clone(),
                })?;
            if !diff.is_empty() && !diff.ends_with('\n') {
                diff.push('\n');
            }
            if let Some(obj) = structured.as_object_mut() {
                obj.insert("diff".into(), json!(diff));
            }
        }
        phases.mark("answer");
        Ok(TurnOutcome {
            call_id: call_id.to_string(),
            structured,
            tokens,
            thread,
        })
    }

    /// The Codex process for a prepared agent, working in `workdir`; `(writes, applies)`:
    /// whether the tool writes, and whether its changes land in the live workspace.
    fn codex_run(
        &self,
        call: &PreparedCall,
        agent: &ReadyAgent,
        workdir: String,
        thread: Option<String>,
        schema: String,
        (writes, applies): (bool, bool),
    ) -> CodexRun {
        let command = CodexCommand {
            program: self.config.codex_program.clone(),
            workdir,
            resume: thread,
            output_schema: Some(schema),
            model: self.config.model.clone(),
            sandbox: self.sandbox(writes),
            config: self.config_overrides(),
        };
        CodexRun {
            command,
            env: std::iter::once(("CODEX_HOME".into(), agent.env.codex_home.clone()))
                .chain(agent.codex_env.iter().cloned())
                .collect(),
            prompt: call.prompt.clone(),
            timeout: call.timeout,
            writes_workspace: applies,
            run_id: None,
            staged: agent.staged.clone(),
        }
    }

    /// Runs Codex (or re-attaches to the call's run) with progress; remembers the
    /// thread it ran on, even when it failed. Phases `codex` (the process, from its
    /// start to its exit) and `store_thread`.
    async fn codex(
        &self,
        request: &TurnRequest,
        origin: &Origin,
        run: CodexRun,
        mut progress: Progress,
        phases: &mut Phases,
    ) -> Result<CodexOutcome, AgentError> {
        let runtime = self.runtime.as_ref();
        let on_event = |event: &events::CodexEvent| {
            if let Some(message) = events::describe(event) {
                progress.send(message);
            }
        };
        let outcome = match origin {
            Origin::Fresh => {
                codex::run(runtime, &request.agent, run, &request.cancel, on_event).await
            }
            Origin::Reattach { call_id, .. } => {
                let handle = self.left_run(request, call_id).await?;
                let program = run.command.program;
                codex::driver::follow(handle, program, run.timeout, &request.cancel, on_event).await
            }
        };
        phases.mark("codex");
        let thread = match &outcome {
            Ok(o) => o.thread_id.as_deref(),
            Err(e) => e.thread_id(),
        };
        if let Some(thread) = thread {
            self.set_thread(&request.agent, &request.call.conversation_key, thread)
                .await;
        }
        phases.mark("store_thread");
        match outcome {
            Ok(outcome) => Ok(outcome),
            Err(error) => {
                let note = codex::gone::explain(runtime, &request.agent, &error).await;
                Err(AgentError::from_codex(error, note))
            }
        }
    }
}

mod phases;
mod reattach;
#[cfg(test)]
mod tests;
