//! The turn service against the local runtime, a real SQLite store and a stand-in Codex
//! (a shell script printing Codex's JSONL events).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use codex_mcp_runtime::local::{LocalConfig, LocalRuntime};
use codex_mcp_store::{Call, CallOutput, CallStatus, SessionStore, SqliteStore};
use futures::StreamExt;
use pretty_assertions::assert_eq;
use serde_json::{Map, json};
use tokio_util::sync::CancellationToken;

use super::*;
use crate::agents::{AgentConfig, AgentCredentials, Approval, CredentialError, CredentialSource};

/// Hands every agent the same (fake) login.
struct FakeLogin;

#[async_trait::async_trait]
impl CredentialSource for FakeLogin {
    async fn for_agent(
        &self,
        _agent: &AgentId,
    ) -> Result<Option<AgentCredentials>, CredentialError> {
        Ok(Some(AgentCredentials {
            auth_json: b"{}".to_vec(),
            fingerprint: "fake".into(),
            env: Vec::new(),
        }))
    }
}

const ANSWER: &str = r#"{"reply":"hello","referenced_files":[],"follow_up_suggestions":[]}"#;

/// A stand-in Codex that answers `chat` at once.
fn answering_codex() -> String {
    let item = json!({"type": "item.completed", "item": {"id": "i1", "type": "agent_message", "text": ANSWER}});
    format!(
        "/bin/cat >/dev/null\n\
         echo '{{\"type\":\"thread.started\",\"thread_id\":\"t-1\"}}'\n\
         echo '{{\"type\":\"turn.started\"}}'\n\
         echo '{item}'\n\
         echo '{{\"type\":\"turn.completed\",\"usage\":{{\"input_tokens\":20,\"cached_input_tokens\":0,\"output_tokens\":10,\"reasoning_output_tokens\":0}}}}'\n"
    )
}

/// A stand-in Codex that starts a thread, writes its pid to `pid_file` and never answers.
fn hanging_codex(pid_file: &Path) -> String {
    format!(
        "echo $$ > '{}'\n\
         echo '{{\"type\":\"thread.started\",\"thread_id\":\"t-slow\"}}'\n\
         exec /bin/sleep 60\n",
        pid_file.display()
    )
}

struct Setup {
    dir: tempfile::TempDir,
    manager: Arc<AgentManager>,
    store: Arc<dyn SessionStore>,
}

impl Setup {
    fn new(codex_script: impl FnOnce(&Path) -> String) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("codex");
        std::fs::write(&program, format!("#!/bin/sh\n{}", codex_script(dir.path()))).unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        let runtime = LocalRuntime::new(
            LocalConfig::new(dir.path().join("agents")).with_kill_grace(Duration::from_millis(500)),
        );
        let store: Arc<dyn SessionStore> =
            Arc::new(SqliteStore::open(&dir.path().join("store")).unwrap());
        let config = AgentConfig {
            codex_program: program.display().to_string(),
            model: None,
            provider: None,
            approval: Approval::Suggest,
            codex_config: None,
            workspaces: Default::default(),
            max_diff_bytes: 1 << 20,
            inline_result_bytes: 64 << 10,
        };
        let manager = Arc::new(AgentManager::new(
            Arc::new(runtime),
            config,
            Some(Arc::new(FakeLogin)),
            Arc::clone(&store),
        ));
        Self {
            dir,
            manager,
            store,
        }
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.path().join("codex.pid")
    }

    fn request(&self, cancel: CancellationToken) -> TurnRequest {
        let mut arguments = Map::new();
        arguments.insert("message".into(), json!("hi"));
        TurnRequest {
            call: codex_mcp_tools::prepare("chat", &arguments).unwrap(),
            arguments,
            agent: AgentId::new("turn-test").unwrap(),
            session: None,
            cancel,
            call_id: None,
        }
    }

    /// The agent's only call, once it is no longer running.
    async fn finished_call(&self) -> Call {
        for _ in 0..100 {
            let calls = self.store.list_calls("turn-test", 10).await.unwrap();
            if let [call] = calls.as_slice()
                && call.status != CallStatus::Running
            {
                return call.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the call was never recorded as finished");
    }

    /// Waits until the stand-in Codex wrote its pid.
    async fn codex_pid(&self) -> u32 {
        for _ in 0..100 {
            if let Ok(text) = std::fs::read_to_string(self.pid_file())
                && let Ok(pid) = text.trim().parse()
            {
                return pid;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the stand-in Codex never started");
    }
}

/// Whether process `pid` is gone (or a zombie nobody will run again).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z')),
    }
}

#[tokio::test]
async fn progress_arrives_in_order_and_the_outcome_is_recorded() {
    let setup = Setup::new(|_| answering_codex());
    let mut seen = Vec::new();
    let outcome = setup
        .manager
        .run_turn(setup.request(CancellationToken::new()))
        .run_with(|p| {
            seen.push(p);
            async {}
        })
        .await
        .unwrap();
    let steps: Vec<(u64, &str)> = seen.iter().map(|p| (p.step, p.message.as_str())).collect();
    assert_eq!(
        steps,
        [
            (0, "preparing agent turn-test"),
            (1, "Codex started"),
            (2, "Codex is thinking"),
            (3, "writing the answer"),
            (4, "Codex finished"),
        ]
    );
    assert_eq!(
        outcome.structured,
        serde_json::from_str::<serde_json::Value>(ANSWER).unwrap()
    );
    assert_eq!(outcome.thread.as_deref(), Some("t-1"));
    assert_eq!(
        (outcome.tokens.input_tokens, outcome.tokens.output_tokens),
        (20, 10)
    );
    let call = setup.finished_call().await;
    assert_eq!(call.id, outcome.call_id);
    assert_eq!(call.status, CallStatus::Succeeded);
    assert_eq!(call.thread_id.as_deref(), Some("t-1"));
    // The whole result is kept for tasks, jobs and resources.
    assert_eq!(
        setup.store.get_call_output(&call.id).await.unwrap(),
        Some(CallOutput {
            result: outcome.structured.clone(),
            diff: None
        })
    );
}

#[tokio::test]
async fn cancelling_mid_turn_stops_codex_and_records_cancelled() {
    let setup = Setup::new(|dir| hanging_codex(&dir.join("codex.pid")));
    let cancel = CancellationToken::new();
    let (mut progress, outcome) = setup
        .manager
        .run_turn(setup.request(cancel.clone()))
        .into_parts();
    // Spawned, as a background job runs it: the future is Send + 'static.
    let running = tokio::spawn(outcome);
    let mut messages = Vec::new();
    while let Some(p) = progress.next().await {
        let started = p.message == "Codex started";
        messages.push(p.message);
        if started {
            break;
        }
    }
    assert_eq!(messages, ["preparing agent turn-test", "Codex started"]);
    let pid = setup.codex_pid().await;
    assert!(!gone(pid), "the stand-in Codex should be running");
    cancel.cancel();
    let result = tokio::time::timeout(Duration::from_secs(5), running)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(result, Err(AgentError::Cancelled)), "{result:?}");
    assert!(gone(pid), "Codex (pid {pid}) outlived the cancellation");
    assert_eq!(progress.next().await, None, "the stream ends with the turn");
    let call = setup.finished_call().await;
    assert_eq!(call.status, CallStatus::Cancelled);
    assert_eq!(
        call.error.as_deref(),
        Some("the call was cancelled and Codex was stopped")
    );
    assert_eq!(setup.store.get_call_output(&call.id).await.unwrap(), None);
}

#[tokio::test]
async fn dropping_the_turn_stops_codex_and_records_cancelled() {
    let setup = Setup::new(|dir| hanging_codex(&dir.join("codex.pid")));
    let (_progress, outcome) = setup
        .manager
        .run_turn(setup.request(CancellationToken::new()))
        .into_parts();
    let running = tokio::spawn(outcome);
    let pid = setup.codex_pid().await;
    running.abort();
    let call = setup.finished_call().await;
    assert_eq!(call.status, CallStatus::Cancelled);
    assert_eq!(
        call.error.as_deref(),
        Some(super::super::records::ABANDONED)
    );
    for _ in 0..100 {
        if gone(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("Codex (pid {pid}) outlived the dropped turn");
}

#[tokio::test]
async fn a_turn_cancelled_before_codex_starts_never_runs_it() {
    let setup = Setup::new(|dir| hanging_codex(&dir.join("codex.pid")));
    let cancel = CancellationToken::new();
    cancel.cancel();
    let result = setup.manager.run_turn(setup.request(cancel)).await;
    assert!(matches!(result, Err(AgentError::Cancelled)), "{result:?}");
    assert_eq!(setup.finished_call().await.status, CallStatus::Cancelled);
    assert!(
        !setup.pid_file().exists(),
        "Codex ran although the turn was cancelled"
    );
}

#[test]
fn the_stored_output_keeps_the_diff_apart() {
    let structured = serde_json::json!({ "summary": "s", "diff": "--- a\n" });
    assert_eq!(
        super::output_of(&structured),
        CallOutput {
            result: serde_json::json!({ "summary": "s" }),
            diff: Some("--- a\n".into())
        }
    );
    let odd = serde_json::json!({ "summary": "s", "diff": 3 });
    assert_eq!(
        super::output_of(&odd),
        CallOutput {
            result: odd.clone(),
            diff: None
        }
    );
}

/// Keeps the `phases` field of every `turn phases` event.
#[derive(Clone, Default)]
struct PhaseLines(Arc<std::sync::Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for PhaseLines {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        #[derive(Default)]
        struct Fields {
            message: String,
            phases: String,
        }
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                match field.name() {
                    "message" => self.message = format!("{value:?}"),
                    "phases" => self.phases = format!("{value:?}"),
                    _ => {}
                }
            }
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        if fields.message == "turn phases" {
            self.0.lock().unwrap().push(fields.phases);
        }
    }
}

#[tokio::test]
async fn the_phases_line_names_every_step_with_the_codex_process_apart_from_storing_its_thread() {
    use tracing_subscriber::layer::SubscriberExt as _;
    let lines = PhaseLines::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(lines.clone()));
    let setup = Setup::new(|_| answering_codex());
    setup
        .manager
        .run_turn(setup.request(CancellationToken::new()))
        .run_with(|_| async {})
        .await
        .unwrap();
    let lines = lines.0.lock().unwrap().clone();
    let names: Vec<Vec<&str>> = lines
        .iter()
        .map(|l| {
            l.split_whitespace()
                .filter_map(|w| w.split_once('=').map(|(name, _)| name))
                .collect()
        })
        .collect();
    assert_eq!(
        names,
        [[
            "open_call",
            "ready",
            "snapshot",
            "thread",
            "codex",
            "store_thread",
            "answer",
            "record",
            "total"
        ]]
    );
}
