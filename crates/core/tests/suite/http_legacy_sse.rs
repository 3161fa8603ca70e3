//! The 2024-11-05 HTTP+SSE transport: `GET /sse` + `POST /messages?sessionId=...`.

use super::common;

use common::*;
use pretty_assertions::assert_eq;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn first_event_names_the_messages_endpoint() {
    let h = Harness::start().await;
    let (_events, endpoint) = h.open_sse(&[]).await;
    let id = endpoint
        .strip_prefix("/messages?sessionId=")
        .unwrap_or_else(|| panic!("unexpected endpoint {endpoint:?}"));
    assert_eq!(id.len(), 32);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    assert_eq!(h.state.sse.len(), 1);
    assert_eq!(h.open_streams(), 1);
}

#[tokio::test]
async fn initialize_and_tools_call_answer_on_the_stream() {
    let h = Harness::start().await;
    let (mut events, endpoint) = h.open_sse(&[]).await;

    let reply = h
        .post_raw(
            &endpoint,
            &[],
            serde_json::to_vec(&initialize_request(1, "2024-11-05")).unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let init = events.expect_event("InitializeResult").await;
    assert_eq!(init.event.as_deref(), Some("message"));
    assert_eq!(
        init.json(),
        json!({
            "jsonrpc": "2.0",
            "id": 1,
            "result": {
                "protocolVersion": "2024-11-05",
                "capabilities": {"tools": {"listChanged": false}, "logging": {}},
                "serverInfo": h.server.info(),
            }
        })
    );
    let reply = h
        .post_raw(
            &endpoint,
            &[],
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);

    let reply = h
        .post_raw(
            &endpoint,
            &[],
            serde_json::to_vec(&call_request(2, "echo", json!({"text": "over sse"}))).unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let result = events.expect_event("tools/call result").await;
    assert_eq!(
        result.json(),
        json!({
            "jsonrpc": "2.0",
            "id": 2,
            "result": {"content": [{"type": "text", "text": "over sse"}]}
        })
    );

    // Progress notifications travel on the same stream before the result.
    let call = json!({
        "jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "progress", "arguments": {"steps": 2, "delay_ms": 1}, "_meta": {"progressToken": "p"}}
    });
    let reply = h
        .post_raw(&endpoint, &[], serde_json::to_vec(&call).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let mut methods = Vec::new();
    loop {
        let message = events.expect_event("progress or result").await.json();
        if let Some(m) = message.get("method") {
            methods.push(m.as_str().unwrap().to_string());
        } else {
            assert_eq!(message["id"], json!(3));
            break;
        }
    }
    assert_eq!(methods, vec!["notifications/progress"; 2]);
    assert_eq!(h.server.sessions().len(), 1);
}

#[tokio::test]
async fn requests_before_initialize_get_an_error_on_the_stream() {
    let h = Harness::start().await;
    let (mut events, endpoint) = h.open_sse(&[]).await;
    let reply = h
        .post_raw(
            &endpoint,
            &[],
            r#"{"jsonrpc":"2.0","id":5,"method":"tools/list"}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    let error = events.expect_event("not-initialized error").await.json();
    assert_eq!(error["id"], json!(5));
    assert_eq!(error["error"]["code"], json!(-32600));
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("initialize"),
        "{error}"
    );
}

#[tokio::test]
async fn malformed_message_is_400_and_reported_on_the_stream() {
    let h = Harness::start().await;
    let (mut events, endpoint) = h.open_sse(&[]).await;
    let reply = h.post_raw(&endpoint, &[], "{oops").await;
    reply.assert_error(StatusCode::BAD_REQUEST, -32700, &["Parse error"]);
    let error = events
        .expect_event("parse error on the stream")
        .await
        .json();
    assert_eq!(error["error"]["code"], json!(-32700));
}

#[tokio::test]
async fn unknown_session_id_is_404() {
    let h = Harness::start().await;
    let reply = h
        .post_raw(
            "/messages?sessionId=ffffffffffffffffffffffffffffffff",
            &[],
            serde_json::to_vec(&initialize_request(1, "2024-11-05")).unwrap(),
        )
        .await;
    reply.assert_error(
        StatusCode::NOT_FOUND,
        -32600,
        &["ffffffffffffffffffffffffffffffff"],
    );
}

#[tokio::test]
async fn missing_session_id_is_400() {
    let h = Harness::start().await;
    let reply = h
        .post_raw(
            "/messages",
            &[],
            serde_json::to_vec(&initialize_request(1, "2024-11-05")).unwrap(),
        )
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, -32600, &["sessionId", "/sse"]);
}

#[tokio::test]
async fn closing_the_stream_ends_the_connection_and_its_session() {
    let h = Harness::start().await;
    let (mut events, endpoint) = h.open_sse(&[]).await;
    let reply = h
        .post_raw(
            &endpoint,
            &[],
            serde_json::to_vec(&initialize_request(1, "2024-11-05")).unwrap(),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    events.expect_event("InitializeResult").await;
    assert_eq!(h.server.sessions().len(), 1);
    drop(events);
    eventually(STEP, "connection and session removed", || {
        h.state.sse.is_empty() && h.server.sessions().is_empty() && h.open_streams() == 0
    })
    .await;
    let reply = h
        .post_raw(
            &endpoint,
            &[],
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

/// The attack: a cross-site page posts `text/plain` (no CORS preflight) to a
/// `/messages` endpoint. It is refused with 415 before the message is read; the
/// stream's first answer is the JSON request's, not the refused one's.
#[tokio::test]
async fn messages_without_a_json_content_type_are_415() {
    let h = Harness::start().await;
    let (mut events, endpoint) = h.open_sse(&[]).await;
    let refused = h
        .post_raw(
            &endpoint,
            &[("content-type", "text/plain")],
            serde_json::to_vec(&initialize_request(1, "2024-11-05")).unwrap(),
        )
        .await;
    refused.assert_error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        -32600,
        &["Content-Type must be application/json", "text/plain"],
    );
    let accepted = h
        .post_raw(
            &endpoint,
            &[],
            serde_json::to_vec(&initialize_request(2, "2024-11-05")).unwrap(),
        )
        .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.body);
    let first = events.expect_event("initialize answer").await.json();
    assert_eq!(first["id"], json!(2), "{first}");
}

/// `codex_<tool>` names the tool over `/sse` + `/messages` too (`docs/tools.md`).
#[tokio::test]
async fn a_codex_alias_calls_the_tool_over_sse() {
    let h = Harness::start().await;
    let (mut events, endpoint) = h.open_sse(&[]).await;
    let init = serde_json::to_vec(&initialize_request(1, "2024-11-05")).unwrap();
    h.post_raw(&endpoint, &[], init).await;
    events.expect_event("InitializeResult").await;
    let call = call_request(2, "codex_echo", json!({"text": "aliased"}));
    let reply = h
        .post_raw(&endpoint, &[], serde_json::to_vec(&call).unwrap())
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(
        events.expect_event("tools/call result").await.json(),
        json!({
            "jsonrpc": "2.0",
            "id": 2,
            "result": {"content": [{"type": "text", "text": "aliased"}]}
        })
    );
}
