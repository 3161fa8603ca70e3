//! The cancellation matrix of issue 12, on both runtimes: a suggest-mode `implement`
//! (the real Codex, the model streaming and never done) cancelled about
//! [`CANCEL_AT`] after it started, through each way a client has:
//!
//! | path | how |
//! | --- | --- |
//! | legacy `notifications/cancelled` | 2025-11-25 session, the call's request id |
//! | modern stream close | 2026-07-28 POST whose response is dropped |
//! | REST disconnect | `POST /tools/implement` dropped |
//! | `tasks/cancel` (2025-11-25) | task-augmented `tools/call` in a session |
//! | `tasks/cancel` (2026-07-28) | the `io.modelcontextprotocol/tasks` extension |
//! | `cancel_job` | `"background": true`, then the job tool |
//!
//! One `mcpd` per runtime, each path on its own agent, all at once. After each: no
//! Codex process of the agent left (local: /proc; Docker: `docker top`), its
//! suggest-mode scratch copy removed, the store's record of the call `cancelled`, and
//! for tasks and jobs their status `cancelled`. The time from the cancel to the
//! process being gone is printed (figures in docs/benchmarks.md), not asserted.

use std::time::{Duration, Instant};

use codex_mcp_e2e::faults::recent_calls;
use codex_mcp_e2e::task_clients::{LegacySession, modern};
use codex_mcp_e2e::{Runtime, Setup, error_text};
use codex_mcp_testkit::Reply;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

codex_mcp_e2e::runtime_tests!(every_way_of_cancelling_stops_codex_and_records_cancelled);
codex_mcp_e2e::kubernetes_tests!(every_way_of_cancelling_stops_codex_and_records_cancelled);

/// When the client cancels, counted from the start of its call.
const CANCEL_AT: Duration = Duration::from_secs(5);

/// The ways to cancel, each also the agent it runs on.
const PATHS: [&str; 6] = [
    "legacy-cancelled",
    "modern-close",
    "rest-disconnect",
    "legacy-task",
    "modern-task",
    "job",
];

/// `implement`'s arguments for `agent` (the agent's name reaches the prompt).
fn implement_args(agent: &str) -> Value {
    json!({"task": format!("rewrite everything for {agent}"), "target_files": ["notes.txt"],
        "agent_id": agent})
}

/// Waits until the model has `agent`'s request and its scratch copy exists (Codex is
/// running in it), then until `CANCEL_AT` after `started`.
async fn running_until_cancel_time(s: &Setup, agent: &str, started: Instant) {
    let tag = format!("for {agent}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let asked = s
            .model
            .responses_requests()
            .iter()
            .any(|r| r.user_texts().join("\n").contains(&tag));
        if asked && !s.scratch_copies(agent).is_empty() && !s.codex_processes(agent).is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{agent}: Codex never got going\n{}",
            s.mcpd.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(CANCEL_AT.saturating_sub(started.elapsed())).await;
}

/// Measures from `cancelled_at` until the agent's Codex processes are gone (printed),
/// then asserts that nothing of the call is left: no process, no scratch copy, and the
/// store's record says `cancelled`.
async fn assert_stopped_and_recorded(s: &Setup, agent: &str, cancelled_at: Instant) {
    let deadline = cancelled_at + Duration::from_secs(10);
    while !s.codex_processes(agent).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    eprintln!(
        "{:?} {agent}: Codex gone {} ms after the cancel",
        s.runtime,
        cancelled_at.elapsed().as_millis()
    );
    s.assert_no_codex_left(agent).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let calls = recent_calls(&s.mcpd, agent).await;
        let first = calls.first().map(|(t, st, _)| (t.clone(), st.clone()));
        let scratch = s.scratch_copies(agent);
        if first == Some(("implement".into(), "cancelled".into())) && scratch.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{agent}: calls {calls:?}, scratch copies left {scratch:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Legacy `notifications/cancelled` for a foreground call: stopped, and never answered.
async fn legacy_cancelled(s: &Setup, agent: &str) {
    let started = Instant::now();
    let (session, _) = LegacySession::open(&s.mcpd.base, None).await;
    let call = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": "implement", "arguments": implement_args(agent)}});
    let pending = session.post(&call).send();
    let answer = tokio::spawn(async move { pending.await.unwrap().text().await });
    running_until_cancel_time(s, agent, started).await;
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 9, "reason": "the user pressed stop"}});
    let cancelled_at = Instant::now();
    let ack = session.post(&cancel).send().await.unwrap();
    assert_eq!(ack.status().as_u16(), 202);
    assert_stopped_and_recorded(s, agent, cancelled_at).await;
    let body = tokio::time::timeout(Duration::from_secs(10), answer)
        .await
        .expect("the cancelled call's stream ends")
        .unwrap()
        .unwrap();
    assert!(
        !body.contains("\"id\":9,\"result\""),
        "a cancelled request gets no response: {body}"
    );
}

/// A 2026-07-28 `tools/call` whose response the client drops (closing the stream).
async fn modern_close(s: &Setup, agent: &str) {
    let started = Instant::now();
    let params = json!({"name": "implement", "arguments": implement_args(agent)});
    let pending = modern::request(&s.mcpd.base, "tools/call", params, Some("implement"), false);
    let call = tokio::spawn(async move {
        let mut response = pending.send().await.unwrap();
        while let Ok(Some(_)) = response.chunk().await {}
    });
    running_until_cancel_time(s, agent, started).await;
    let cancelled_at = Instant::now();
    call.abort();
    assert!(call.await.is_err_and(|e| e.is_cancelled()));
    assert_stopped_and_recorded(s, agent, cancelled_at).await;
}

/// `POST /tools/implement` whose client goes away.
async fn rest_disconnect(s: &Setup, agent: &str) {
    let started = Instant::now();
    let pending = reqwest::Client::new()
        .post(format!("{}/tools/implement", s.mcpd.base))
        .json(&implement_args(agent))
        .send();
    let call = tokio::spawn(pending);
    running_until_cancel_time(s, agent, started).await;
    let cancelled_at = Instant::now();
    call.abort();
    assert!(call.await.is_err_and(|e| e.is_cancelled()));
    assert_stopped_and_recorded(s, agent, cancelled_at).await;
}

/// `tasks/cancel` of the 2025-11-25 wire; then the task is `cancelled`, has no result
/// and cannot be cancelled again.
async fn legacy_task(s: &Setup, agent: &str) {
    let started = Instant::now();
    let (session, _) = LegacySession::open(&s.mcpd.base, None).await;
    let created = session
        .task_call(json!({"name": "implement", "task": {}, "arguments": implement_args(agent)}))
        .await;
    assert_eq!(
        created["ttl"],
        json!(3_600_000),
        "the default TTL: {created}"
    );
    let task = created["taskId"].as_str().unwrap().to_string();
    running_until_cancel_time(s, agent, started).await;
    let cancelled_at = Instant::now();
    let cancelled = session.ok("tasks/cancel", json!({"taskId": task})).await;
    assert_eq!(cancelled["taskId"], json!(task));
    assert_eq!(cancelled["status"], json!("cancelled"), "{cancelled}");
    assert_stopped_and_recorded(s, agent, cancelled_at).await;
    let got = session.ok("tasks/get", json!({"taskId": task})).await;
    assert_eq!(got["status"], json!("cancelled"));
    let m = session
        .fails("tasks/result", json!({"taskId": task}), -32602)
        .await;
    assert!(
        m.contains("was cancelled") && m.contains("no result"),
        "{m}"
    );
    let m = session
        .fails("tasks/cancel", json!({"taskId": task}), -32602)
        .await;
    assert!(m.contains("already ended (cancelled)"), "{m}");
}

/// `tasks/cancel` of the 2026-07-28 extension: an empty ack, then the task is
/// `cancelled` without a result; cancelling again is the same ack.
async fn modern_task(s: &Setup, agent: &str) {
    let started = Instant::now();
    let base = &s.mcpd.base;
    let params = json!({"name": "implement", "arguments": implement_args(agent)});
    let (status, reply) = modern::rpc(base, "tools/call", params, Some("implement"), true).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["result"]["resultType"], json!("task"), "{reply}");
    let task = reply["result"]["taskId"].as_str().unwrap().to_string();
    running_until_cancel_time(s, agent, started).await;
    let cancelled_at = Instant::now();
    let ack = modern::tasks_call(base, "tasks/cancel", json!({"taskId": task})).await;
    assert_eq!(ack["resultType"], json!("complete"), "{ack}");
    assert!(
        ack.get("taskId").is_none() && ack.get("status").is_none(),
        "{ack}"
    );
    assert_stopped_and_recorded(s, agent, cancelled_at).await;
    let got = modern::tasks_call(base, "tasks/get", json!({"taskId": task})).await;
    assert_eq!(got["status"], json!("cancelled"), "{got}");
    assert!(got.get("result").is_none(), "{got}");
    let again = modern::tasks_call(base, "tasks/cancel", json!({"taskId": task})).await;
    assert_eq!(again["resultType"], json!("complete"));
}

/// `cancel_job`: it answers once the run is over (no Codex left at once), then the job
/// is `cancelled` without a result and cannot be cancelled again.
async fn job(s: &Setup, agent: &str) {
    let started = Instant::now();
    let mut args = implement_args(agent);
    args["background"] = json!(true);
    let started_job = s.mcpd.call_tool("implement", args).await.unwrap();
    let id = started_job["structuredContent"]["job_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        started_job["structuredContent"],
        json!({"job_id": id, "status": "working"})
    );
    running_until_cancel_time(s, agent, started).await;
    let cancelled_at = Instant::now();
    let cancelled = s
        .mcpd
        .call_tool("cancel_job", json!({"job_id": id}))
        .await
        .unwrap();
    assert_eq!(
        cancelled["structuredContent"],
        json!({"job_id": id, "status": "cancelled"}),
        "{cancelled}"
    );
    assert_eq!(s.codex_processes(agent), Vec::<String>::new());
    assert_stopped_and_recorded(s, agent, cancelled_at).await;
    let got = s
        .mcpd
        .call_tool("get_job", json!({"job_id": id}))
        .await
        .unwrap();
    assert_eq!(
        got["structuredContent"]["status"],
        json!("cancelled"),
        "{got}"
    );
    assert_eq!(got["structuredContent"]["result"], Value::Null);
    let again = s
        .mcpd
        .call_tool("cancel_job", json!({"job_id": id}))
        .await
        .unwrap();
    assert_eq!(
        error_text(&again),
        format!("job {id} already ended (cancelled); there is nothing to cancel")
    );
}

async fn every_way_of_cancelling_stops_codex_and_records_cancelled(rt: Runtime) {
    let Some(s) = Setup::start(rt, "suggest", &[]).await else {
        return;
    };
    // Every turn streams for far longer than the test: only a cancel ends it.
    s.model.set_fallback(Reply::streaming(
        Duration::from_secs(600),
        Duration::from_secs(1),
        Reply::text("never sent"),
    ));
    for agent in PATHS {
        s.write_workspace(agent, "notes.txt", "the live workspace\n")
            .unwrap();
    }
    let [a, b, c, d, e, f] = PATHS;
    tokio::join!(
        legacy_cancelled(&s, a),
        modern_close(&s, b),
        rest_disconnect(&s, c),
        legacy_task(&s, d),
        modern_task(&s, e),
        job(&s, f),
    );
    for agent in PATHS {
        assert_eq!(
            s.read_workspace(agent, "notes.txt").unwrap(),
            "the live workspace\n",
            "{agent}: the live workspace is untouched"
        );
    }
}
