//! The stateless 2026-07-28 era on `/mcp`: discovery, result decoration, pagination,
//! JSON and SSE answers.

use super::common;

use std::time::Duration;

use base64::Engine as _;
use codex_mcp_core::server::ServerOptions;
use common::*;
use pretty_assertions::assert_eq;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn server_info_meta(h: &Harness) -> Value {
    json!({"io.modelcontextprotocol/serverInfo": h.server.info()})
}

#[tokio::test]
async fn server_discover_describes_versions_capabilities_and_caching() {
    let h = Harness::start_with(Config {
        server: ServerOptions {
            instructions: Some("Use echo to test.".into()),
            list_ttl: Duration::from_secs(5),
            ..ServerOptions::default()
        },
        ..Config::default()
    })
    .await;
    let headers = modern_headers("server/discover", None);
    let reply = h
        .post_mcp(
            &borrow(&headers),
            &modern_request(1, "server/discover", json!({})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/json");
    assert_eq!(
        reply.body,
        json!({
            "jsonrpc": "2.0",
            "id": 1,
            "result": {
                "supportedVersions": [MODERN, LEGACY, "2025-06-18", "2025-03-26", "2024-11-05"],
                "capabilities": {"tools": {"listChanged": false}, "logging": {}},
                "instructions": "Use echo to test.",
                "resultType": "complete",
                "ttlMs": 5000,
                "cacheScope": "public",
                "_meta": server_info_meta(&h),
            }
        })
    );
    // No session is created by the stateless era.
    assert_eq!(h.server.sessions().len(), 0);
    assert!(reply.headers.get("mcp-session-id").is_none());
}

#[tokio::test]
async fn tools_list_pages_walk_every_tool_once_in_order() {
    let h = Harness::start_with(Config {
        server: ServerOptions {
            page_size: 3,
            list_ttl: Duration::from_millis(1500),
            ..ServerOptions::default()
        },
        extra_tools: 6,
        ..Config::default()
    })
    .await;
    let headers = modern_headers("tools/list", None);
    let mut names: Vec<String> = Vec::new();
    let mut sizes = Vec::new();
    let mut cursor: Option<String> = None;
    for id in 1.. {
        assert!(id < 20, "pagination does not terminate");
        let params = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        let reply = h
            .post_mcp(&borrow(&headers), &modern_request(id, "tools/list", params))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        let result = &reply.body["result"];
        assert_eq!(result["resultType"], json!("complete"));
        assert_eq!(result["ttlMs"], json!(1500));
        assert_eq!(result["cacheScope"], json!("public"));
        assert_eq!(result["_meta"], server_info_meta(&h));
        let page: Vec<String> = result["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect();
        sizes.push(page.len());
        names.extend(page);
        match result.get("nextCursor").and_then(Value::as_str) {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    let mut expected: Vec<String> = FIXTURE_TOOLS.iter().map(|s| s.to_string()).collect();
    expected.extend((0..6).map(|i| format!("extra_{i}")));
    assert_eq!(names, expected);
    assert_eq!(sizes, vec![3, 3, 3, 2]);
}

#[tokio::test]
async fn forged_cursors_are_invalid_params() {
    let h = Harness::start_with(Config {
        server: ServerOptions {
            page_size: 2,
            ..ServerOptions::default()
        },
        ..Config::default()
    })
    .await;
    let headers = modern_headers("tools/list", None);
    let past_end = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("offset:999");
    for (i, cursor) in [json!("not a cursor!"), json!(past_end), json!("")]
        .into_iter()
        .enumerate()
    {
        let reply = h
            .post_mcp(
                &borrow(&headers),
                &modern_request(i as i64, "tools/list", json!({"cursor": cursor})),
            )
            .await;
        reply.assert_error(StatusCode::OK, -32602, &["invalid cursor"]);
        assert!(
            reply.message().contains(cursor.as_str().unwrap()),
            "{}",
            reply.message()
        );
    }
    let reply = h
        .post_mcp(
            &borrow(&headers),
            &modern_request(9, "tools/list", json!({"cursor": 3})),
        )
        .await;
    reply.assert_error(StatusCode::OK, -32602, &["cursor must be a string"]);
}

#[tokio::test]
async fn tools_call_answers_json_with_result_type_and_server_info() {
    let h = Harness::start().await;
    let headers = modern_headers("tools/call", Some("echo"));
    let reply = h
        .post_mcp(
            &borrow(&headers),
            &modern_request(
                3,
                "tools/call",
                json!({"name": "echo", "arguments": {"text": "stateless"}}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    // Accept allowed SSE, but with nothing to stream the answer is plain JSON.
    assert_eq!(reply.content_type(), "application/json");
    assert_eq!(
        reply.body,
        json!({
            "jsonrpc": "2.0",
            "id": 3,
            "result": {
                "content": [{"type": "text", "text": "stateless"}],
                "resultType": "complete",
                "_meta": server_info_meta(&h),
            }
        })
    );
    assert_eq!(h.server.in_flight().len(), 0);
    // `codex_<tool>` names the tool on every transport (`docs/tools.md`); the mirror
    // header carries the name as sent.
    let headers = modern_headers("tools/call", Some("codex_echo"));
    let reply = h
        .post_mcp(
            &borrow(&headers),
            &modern_request(
                4,
                "tools/call",
                json!({"name": "codex_echo", "arguments": {"text": "aliased"}}),
            ),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body["result"]["content"],
        json!([{"type": "text", "text": "aliased"}])
    );
}

#[tokio::test]
async fn tools_call_with_progress_streams_notifications_then_the_response() {
    let h = Harness::start().await;
    let headers = modern_headers("tools/call", Some("progress"));
    let body = modern_request(
        4,
        "tools/call",
        json!({
            "name": "progress",
            "arguments": {"steps": 3, "delay_ms": 5},
            "_meta": {"progressToken": 77}
        }),
    );
    let response = h.post_mcp_response(&borrow(&headers), &body).await;
    assert_eq!(response.status(), StatusCode::OK);
    let mut events = SseReader::new(response);
    let mut progress = Vec::new();
    let result = loop {
        let event = events.expect_event("progress or response").await;
        assert_eq!(event.event.as_deref(), Some("message"));
        // Modern streams are not resumable: no event ids.
        assert_eq!(event.id, None);
        let message = event.json();
        if message["method"] == json!("notifications/progress") {
            assert_eq!(message["params"]["progressToken"], json!(77));
            progress.push(message["params"]["progress"].as_f64().unwrap());
        } else {
            break message;
        }
    };
    assert_eq!(progress, vec![1.0, 2.0, 3.0]);
    assert_eq!(
        result,
        json!({
            "jsonrpc": "2.0",
            "id": 4,
            "result": {
                "content": [{"type": "text", "text": "done after 3 steps"}],
                "resultType": "complete",
                "_meta": server_info_meta(&h),
            }
        })
    );
    events.expect_end("stream ends after the response").await;
    eventually(STEP, "stream and request released", || {
        h.open_streams() == 0 && h.server.in_flight().is_empty()
    })
    .await;
}

#[tokio::test]
async fn tool_failure_is_a_result_with_is_error() {
    let h = Harness::start().await;
    let headers = modern_headers("tools/call", Some("fail"));
    let reply = h
        .post_mcp(
            &borrow(&headers),
            &modern_request(5, "tools/call", json!({"name": "fail"})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body["result"]["content"],
        json!([{"type": "text", "text": "the fixture failed on purpose"}])
    );
    assert_eq!(reply.body["result"]["isError"], json!(true));
}

#[tokio::test]
async fn notifications_are_accepted_with_202() {
    let h = Harness::start().await;
    let headers = modern_headers("notifications/cancelled", None);
    let body = json!({
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {"requestId": 99, "_meta": modern_meta()}
    });
    let reply = h.post_mcp(&borrow(&headers), &body).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED);
    assert_eq!(reply.body, Value::Null);
}

#[tokio::test]
async fn legacy_only_methods_are_not_found_in_the_modern_era() {
    let h = Harness::start().await;
    for method in ["ping", "logging/setLevel", "initialize"] {
        let headers = modern_headers(method, None);
        let reply = h
            .post_mcp(&borrow(&headers), &modern_request(1, method, json!({})))
            .await;
        reply.assert_error(StatusCode::NOT_FOUND, -32601, &[method]);
    }
}

#[tokio::test]
async fn responses_from_clients_are_refused_in_the_modern_era() {
    let h = Harness::start().await;
    let reply = h
        .post_mcp(
            &[("mcp-protocol-version", MODERN)],
            &json!({"jsonrpc": "2.0", "id": 1, "result": {}}),
        )
        .await;
    reply.assert_error(
        StatusCode::BAD_REQUEST,
        -32600,
        &["responses", "2026-07-28"],
    );
}
