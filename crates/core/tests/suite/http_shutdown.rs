//! Graceful shutdown of the HTTP server: standalone streams close, new connections are
//! refused, calls in flight finish within the grace period and are cancelled after it.

use super::common;

use std::time::Duration;

use codex_mcp_core::transport::http::HttpOptions;
use common::*;
use pretty_assertions::assert_eq;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn with_grace(grace: Duration) -> Config {
    Config {
        http: HttpOptions {
            shutdown_grace: grace,
            ..HttpOptions::default()
        },
        ..Config::default()
    }
}

/// Polls until a fresh connection to the server fails.
async fn until_refused(h: &Harness) {
    let url = h.url("/health");
    let deadline = tokio::time::Instant::now() + STEP;
    loop {
        let fresh = client();
        let attempt =
            tokio::time::timeout(Duration::from_secs(2), fresh.get(url.as_str()).send()).await;
        if let Ok(Err(e)) = attempt {
            assert!(e.is_connect() || e.is_request(), "unexpected error {e}");
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the server still accepts connections after shutdown: {attempt:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads a streamed call to its JSON-RPC response (skipping notifications).
async fn stream_result(response: reqwest::Response) -> Value {
    let mut events = SseReader::new(response);
    loop {
        let event = events.expect_event("the call's response").await;
        if event.data.is_empty() {
            continue; // priming
        }
        let message = event.json();
        if message.get("method").is_none() {
            return message;
        }
    }
}

#[tokio::test]
async fn calls_in_flight_finish_and_standalone_streams_close() {
    let mut h = Harness::start_with(with_grace(Duration::from_secs(8))).await;
    let session = h.initialize().await;
    let mut standalone = SseReader::new(h.open_get_stream(&session).await);
    standalone.expect_event("priming").await;

    // Three calls in flight: modern JSON, modern SSE (progress first), legacy SSE.
    let json_call = {
        let c = h.http.clone();
        let url = h.url("/mcp");
        tokio::spawn(async move {
            let mut req = c
                .post(url)
                .header("content-type", "application/json")
                .header("accept", "application/json");
            for (k, v) in modern_headers("tools/call", Some("slow")) {
                if k != "accept" {
                    req = req.header(k, v);
                }
            }
            let body = modern_request(
                1,
                "tools/call",
                json!({"name": "slow", "arguments": {"ms": 700}}),
            );
            Reply::read(req.json(&body).send().await.expect("sent")).await
        })
    };
    let modern_stream = h
        .post_mcp_response(
            &borrow(&modern_headers("tools/call", Some("progress"))),
            &modern_request(
                2,
                "tools/call",
                json!({
                    "name": "progress",
                    "arguments": {"steps": 2, "delay_ms": 400},
                    "_meta": {"progressToken": "s"}
                }),
            ),
        )
        .await;
    assert_eq!(modern_stream.status(), StatusCode::OK);
    let legacy_stream = h
        .post_mcp_response(
            &legacy_sse_headers(&session),
            &call_request(3, "slow", json!({"ms": 700})),
        )
        .await;
    assert_eq!(legacy_stream.status(), StatusCode::OK);
    eventually(STEP, "both slow calls started", || {
        h.probes.slow_started() == 2
    })
    .await;

    h.trigger_shutdown();

    standalone
        .expect_end("the standalone GET stream closes at shutdown")
        .await;
    until_refused(&h).await;

    let reply = within("JSON call finishes", json_call).await.unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body["result"]["content"],
        json!([{"type": "text", "text": "slept 700 ms"}])
    );
    let result = within(
        "modern streamed call finishes",
        stream_result(modern_stream),
    )
    .await;
    assert_eq!(
        result["result"]["content"],
        json!([{"type": "text", "text": "done after 2 steps"}]),
        "{result}"
    );
    let result = within(
        "legacy streamed call finishes",
        stream_result(legacy_stream),
    )
    .await;
    assert_eq!(
        result,
        json!({"jsonrpc": "2.0", "id": 3, "result": {"content": [{"type": "text", "text": "slept 700 ms"}]}})
    );
    assert_eq!(h.probes.slow_finished(), 2);

    let served = h.take_served();
    within("serve_router returns", served)
        .await
        .unwrap()
        .expect("serve_router ends cleanly");
}

#[tokio::test]
async fn calls_longer_than_the_grace_period_are_cancelled() {
    let mut h = Harness::start_with(with_grace(Duration::from_millis(300))).await;
    let call = {
        let c = h.http.clone();
        let url = h.url("/mcp");
        tokio::spawn(async move {
            let mut req = c
                .post(url)
                .header("content-type", "application/json")
                .header("accept", "application/json");
            for (k, v) in modern_headers("tools/call", Some("block")) {
                if k != "accept" {
                    req = req.header(k, v);
                }
            }
            let body = modern_request(1, "tools/call", json!({"name": "block"}));
            Reply::read(req.json(&body).send().await.expect("sent")).await
        })
    };
    eventually(STEP, "block started", || h.probes.block_started() == 1).await;
    h.trigger_shutdown();
    let reply = within("the blocked call ends after the grace period", call)
        .await
        .unwrap();
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body["result"]["content"],
        json!([{"type": "text", "text": "block was cancelled"}])
    );
    assert!(h.probes.was_cancelled());
    let served = h.take_served();
    within("serve_router returns", served)
        .await
        .unwrap()
        .expect("serve_router ends cleanly");
    assert!(h.server.in_flight().is_empty());
}

#[tokio::test]
async fn shutdown_with_nothing_running_returns_at_once() {
    let mut h = Harness::start().await;
    let session = h.initialize().await;
    h.trigger_shutdown();
    let served = h.take_served();
    within_for(Duration::from_secs(3), "serve_router returns", served)
        .await
        .unwrap()
        .expect("clean exit");
    until_refused(&h).await;
    assert_eq!(session.len(), 32);
}
