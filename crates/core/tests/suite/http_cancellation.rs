//! Cancellation over HTTP: closing a modern request's stream cancels it; in the legacy
//! era `notifications/cancelled` does, and a disconnect does not.

use super::common;

use common::*;
use pretty_assertions::assert_eq;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn block_call(id: i64) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "tools/call",
        "params": {"name": "block", "_meta": {"progressToken": "b"}}
    })
}

#[tokio::test]
async fn closing_a_modern_stream_cancels_the_tool() {
    let h = Harness::start().await;
    let headers = modern_headers("tools/call", Some("block"));
    let body = modern_request(
        1,
        "tools/call",
        json!({"name": "block", "_meta": {"progressToken": "b"}}),
    );
    let response = h.post_mcp_response(&borrow(&headers), &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut events = SseReader::new(response);
    let first = events.expect_event("the tool's progress").await;
    assert_eq!(first.json()["method"], json!("notifications/progress"));
    assert_eq!(h.probes.block_started(), 1);
    assert_eq!(h.server.in_flight().len(), 1);
    assert!(!h.probes.was_cancelled());

    drop(events);

    eventually(STEP, "the tool observes its cancellation token", || {
        h.probes.was_cancelled()
    })
    .await;
    eventually(STEP, "in-flight and stream released", || {
        h.server.in_flight().is_empty() && h.open_streams() == 0
    })
    .await;
    assert_eq!(h.probes.cancels(), 1);
}

/// A JSON-only call whose client goes away is cancelled, not dropped: the tool sees its
/// token (a Codex turn then cleans up), and nothing stays registered as in flight.
#[tokio::test]
async fn a_modern_json_call_whose_client_goes_away_is_cancelled() {
    let h = Harness::start().await;
    let headers = modern_headers("tools/call", Some("block"));
    // No progress token and JSON only: the answer would be plain JSON.
    let body = modern_request(2, "tools/call", json!({"name": "block"}));
    let url = h.url("/mcp");
    let client = h.http.clone();
    let owned: Vec<(String, String)> = headers.clone();
    let pending = tokio::spawn(async move {
        let mut req = client
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json");
        for (k, v) in &owned {
            if k != "accept" {
                req = req.header(k, v);
            }
        }
        req.json(&body).send().await
    });
    eventually(STEP, "block started", || h.probes.block_started() == 1).await;
    assert_eq!(h.server.in_flight().len(), 1);
    pending.abort();
    let _ = pending.await;
    assert_cancelled_and_released(&h).await;
}

/// The tool saw its cancellation token and nothing is left in flight.
async fn assert_cancelled_and_released(h: &Harness) {
    eventually(STEP, "the tool observes its cancellation token", || {
        h.probes.was_cancelled()
    })
    .await;
    eventually(
        STEP,
        "in-flight released after the client went away",
        || h.server.in_flight().is_empty(),
    )
    .await;
}

/// `POST /tools/{name}` whose client goes away: the same, cancelled and unregistered.
#[tokio::test]
async fn a_rest_call_whose_client_goes_away_is_cancelled() {
    let h = Harness::start().await;
    let url = h.url("/tools/block");
    let client = h.http.clone();
    let pending = tokio::spawn(async move { client.post(url).json(&json!({})).send().await });
    eventually(STEP, "block started", || h.probes.block_started() == 1).await;
    assert_eq!(h.server.in_flight().len(), 1);
    assert!(!h.probes.was_cancelled());
    pending.abort();
    let _ = pending.await;
    assert_cancelled_and_released(&h).await;
}

#[tokio::test]
async fn legacy_notifications_cancelled_stops_a_json_call() {
    let h = Harness::start().await;
    let session = h.initialize().await;
    let client = h.http.clone();
    let url = h.url("/mcp");
    let sid = session.clone();
    let call = tokio::spawn(async move {
        let response = client
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header("mcp-session-id", sid)
            .json(&block_call(31))
            .send()
            .await
            .expect("tools/call sent");
        Reply::read(response).await
    });
    eventually(STEP, "block started", || h.probes.block_started() == 1).await;
    let live = h.server.sessions().get(&session).unwrap();
    assert_eq!(live.in_flight.len(), 1);

    let reply = h
        .post_mcp(
            &legacy_headers(&session),
            &json!({
                "jsonrpc": "2.0",
                "method": "notifications/cancelled",
                "params": {"requestId": 31, "reason": "the user changed their mind"}
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);

    let answered = within("the cancelled call returns", call).await.unwrap();
    // A cancelled request gets no JSON-RPC response.
    assert_eq!(answered.status, StatusCode::ACCEPTED);
    assert_eq!(answered.body, Value::Null);
    assert!(h.probes.was_cancelled());
    assert_eq!(live.in_flight.len(), 0);
}

#[tokio::test]
async fn legacy_notifications_cancelled_ends_a_streamed_call_without_a_response() {
    let h = Harness::start().await;
    let session = h.initialize().await;
    let response = h
        .post_mcp_response(&legacy_sse_headers(&session), &block_call(32))
        .await;
    let mut events = SseReader::new(response);
    let priming = events.expect_event("priming").await;
    assert!(priming.id.is_some());
    let progress = events.expect_event("block's progress").await;
    assert_eq!(progress.json()["method"], json!("notifications/progress"));

    let reply = h
        .post_mcp(
            &legacy_headers(&session),
            &json!({
                "jsonrpc": "2.0",
                "method": "notifications/cancelled",
                "params": {"requestId": 32}
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    events
        .expect_end("the stream ends without a response for the cancelled call")
        .await;
    assert!(h.probes.was_cancelled());
}

#[tokio::test]
async fn legacy_disconnect_is_not_cancellation_but_delete_is() {
    let h = Harness::start().await;
    let session = h.initialize().await;
    let response = h
        .post_mcp_response(&legacy_sse_headers(&session), &block_call(33))
        .await;
    let mut events = SseReader::new(response);
    events.expect_event("priming").await;
    drop(events);
    eventually(STEP, "the dropped stream is released", || {
        h.open_streams() == 0
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(
        !h.probes.was_cancelled(),
        "a legacy disconnect must not cancel the request"
    );
    let live = h.server.sessions().get(&session).unwrap();
    assert_eq!(live.in_flight.len(), 1);

    let deleted = within(
        "DELETE",
        h.http
            .delete(h.url("/mcp"))
            .header("mcp-session-id", &session)
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    eventually(STEP, "DELETE cancels the session's requests", || {
        h.probes.was_cancelled()
    })
    .await;
    eventually(STEP, "nothing left in flight", || live.in_flight.is_empty()).await;
}

#[tokio::test]
async fn cancelling_an_unknown_request_is_harmless() {
    let h = Harness::start().await;
    let session = h.initialize().await;
    let reply = h
        .post_mcp(
            &legacy_headers(&session),
            &json!({
                "jsonrpc": "2.0",
                "method": "notifications/cancelled",
                "params": {"requestId": "never-sent"}
            }),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let reply = h
        .post_mcp(
            &legacy_headers(&session),
            &call_request(40, "echo", json!({"text": "still here"})),
        )
        .await;
    assert_eq!(
        reply.body["result"]["content"][0]["text"],
        json!("still here")
    );
}

/// Posts `body` to `/mcp` with `headers` in a task, so the test can act while it runs.
fn spawn_post(
    h: &Harness,
    headers: Vec<(String, String)>,
    body: Value,
) -> tokio::task::JoinHandle<Reply> {
    let client = h.http.clone();
    let url = h.url("/mcp");
    tokio::spawn(async move {
        let mut req = client.post(url).header("content-type", "application/json");
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        let response = within("bob's call", req.json(&body).send()).await.unwrap();
        Reply::read(response).await
    })
}

/// The attack: alice learns (or guesses) the JSON-RPC id bob's calls use and sends
/// `notifications/cancelled` for it from her own session and from a `/messages`
/// connection that never initialized. Cancellation is scoped to the canceller's own
/// requests, so bob's stateless call and his session's call both run to completion.
#[tokio::test]
async fn nobody_cancels_another_clients_call_by_its_id() {
    let h = Harness::start().await;
    let slow = json!({"name": "slow", "arguments": {"ms": 700}});
    let modern = modern_headers("tools/call", Some("slow"))
        .into_iter()
        .map(|(k, v)| {
            if k == "accept" {
                (k, "application/json".into())
            } else {
                (k, v)
            }
        })
        .collect();
    let stateless = spawn_post(&h, modern, modern_request(77, "tools/call", slow.clone()));
    let bob = h.initialize().await;
    let in_session = spawn_post(
        &h,
        legacy_headers(&bob)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        json!({"jsonrpc": "2.0", "id": 77, "method": "tools/call", "params": slow}),
    );
    eventually(STEP, "both of bob's calls started", || {
        h.probes.slow_started() == 2
    })
    .await;

    let cancel = json!({
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {"requestId": 77}
    });
    let alice = h.initialize().await;
    let reply = h.post_mcp(&legacy_headers(&alice), &cancel).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let (_stream, endpoint) = h.open_sse(&[]).await;
    let reply = h
        .post_raw(&endpoint, &[], serde_json::to_vec(&cancel).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);

    let stateless = within("bob's stateless call", stateless).await.unwrap();
    let in_session = within("bob's session call", in_session).await.unwrap();
    assert_eq!(
        (
            stateless.body["result"]["content"][0]["text"].clone(),
            in_session.body["result"]["content"][0]["text"].clone(),
        ),
        (json!("slept 700 ms"), json!("slept 700 ms"))
    );
    assert_eq!(h.probes.slow_finished(), 2);
}
