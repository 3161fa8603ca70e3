//! How the REAL Codex CLI 0.169.0 reports a failing model (HTTP errors, broken and
//! hanging streams) and a kill mid-turn: the exit codes and events the Codex driver maps
//! (recorded in docs/testing.md).

use super::common;

use std::time::Duration;

use codex_mcp_testkit::{CodexOutput, Reply};
use common::{Kit, show};
use pretty_assertions::assert_eq;
use serde_json::json;

#[tokio::test]
async fn e_http_500_fails_the_turn_and_exits_1() {
    let Some(kit) = Kit::new().await else { return };
    kit.model.push(Reply::http_error(500, "boom"));
    let out = kit.exec("read-only", &[], "q").await;
    assert_eq!(out.code, Some(1));
    assert_eq!(
        out.event_types(),
        ["thread.started", "turn.started", "error", "turn.failed"]
    );
    let msg = "We\u{2019}re currently experiencing high demand, which may cause temporary errors.";
    assert_eq!(
        out.events_of("error")[0],
        &json!({"type": "error", "message": msg})
    );
    assert_eq!(out.turn_failed_message(), Some(msg));
    assert_eq!(out.stderr, "");
    assert_eq!(
        kit.model.responses_requests().len(),
        1,
        "request_max_retries = 0"
    );
}

/// Each broken reply and the `turn.failed` message Codex 0.169.0 prints for it.
#[tokio::test]
async fn e2_other_failures_and_their_messages() {
    let Some(kit) = Kit::new().await else { return };
    let port = kit.model.addr().port();
    let cases: Vec<(Reply, String)> = vec![
        (
            Reply::http_error(429, "slow down"),
            "exceeded retry limit, last status: 429 Too Many Requests".into(),
        ),
        (
            Reply::http_error(400, "bad input"),
            r#"{"error":{"code":null,"message":"bad input","type":"invalid_request_error"}}"#.into(),
        ),
        (
            Reply::http_error(401, "who are you"),
            format!("unexpected status 401 Unauthorized: who are you, url: http://127.0.0.1:{port}/v1/responses"),
        ),
        (
            Reply::malformed_sse(),
            "stream disconnected before completion: stream closed before response.completed".into(),
        ),
        (
            Reply::truncated_sse(),
            "stream disconnected before completion: stream closed before response.completed".into(),
        ),
        (
            Reply::failed("server_error", "model fell over"),
            "stream disconnected before completion: model fell over".into(),
        ),
        (
            Reply::no_scripted_reply_left(),
            r#"{"error":{"code":null,"message":"codex-mcp-testkit: no scripted reply left for this POST /v1/responses","type":"invalid_request_error"}}"#.into(),
        ),
    ];
    for (reply, expected) in cases {
        kit.model.push(reply);
        let out = kit.exec("read-only", &[], "q").await;
        assert_eq!(out.code, Some(1));
        assert_eq!(
            out.event_types(),
            ["thread.started", "turn.started", "error", "turn.failed"]
        );
        assert_eq!(out.turn_failed_message(), Some(expected.as_str()));
        assert_eq!(out.events_of("error")[0]["message"], expected.as_str());
    }
}

#[tokio::test]
async fn e3_hanging_model_hits_the_stream_idle_timeout() {
    let Some(kit) = Kit::with(|h| h.with_stream_idle_timeout(Duration::from_millis(1500))).await
    else {
        return;
    };
    kit.model.push(Reply::hang());
    let started = std::time::Instant::now();
    let out = kit.exec("read-only", &[], "q").await;
    let took = started.elapsed();
    eprintln!("hang took {took:?}");
    assert_eq!(out.code, Some(1));
    assert!(took >= Duration::from_millis(1500) && took < Duration::from_secs(30));
    assert_eq!(
        out.event_types(),
        ["thread.started", "turn.started", "error", "turn.failed"]
    );
    assert!(
        out.turn_failed_message().unwrap().contains("idle timeout"),
        "{:?}",
        out.turn_failed_message()
    );
}

#[tokio::test]
async fn i_sigterm_mid_turn() {
    use std::process::Stdio;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Some(kit) = Kit::new().await else { return };
    kit.model.push(Reply::hang());
    let mut cmd = kit.exec_command("read-only");
    cmd.arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"q").await.unwrap();
    drop(stdin);
    kit.model
        .wait_for_responses_requests(1, Duration::from_secs(30))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid = child.id().unwrap().to_string();
    let started = std::time::Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("codex must exit after SIGTERM")
        .unwrap();
    let took = started.elapsed();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .await
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    let out = CodexOutput::new(status.code(), stdout, stderr);
    show("sigterm", &out);
    eprintln!("sigterm: status {status:?} after {took:?}");
    // No signal handler: the process dies of SIGTERM at once and prints nothing more.
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(15));
    assert_eq!(out.event_types(), ["thread.started", "turn.started"]);
    assert_eq!(out.stderr, "");

    // The interrupted thread can be resumed; the lost turn's prompt is replayed.
    let thread = out.thread_id().unwrap().to_owned();
    kit.model.push(Reply::text("after the kill"));
    let resumed = kit.resume(&thread, "again").await;
    assert_eq!(resumed.code, Some(0));
    assert_eq!(resumed.last_agent_message(), Some("after the kill"));
    let last = kit.model.responses_requests().pop().unwrap();
    assert_eq!(last.user_texts(), ["q", "again"]);
}
