//! Issue 12's acceptance for long runs (local runtime, the real Codex, a scripted model
//! that streams reasoning for [`LONG_RUN`] before it answers): three clients at once,
//! each on its own agent, so the suite pays the long run once.
//!
//! - a task-aware client of the 2025-11-25 wire (raw JSON-RPC in a legacy session):
//!   a task-augmented `tools/call`, `tasks/get` until `completed`, then `tasks/result`;
//! - a task-aware client of the 2026-07-28 `io.modelcontextprotocol/tasks` extension:
//!   the task is created, then `tasks/get` until it carries the result;
//! - a Claude-Code-style foreground call with a `progressToken`, answered on one SSE
//!   response: `notifications/progress` keep arriving while Codex works, then the result.
//!
//! Both task clients see the task's `statusMessage` change while it runs (Codex's
//! progress reaches it), and every client gets the tool's whole structured result.

use std::time::{Duration, Instant};

use codex_mcp_e2e::task_clients::{LegacySession, modern};
use codex_mcp_e2e::{Runtime, Setup, SseEvents};
use codex_mcp_testkit::Reply;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// How long the model streams before it answers: the acceptance's 90 s.
const LONG_RUN: Duration = Duration::from_secs(90);
/// How often it sends a reasoning item meanwhile (each one a progress event).
const STEP: Duration = Duration::from_secs(5);
/// How long a client waits for a long run at most.
const LIMIT: Duration = Duration::from_secs(300);

const LEGACY_TASK: &str = "long-legacy-task";
const MODERN_TASK: &str = "long-modern-task";
const FOREGROUND: &str = "long-foreground";

/// The structured `chat` result the model gives for the prompt naming `tag`.
fn answer(tag: &str) -> Value {
    json!({"reply": format!("finished {tag}"), "follow_up_suggestions": [], "referenced_files": []})
}

/// Every request the model gets is one of the three runs: stream, then answer its tag.
fn long_model() -> Reply {
    Reply::from_fn(|request| {
        let text = request.user_texts().join("\n");
        match [LEGACY_TASK, MODERN_TASK, FOREGROUND]
            .into_iter()
            .find(|tag| text.contains(tag))
        {
            Some(tag) => Reply::streaming(LONG_RUN, STEP, Reply::json(answer(tag))),
            None => Reply::no_scripted_reply_left(),
        }
    })
}

/// The status messages a poller saw while the task was working, in order, without
/// repeats.
fn working_messages(seen: &[Value]) -> Vec<String> {
    let mut messages: Vec<String> = Vec::new();
    for got in seen.iter().filter(|g| g["status"] == json!("working")) {
        if let Some(m) = got["statusMessage"].as_str()
            && messages.last().map(String::as_str) != Some(m)
        {
            messages.push(m.to_string());
        }
    }
    messages
}

/// Asserts that the task's status message changed while it ran and that Codex's
/// streamed reasoning reached it.
fn assert_progress_reached(kind: &str, seen: &[Value]) {
    let messages = working_messages(seen);
    eprintln!(
        "{kind}: {} polls, status messages while working: {messages:?}",
        seen.len()
    );
    assert!(
        messages.len() >= 2,
        "{kind}: the status message never changed: {messages:?}"
    );
    assert!(
        messages.iter().any(|m| m == "reasoned about the task"),
        "{kind}: {messages:?}"
    );
}

/// The 2025-11-25 wire: a task-augmented `tools/call` carrying a progress token,
/// polled, then `tasks/result`. Returns the result and what the session's GET stream
/// carried for the task: its progress notifications, until its `completed` status.
async fn legacy_task(base: &str) -> (Value, Vec<Value>) {
    let (session, _) = LegacySession::open(base, None).await;
    let stream = session.listen().await;
    let created = session
        .task_call(json!({"name": "chat", "task": {},
            "arguments": {"message": LEGACY_TASK, "agent_id": "long-legacy"},
            "_meta": {"progressToken": "lt"}}))
        .await;
    let task = created["taskId"].as_str().unwrap().to_string();
    let heard = tokio::spawn(progress_until_completed(stream, task.clone()));
    let seen = session.watch_until_ended(&task, LIMIT).await;
    let last = seen.last().cloned().unwrap_or_default();
    assert_eq!(last["status"], json!("completed"), "{last}");
    assert_progress_reached("2025-11-25 task", &seen);
    let result = session.ok("tasks/result", json!({"taskId": task})).await;
    let progress = tokio::time::timeout(Duration::from_secs(30), heard)
        .await
        .expect("the task's completed status on the GET stream")
        .unwrap();
    (result, progress)
}

/// Reads a session's GET stream until `task`'s `completed` status notification;
/// returns the progress notifications before it (their params).
async fn progress_until_completed(mut stream: reqwest::Response, task: String) -> Vec<Value> {
    let mut events = SseEvents::default();
    let mut progress = Vec::new();
    loop {
        let Some((_, data)) = events.next(&mut stream).await.unwrap() else {
            continue;
        };
        let Ok(message) = serde_json::from_str::<Value>(&data) else {
            continue;
        };
        match message["method"].as_str() {
            Some("notifications/progress") => progress.push(message["params"].clone()),
            Some("notifications/tasks/status")
                if message["params"]["taskId"] == json!(task)
                    && message["params"]["status"] == json!("completed") =>
            {
                return progress;
            }
            _ => {}
        }
    }
}

/// The 2026-07-28 extension: the task created, then `tasks/get` until it has the result.
async fn modern_task(base: &str) -> Value {
    let task = modern::create_chat_task(base, "long-modern", MODERN_TASK).await;
    let seen = modern::watch_until_terminal(base, &task, LIMIT).await;
    let last = seen.last().cloned().unwrap_or_default();
    assert_eq!(last["status"], json!("completed"), "{last}");
    assert_progress_reached("2026-07-28 task", &seen);
    last["result"].clone()
}

/// A foreground call with a progress token in a legacy session, read event by event:
/// `(the progress notifications, how many separate reads delivered them, the result)`.
async fn foreground_call(base: &str) -> (Vec<Value>, usize, Value) {
    let (session, _) = LegacySession::open(base, None).await;
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
        "name": "chat", "arguments": {"message": FOREGROUND, "agent_id": "long-foreground"},
        "_meta": {"progressToken": "fg"}}});
    let mut response = session.post(&body).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let started = Instant::now();
    let mut events = SseEvents::default();
    let mut progress = Vec::new();
    let mut arrivals: Vec<u64> = Vec::new();
    loop {
        let Some((_, data)) = events.next(&mut response).await.unwrap() else {
            continue;
        };
        let Ok(message) = serde_json::from_str::<Value>(&data) else {
            continue;
        };
        if message["method"] == json!("notifications/progress") {
            progress.push(message["params"].clone());
            arrivals.push(started.elapsed().as_secs());
        } else if message["id"] == json!(7) {
            arrivals.dedup();
            eprintln!("foreground: progress arrived at seconds {arrivals:?}");
            return (progress, arrivals.len(), message["result"].clone());
        }
    }
}

#[tokio::test]
async fn ninety_second_runs_finish_for_task_clients_and_foreground_progress() {
    let Some(s) = Setup::start(Runtime::Local, "suggest", &[]).await else {
        return;
    };
    s.model.set_fallback(long_model());
    let base = s.mcpd.base.clone();
    let started = Instant::now();
    let ((legacy, task_progress), modern, (progress, arrivals, foreground)) = tokio::join!(
        legacy_task(&base),
        modern_task(&base),
        foreground_call(&base)
    );
    eprintln!("three concurrent long runs took {:?}", started.elapsed());

    assert_eq!(legacy["structuredContent"], answer(LEGACY_TASK), "{legacy}");
    assert_eq!(legacy["isError"], Value::Null, "{legacy}");
    assert_eq!(modern["structuredContent"], answer(MODERN_TASK), "{modern}");
    assert_eq!(
        foreground["structuredContent"],
        answer(FOREGROUND),
        "{foreground}"
    );

    // Progress kept coming during the run, in many separate deliveries, increasing.
    assert_progress_notifications("foreground", &progress, "fg");
    let steps = (LONG_RUN.as_secs() / STEP.as_secs()) as usize;
    assert!(arrivals >= steps / 2, "delivered in {arrivals} reads");
    // The task-augmented call's token stayed in use for the task's lifetime, on the
    // session's GET stream, and its progress stopped before the task completed.
    assert_progress_notifications("2025-11-25 task", &task_progress, "lt");
    assert_eq!(s.model.responses_requests().len(), 3);
}

/// Asserts that `progress` (notification params) all carry `token`, increase, and that
/// most of the streamed reasoning steps reached them.
fn assert_progress_notifications(kind: &str, progress: &[Value], token: &str) {
    let steps = (LONG_RUN.as_secs() / STEP.as_secs()) as usize;
    let reasoned = progress
        .iter()
        .filter(|p| p["message"] == json!("reasoned about the task"))
        .count();
    assert!(
        reasoned >= steps / 2,
        "{kind}: {reasoned} of {steps}: {progress:?}"
    );
    let values: Vec<f64> = progress
        .iter()
        .map(|p| p["progress"].as_f64().unwrap_or_default())
        .collect();
    assert!(values.windows(2).all(|w| w[0] < w[1]), "{kind}: {values:?}");
    assert!(
        progress.iter().all(|p| p["progressToken"] == json!(token)),
        "{kind}: {progress:?}"
    );
}
