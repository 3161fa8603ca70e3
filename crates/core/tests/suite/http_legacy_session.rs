//! The handshake era on `/mcp`: initialize, session id, tools, progress over SSE, the
//! standalone GET stream, resumption with `Last-Event-ID`, and DELETE.

use super::common;

use common::*;
use pretty_assertions::assert_eq;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn initialize_returns_a_session_and_negotiates_the_version() {
    let h = Harness::start().await;
    let reply = h.post_mcp(&[], &initialize_request(1, LEGACY)).await;
    assert_eq!(reply.status, StatusCode::OK);
    let session = reply.headers["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_eq!(session.len(), 32, "{session:?}");
    assert!(
        session.bytes().all(|b| (0x21..=0x7e).contains(&b)),
        "session id must be visible ASCII: {session:?}"
    );
    let info = h.server.info().clone();
    assert_eq!(
        reply.body,
        json!({
            "jsonrpc": "2.0",
            "id": 1,
            "result": {
                "protocolVersion": LEGACY,
                "capabilities": {"tools": {"listChanged": false}, "logging": {}},
                "serverInfo": info,
            }
        })
    );
    // Another initialize is another session.
    let other = h.post_mcp(&[], &initialize_request(2, LEGACY)).await;
    assert_ne!(other.headers["mcp-session-id"].to_str().unwrap(), session);
    assert_eq!(h.server.sessions().len(), 2);
}

#[tokio::test]
async fn initialize_with_an_unknown_version_offers_the_latest_legacy_one() {
    let h = Harness::start().await;
    let reply = h.post_mcp(&[], &initialize_request(1, "2099-01-01")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["result"]["protocolVersion"], json!(LEGACY));
    let reply = h.post_mcp(&[], &initialize_request(2, "2025-03-26")).await;
    assert_eq!(reply.body["result"]["protocolVersion"], json!("2025-03-26"));
}

#[tokio::test]
async fn initialized_notification_is_202_and_tools_list_follows() {
    let h = Harness::start().await;
    let reply = h.post_mcp(&[], &initialize_request(1, LEGACY)).await;
    let session = reply.headers["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let reply = h
        .post_mcp(
            &legacy_headers(&session),
            &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(reply.body, Value::Null);

    let reply = h
        .post_mcp(
            &legacy_headers(&session),
            &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/json");
    let names: Vec<&str> = reply.body["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, FIXTURE_TOOLS.to_vec());
    assert_eq!(reply.body["result"].get("nextCursor"), None);
    // Legacy results carry no modern decoration.
    assert_eq!(reply.body["result"].get("resultType"), None);
    assert_eq!(
        reply.body["result"]["tools"][0],
        json!({
            "name": "echo",
            "description": "Returns its text argument.",
            "inputSchema": {
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"]
            }
        })
    );

    let reply = h
        .post_mcp(
            &legacy_headers(&session),
            &json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}),
        )
        .await;
    assert_eq!(reply.body, json!({"jsonrpc": "2.0", "id": 3, "result": {}}));
}

#[tokio::test]
async fn tools_call_without_event_stream_accept_answers_json() {
    let h = Harness::start().await;
    let session = h.initialize().await;
    let reply = h
        .post_mcp(
            &[
                ("mcp-session-id", session.as_str()),
                ("accept", "application/json"),
            ],
            &call_request(4, "echo", json!({"text": "hello"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body,
        json!({
            "jsonrpc": "2.0",
            "id": 4,
            "result": {"content": [{"type": "text", "text": "hello"}]}
        })
    );
    let reply = h
        .post_mcp(
            &[
                ("mcp-session-id", session.as_str()),
                ("accept", "application/json"),
            ],
            &call_request(5, "fail", json!({})),
        )
        .await;
    assert_eq!(
        reply.body["result"],
        json!({
            "content": [{"type": "text", "text": "the fixture failed on purpose"}],
            "isError": true
        })
    );
    // `codex_<tool>` names the tool on every transport (`docs/tools.md`).
    let reply = h
        .post_mcp(
            &[
                ("mcp-session-id", session.as_str()),
                ("accept", "application/json"),
            ],
            &call_request(6, "codex_echo", json!({"text": "aliased"})),
        )
        .await;
    assert_eq!(
        reply.body,
        json!({
            "jsonrpc": "2.0",
            "id": 6,
            "result": {"content": [{"type": "text", "text": "aliased"}]}
        })
    );
}

#[tokio::test]
async fn tools_call_streams_priming_then_increasing_progress_then_the_result() {
    let h = Harness::start().await;
    let session = h.initialize().await;
    let body = json!({
        "jsonrpc": "2.0",
        "id": 10,
        "method": "tools/call",
        "params": {
            "name": "progress",
            "arguments": {"steps": 4, "delay_ms": 5},
            "_meta": {"progressToken": "tok-1"}
        }
    });
    let response = h
        .post_mcp_response(&legacy_sse_headers(&session), &body)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-cache");
    let mut events = SseReader::new(response);

    let priming = events.expect_event("priming event").await;
    let priming_id = priming.id.clone().expect("priming event has an id");
    assert!(!priming_id.is_empty());
    assert_eq!(priming.retry, Some(1000), "{priming:?}");
    assert_eq!(priming.data, "");

    let mut progress = Vec::new();
    let result = loop {
        let event = events.expect_event("progress or result").await;
        assert_eq!(event.event.as_deref(), Some("message"));
        assert!(
            event.id.is_some(),
            "legacy stream events carry ids: {event:?}"
        );
        let message = event.json();
        if message.get("method") == Some(&json!("notifications/progress")) {
            assert_eq!(message["params"]["progressToken"], json!("tok-1"));
            assert_eq!(message["params"]["total"], json!(4.0));
            progress.push(message["params"]["progress"].as_f64().unwrap());
        } else {
            break message;
        }
    };
    assert_eq!(progress, vec![1.0, 2.0, 3.0, 4.0]);
    assert!(progress.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(
        result,
        json!({
            "jsonrpc": "2.0",
            "id": 10,
            "result": {"content": [{"type": "text", "text": "done after 4 steps"}]}
        })
    );
    events.expect_end("stream closes after the response").await;
}

#[tokio::test]
async fn standalone_get_stream_is_exclusive_and_ends_with_the_session() {
    let h = Harness::start().await;
    let session = h.initialize().await;

    let first = h.open_get_stream(&session).await;
    assert_eq!(first.status(), StatusCode::OK);
    let mut stream = SseReader::new(first);
    let priming = stream.expect_event("GET priming event").await;
    assert!(priming.id.is_some());
    assert_eq!(priming.retry, Some(1000));
    assert_eq!(h.open_streams(), 1);

    let second = Reply::read(h.open_get_stream(&session).await).await;
    second.assert_error(
        StatusCode::CONFLICT,
        -32600,
        &["already has an open GET stream"],
    );

    // Another session may open its own.
    let other = h.initialize().await;
    let third = h.open_get_stream(&other).await;
    assert_eq!(third.status(), StatusCode::OK);
    drop(third);

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
    stream
        .expect_end("GET stream closes when the session is deleted")
        .await;
    eventually(STEP, "streams released", || h.open_streams() == 0).await;
    assert_eq!(h.server.sessions().len(), 1);
}

#[tokio::test]
async fn closing_the_get_stream_frees_the_claim() {
    let h = Harness::start().await;
    let session = h.initialize().await;
    let first = h.open_get_stream(&session).await;
    let mut reader = SseReader::new(first);
    reader.expect_event("priming").await;
    drop(reader);
    eventually(STEP, "GET stream released", || h.open_streams() == 0).await;
    let again = h.open_get_stream(&session).await;
    assert_eq!(again.status(), StatusCode::OK);
}

#[tokio::test]
async fn dropped_post_stream_resumes_with_last_event_id() {
    let h = Harness::start().await;
    let session = h.initialize().await;
    let body = json!({
        "jsonrpc": "2.0",
        "id": 21,
        "method": "tools/call",
        "params": {"name": "slow", "arguments": {"ms": 600}}
    });
    let response = h
        .post_mcp_response(&legacy_sse_headers(&session), &body)
        .await;
    let mut events = SseReader::new(response);
    let priming = events.expect_event("priming").await;
    let last_id = priming.id.expect("priming id");
    // Disconnect before the result; in this era that does not cancel the call.
    drop(events);
    eventually(STEP, "dropped stream released", || h.open_streams() == 0).await;
    assert_eq!(h.probes.slow_started(), 1);

    let resumed = within(
        "GET /mcp with Last-Event-ID",
        h.http
            .get(h.url("/mcp"))
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &session)
            .header("last-event-id", &last_id)
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(resumed.status(), StatusCode::OK);
    let mut events = SseReader::new(resumed);
    let event = events
        .expect_event("the result on the resumed stream")
        .await;
    assert_eq!(
        event.json(),
        json!({
            "jsonrpc": "2.0",
            "id": 21,
            "result": {"content": [{"type": "text", "text": "slept 600 ms"}]}
        })
    );
    let (stream, _) = last_id.rsplit_once(':').unwrap();
    let (event_stream, seq) = event.id.as_deref().unwrap().rsplit_once(':').unwrap();
    assert_eq!(event_stream, stream);
    assert!(seq.parse::<u64>().unwrap() > 0);
    events
        .expect_end("resumed stream ends after the response")
        .await;
    assert_eq!(h.probes.slow_finished(), 1);

    // Resuming after the last event replays nothing and ends at once.
    let replay = within(
        "resume after the end",
        h.http
            .get(h.url("/mcp"))
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &session)
            .header("last-event-id", event.id.as_deref().unwrap())
            .send(),
    )
    .await
    .unwrap();
    SseReader::new(replay)
        .expect_end("nothing after the last event")
        .await;
}

#[tokio::test]
async fn last_event_id_not_issued_by_the_server_is_refused() {
    let h = Harness::start().await;
    let session = h.initialize().await;
    for (id, status) in [
        ("garbage", StatusCode::BAD_REQUEST),
        ("p999999:0", StatusCode::NOT_FOUND),
    ] {
        let response = within(
            "GET with a forged Last-Event-ID",
            h.http
                .get(h.url("/mcp"))
                .header("accept", "text/event-stream")
                .header("mcp-session-id", &session)
                .header("last-event-id", id)
                .send(),
        )
        .await
        .unwrap();
        let reply = Reply::read(response).await;
        reply.assert_error(status, -32600, &[id]);
    }
    eventually(STEP, "no stream left open", || h.open_streams() == 0).await;
}

#[tokio::test]
async fn delete_ends_the_session() {
    let h = Harness::start().await;
    let session = h.initialize().await;
    assert_eq!(h.server.sessions().len(), 1);
    let response = within(
        "DELETE",
        h.http
            .delete(h.url("/mcp"))
            .header("mcp-session-id", &session)
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(h.server.sessions().len(), 0);
    let missing = within(
        "DELETE without a session",
        h.http.delete(h.url("/mcp")).send(),
    )
    .await
    .unwrap();
    let reply = Reply::read(missing).await;
    reply.assert_error(StatusCode::BAD_REQUEST, -32600, &["Mcp-Session-Id"]);
}

const ALICE: &str = "Bearer alice-token-0123456789";
const BOB: &str = "Bearer bob-token-0123456789ab";

fn alice_and_bob() -> Config {
    with_tokens(&[
        ("alice", "alice-token-0123456789", &["alice"]),
        ("bob", "bob-token-0123456789ab", &["bob"]),
    ])
}

/// The attack: bob learns alice's session id (a log, an agent id derived from it, a
/// shared screen) and uses it with his own token. Every route refuses him exactly as
/// it refuses an unknown session, and the session stays alice's.
#[tokio::test]
async fn a_session_answers_only_the_token_that_opened_it() {
    let h = Harness::start_with(alice_and_bob()).await;
    let session = h.initialize_with(&[("authorization", ALICE)]).await;
    let echo = call_request(2, "echo", json!({"text": "mine"}));
    let mut theirs = legacy_headers(&session);
    theirs.push(("authorization", BOB));
    let post = h.post_mcp(&theirs, &echo).await;
    post.assert_error(StatusCode::NOT_FOUND, -32600, &["another bearer token"]);
    let get = within(
        "GET /mcp as bob",
        h.http
            .get(h.url("/mcp"))
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &session)
            .header("authorization", BOB)
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(get.status(), StatusCode::NOT_FOUND);
    let delete = within(
        "DELETE /mcp as bob",
        h.http
            .delete(h.url("/mcp"))
            .header("mcp-session-id", &session)
            .header("authorization", BOB)
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(delete.status(), StatusCode::NOT_FOUND);

    // Alice's session survived and still answers her.
    let mut mine = legacy_headers(&session);
    mine.push(("authorization", ALICE));
    let reply = h.post_mcp(&mine, &echo).await;
    assert_eq!(reply.body["result"]["content"][0]["text"], json!("mine"));

    // The 2024-11-05 transport: bob cannot post into alice's /sse connection either.
    let (mut events, endpoint) = h.open_sse(&[("authorization", ALICE)]).await;
    let init = serde_json::to_vec(&initialize_request(1, "2024-11-05")).unwrap();
    let refused = h
        .post_raw(&endpoint, &[("authorization", BOB)], init.clone())
        .await;
    refused.assert_error(StatusCode::NOT_FOUND, -32600, &["no open /sse stream"]);
    let accepted = h
        .post_raw(&endpoint, &[("authorization", ALICE)], init)
        .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED);
    let welcome = events.expect_event("alice's InitializeResult").await;
    assert_eq!(welcome.json()["id"], json!(1));
}
