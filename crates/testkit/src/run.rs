//! Running a Codex process in a test: feed the prompt on stdin, close it, collect stdout
//! and stderr under a time limit, and read the `--json` event stream ([`CodexOutput`]).

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What a finished Codex process printed, with helpers over its JSONL events.
#[derive(Debug, Clone)]
pub struct CodexOutput {
    /// The exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Everything on stdout.
    pub stdout: String,
    /// Everything on stderr.
    pub stderr: String,
    /// Each stdout line that parsed as JSON, in order.
    pub events: Vec<Value>,
}

impl CodexOutput {
    /// Parses the JSONL lines of `stdout`.
    pub fn new(code: Option<i32>, stdout: String, stderr: String) -> Self {
        let events = stdout
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect();
        Self {
            code,
            stdout,
            stderr,
            events,
        }
    }

    /// The `type` of every event, in order: compact to assert the whole sequence.
    pub fn event_types(&self) -> Vec<String> {
        self.events
            .iter()
            .map(|e| {
                let t = e.get("type").and_then(Value::as_str).unwrap_or("?");
                match e.pointer("/item/type").and_then(Value::as_str) {
                    Some(item) => format!("{t}:{item}"),
                    None => t.to_owned(),
                }
            })
            .collect()
    }

    /// The events of this `type` (e.g. `"turn.completed"`).
    pub fn events_of(&self, event_type: &str) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| e.get("type").and_then(Value::as_str) == Some(event_type))
            .collect()
    }

    /// The `item` of every `item.completed` event whose item has this `type`
    /// (`agent_message`, `command_execution`, `error`, ...).
    pub fn completed_items(&self, item_type: &str) -> Vec<&Value> {
        self.events_of("item.completed")
            .into_iter()
            .filter_map(|e| e.get("item"))
            .filter(|i| i.get("type").and_then(Value::as_str) == Some(item_type))
            .collect()
    }

    /// `thread.started.thread_id`: the id to pass to `codex exec resume`.
    pub fn thread_id(&self) -> Option<&str> {
        self.events_of("thread.started")
            .first()
            .and_then(|e| e.get("thread_id"))
            .and_then(Value::as_str)
    }

    /// The text of every completed `agent_message` item.
    pub fn agent_messages(&self) -> Vec<&str> {
        self.completed_items("agent_message")
            .into_iter()
            .filter_map(|i| i.get("text").and_then(Value::as_str))
            .collect()
    }

    /// The last `agent_message` text: Codex's final answer.
    pub fn last_agent_message(&self) -> Option<&str> {
        self.agent_messages().last().copied()
    }

    /// The `usage` object of the last `turn.completed`.
    pub fn usage(&self) -> Option<&Value> {
        self.events_of("turn.completed")
            .last()
            .and_then(|e| e.get("usage"))
    }

    /// The `error.message` of the last `turn.failed`, if the turn failed.
    pub fn turn_failed_message(&self) -> Option<&str> {
        self.events_of("turn.failed")
            .last()
            .and_then(|e| e.pointer("/error/message"))
            .and_then(Value::as_str)
    }
}

/// Spawns `cmd` with `stdin` written to its standard input and then closed (Codex waits
/// for more prompt while stdin is open), waits at most `timeout`, and returns what it
/// printed. On timeout the process is killed and the error carries its output so far.
pub async fn run_codex(
    mut cmd: tokio::process::Command,
    stdin: &str,
    timeout: Duration,
) -> Result<CodexOutput> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().context("spawning codex")?;
    let mut input = child.stdin.take().context("codex stdin")?;
    let mut out = child.stdout.take().context("codex stdout")?;
    let mut err = child.stderr.take().context("codex stderr")?;
    let prompt = stdin.to_owned();
    let writer = tokio::spawn(async move {
        let _ = input.write_all(prompt.as_bytes()).await;
        // Dropping `input` closes Codex's stdin.
    });
    let stdout_task = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf).await;
        buf
    });
    let stderr_task = tokio::spawn(async move {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf).await;
        buf
    });
    let waited = tokio::time::timeout(timeout, child.wait()).await;
    let status = match waited {
        Ok(status) => Some(status.context("waiting for codex")?),
        Err(_) => {
            let _ = child.kill().await;
            None
        }
    };
    writer.abort();
    // A grandchild that inherited the pipes could keep them open: bound the final reads.
    let drain = Duration::from_secs(5);
    let stdout = match tokio::time::timeout(drain, stdout_task).await {
        Ok(Ok(buf)) => String::from_utf8_lossy(&buf).into_owned(),
        _ => String::new(),
    };
    let stderr = match tokio::time::timeout(drain, stderr_task).await {
        Ok(Ok(buf)) => String::from_utf8_lossy(&buf).into_owned(),
        _ => String::new(),
    };
    match status {
        Some(status) => Ok(CodexOutput::new(status.code(), stdout, stderr)),
        None => bail!(
            "codex did not finish within {timeout:?}; killed it.\nstdout:\n{stdout}\nstderr:\n{stderr}"
        ),
    }
}
