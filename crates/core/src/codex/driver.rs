//! One Codex run: start it in the agent's environment, stream its events, stop it on
//! timeout or cancellation, and say exactly what happened.

use std::collections::VecDeque;
use std::time::Duration;

use codex_mcp_runtime::{AgentId, AgentRuntime, ExecEvent, ExecHandle, ExecSpec, StagedFiles};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::command::CodexCommand;
use super::events::{CodexEvent, Usage, parse_line};

/// How many stderr lines a failure report keeps.
const STDERR_TAIL_LINES: usize = 20;

/// A run to perform.
#[derive(Debug, Clone)]
pub struct CodexRun {
    /// The command line.
    pub command: CodexCommand,
    /// Environment for the process (e.g. `CODEX_HOME`); no secrets.
    pub env: Vec<(String, String)>,
    /// The prompt, written to stdin.
    pub prompt: String,
    /// Hard limit on the run.
    pub timeout: Duration,
    /// Whether Codex may write the live workspace (a writing tool in auto mode); see
    /// `ExecSpec::writes_workspace`.
    pub writes_workspace: bool,
    /// Names the process (`ExecSpec::run_id`: the call's id), so that a restarted server
    /// can re-attach to it in a runtime that keeps runs across restarts (Docker).
    pub run_id: Option<String>,
    /// Files the run moves into place as it starts (`ExecSpec::staged`).
    pub staged: Option<StagedFiles>,
}

/// What a successful run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct CodexOutcome {
    /// The thread id, for resuming.
    pub thread_id: Option<String>,
    /// The final agent message.
    pub final_message: String,
    /// The thread's running token totals after this turn.
    pub usage: Usage,
    /// Every completed item (commands run, files changed, messages).
    pub items: Vec<Value>,
    /// The last lines Codex wrote to stderr.
    pub stderr_tail: String,
}

/// Why a run produced no usable answer. Each message says what happened and, where
/// possible, what to do.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CodexError {
    /// Codex could not be started at all.
    #[error(
        "could not start Codex ({program}): {detail}. Install the Codex CLI or set CODEX_BIN (Docker runtime: CODEX_MCP_AGENT_IMAGE must have codex on its PATH; scripts/build-agent-image.sh builds one)"
    )]
    Start {
        /// The program tried.
        program: String,
        /// Why it failed.
        detail: String,
    },
    /// Codex reported a failed turn (model errors, refused requests, ...).
    #[error("Codex failed: {message}")]
    Failed {
        /// Codex's own message.
        message: String,
        /// The thread, when one was started.
        thread_id: Option<String>,
    },
    /// Codex exited without completing a turn.
    #[error("Codex exited with {} without an answer{}", code.map_or("a signal".to_string(), |c| format!("code {c}")), if stderr_tail.is_empty() { String::new() } else { format!("; stderr: {stderr_tail}") })]
    Exited {
        /// Exit code, `None` when killed by a signal.
        code: Option<i32>,
        /// The end of stderr.
        stderr_tail: String,
        /// The thread, when one was started.
        thread_id: Option<String>,
    },
    /// The turn completed but Codex gave no final message.
    #[error("Codex finished without a final message")]
    NoAnswer {
        /// The thread.
        thread_id: Option<String>,
    },
    /// The run exceeded its time limit and was stopped.
    #[error("Codex did not finish within {} s and was stopped; raise timeout_seconds for longer tasks", after.as_secs())]
    TimedOut {
        /// The limit.
        after: Duration,
        /// The thread, when one was started.
        thread_id: Option<String>,
    },
    /// The client cancelled the call; Codex was stopped.
    #[error("the call was cancelled and Codex was stopped")]
    Cancelled,
}

impl CodexError {
    /// The thread involved, if Codex got that far (so a conversation can continue).
    pub fn thread_id(&self) -> Option<&str> {
        match self {
            Self::Failed { thread_id, .. }
            | Self::Exited { thread_id, .. }
            | Self::NoAnswer { thread_id }
            | Self::TimedOut { thread_id, .. } => thread_id.as_deref(),
            Self::Start { .. } | Self::Cancelled => None,
        }
    }
}

/// Runs Codex once in `agent`'s environment. `on_event` sees every parsed event (for
/// progress). Cancellation and the timeout kill Codex and everything it started.
pub async fn run(
    runtime: &dyn AgentRuntime,
    agent: &AgentId,
    run: CodexRun,
    cancel: &CancellationToken,
    on_event: impl FnMut(&CodexEvent),
) -> Result<CodexOutcome, CodexError> {
    let program = run.command.program.clone();
    let mut spec = ExecSpec::new(run.command.argv())
        .cwd(run.command.workdir.clone())
        .stdin(run.prompt.into_bytes());
    if run.writes_workspace {
        spec = spec.writing_workspace();
    }
    if let Some(id) = run.run_id {
        spec = spec.run_id(id);
    }
    spec = spec.staged(run.staged);
    for (k, v) in run.env {
        spec = spec.env(k, v);
    }
    let handle = runtime
        .exec(agent, spec)
        .await
        .map_err(|e| CodexError::Start {
            program: program.clone(),
            detail: e.to_string(),
        })?;
    follow(handle, program, run.timeout, cancel, on_event).await
}

/// Reads a running (or re-attached) Codex process to its end: its events to `on_event`,
/// the outcome from what they said. Cancellation and `timeout` kill it.
pub async fn follow(
    mut handle: ExecHandle,
    program: String,
    timeout: Duration,
    cancel: &CancellationToken,
    mut on_event: impl FnMut(&CodexEvent),
) -> Result<CodexOutcome, CodexError> {
    let mut transcript = Transcript::default();
    let mut stderr: VecDeque<String> = VecDeque::new();
    let deadline = tokio::time::sleep(timeout);
    tokio::pin!(deadline);
    let code = loop {
        tokio::select! {
            event = handle.events.recv() => match event {
                Some(ExecEvent::Stdout(line)) => {
                    let Some(event) = parse_line(&line) else { continue };
                    on_event(&event);
                    transcript.absorb(event);
                }
                Some(ExecEvent::Stderr(line)) => {
                    stderr.push_back(line);
                    if stderr.len() > STDERR_TAIL_LINES {
                        stderr.pop_front();
                    }
                }
                Some(ExecEvent::Exited(code)) => break code,
                None => break None,
            },
            () = &mut deadline => {
                handle.kill().await;
                return Err(CodexError::TimedOut { after: timeout, thread_id: transcript.thread_id });
            }
            () = cancel.cancelled() => {
                handle.kill().await;
                return Err(CodexError::Cancelled);
            }
        }
    };
    let stderr_tail = stderr.into_iter().collect::<Vec<_>>().join("\n");
    transcript.finish(program, code, stderr_tail)
}

/// What a run's events said so far. Only `thread.started`, `agent_message` items and
/// `turn.completed` / `turn.failed` / `error` decide the outcome: the other items (commands,
/// file changes) are kept for the record but Codex does not always emit them (0.169.0 can
/// skip the `command_execution` item of a command its sandbox denied; docs/testing.md).
#[derive(Debug, Default)]
struct Transcript {
    thread_id: Option<String>,
    final_message: Option<String>,
    usage: Option<Usage>,
    items: Vec<Value>,
    failure: Option<String>,
}

impl Transcript {
    fn absorb(&mut self, event: CodexEvent) {
        match event {
            CodexEvent::ThreadStarted(id) => self.thread_id = Some(id),
            CodexEvent::ItemCompleted(item) => {
                if item.get("type").and_then(Value::as_str) == Some("agent_message") {
                    self.final_message =
                        item.get("text").and_then(Value::as_str).map(str::to_string);
                }
                self.items.push(item);
            }
            CodexEvent::TurnCompleted(u) => self.usage = Some(u),
            CodexEvent::TurnFailed(m) => self.failure = Some(m),
            CodexEvent::Error(m) => {
                self.failure.get_or_insert(m);
            }
            _ => {}
        }
    }

    /// The run's result once Codex exited with `code` (`None`: killed by a signal).
    fn finish(
        self,
        program: String,
        code: Option<i32>,
        stderr_tail: String,
    ) -> Result<CodexOutcome, CodexError> {
        let thread_id = self.thread_id;
        if let Some(message) = self.failure {
            return Err(CodexError::Failed { message, thread_id });
        }
        match (self.usage, code) {
            // The shell's "command not found": nothing of Codex ran (in a container, the
            // program is looked up on the image's PATH, so this is how a missing one shows).
            (None, Some(127)) if thread_id.is_none() => Err(CodexError::Start {
                program,
                detail: format!("not found (exit code 127: {stderr_tail})"),
            }),
            (Some(usage), Some(0)) => match self.final_message {
                Some(final_message) => Ok(CodexOutcome {
                    thread_id,
                    final_message,
                    usage,
                    items: self.items,
                    stderr_tail,
                }),
                None => Err(CodexError::NoAnswer { thread_id }),
            },
            _ => Err(CodexError::Exited {
                code,
                stderr_tail,
                thread_id,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codex::events::describe;
    use pretty_assertions::assert_eq;

    /// Feeds stdout lines as the run loop does; returns the outcome after exit code 0 and
    /// the progress messages sent on the way.
    fn replay(lines: &[&str]) -> (Result<CodexOutcome, CodexError>, Vec<String>) {
        let mut transcript = Transcript::default();
        let mut progress = Vec::new();
        for event in lines.iter().filter_map(|l| parse_line(l)) {
            progress.extend(describe(&event));
            transcript.absorb(event);
        }
        (
            transcript.finish("codex".into(), Some(0), String::new()),
            progress,
        )
    }

    const STARTED: &str = r#"{"type":"thread.started","thread_id":"t-1"}"#;
    const TURN: &str = r#"{"type":"turn.started"}"#;
    const ANSWER: &str = r#"{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"could not"}}"#;
    const DONE: &str = r#"{"type":"turn.completed","usage":{"input_tokens":20,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":10,"reasoning_output_tokens":0}}"#;

    #[test]
    fn a_denied_command_without_its_item_still_gives_the_answer() {
        // What Codex 0.169.0 printed on a fresh machine for a command its read-only sandbox
        // denied: no command_execution item at all.
        let (outcome, progress) = replay(&[STARTED, TURN, ANSWER, DONE]);
        let outcome = outcome.unwrap();
        assert_eq!(outcome.thread_id.as_deref(), Some("t-1"));
        assert_eq!(outcome.final_message, "could not");
        assert_eq!(
            outcome.usage,
            Usage {
                input_tokens: 20,
                cached_input_tokens: 0,
                output_tokens: 10,
                reasoning_output_tokens: 0
            }
        );
        assert_eq!(outcome.items.len(), 1);
        assert_eq!(
            progress,
            [
                "Codex started",
                "Codex is thinking",
                "writing the answer",
                "Codex finished"
            ]
        );
    }

    #[test]
    fn the_command_items_add_progress_but_do_not_change_the_result() {
        let begun = r#"{"type":"item.started","item":{"id":"item_0","type":"command_execution","command":"/bin/bash -lc 'echo hi > f.txt'","aggregated_output":"","exit_code":null,"status":"in_progress"}}"#;
        let ended = r#"{"type":"item.completed","item":{"id":"item_0","type":"command_execution","command":"/bin/bash -lc 'echo hi > f.txt'","aggregated_output":"/bin/bash: line 1: f.txt: Read-only file system\n","exit_code":1,"status":"failed"}}"#;
        let (with, with_progress) = replay(&[STARTED, TURN, begun, ended, ANSWER, DONE]);
        let (without, _) = replay(&[STARTED, TURN, ANSWER, DONE]);
        let (with, without) = (with.unwrap(), without.unwrap());
        assert_eq!(with.final_message, without.final_message);
        assert_eq!(with.usage, without.usage);
        assert_eq!(with.thread_id, without.thread_id);
        assert_eq!(with.items.len(), 2);
        assert_eq!(
            with_progress,
            [
                "Codex started",
                "Codex is thinking",
                "running `echo hi > f.txt`",
                "`echo hi > f.txt` exited with 1",
                "writing the answer",
                "Codex finished"
            ]
        );
    }

    #[test]
    fn a_turn_without_an_answer_is_reported_as_such() {
        let (outcome, _) = replay(&[STARTED, TURN, DONE]);
        assert_eq!(
            outcome,
            Err(CodexError::NoAnswer {
                thread_id: Some("t-1".into())
            })
        );
    }
}
