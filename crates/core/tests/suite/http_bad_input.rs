//! Bad input on the HTTP transports: each malformed or refused request gets its own
//! test asserting the HTTP status, the JSON-RPC error code and that the message names
//! the problem.

use super::common;

use common::*;
use pretty_assertions::assert_eq;
use reqwest::StatusCode;
use serde_json::json;

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const INVALID_PARAMS: i64 = -32602;
const HEADER_MISMATCH: i64 = -32020;
const UNSUPPORTED_VERSION: i64 = -32022;

#[tokio::test]
async fn malformed_json_is_a_parse_error() {
    let h = Harness::start().await;
    let reply = h.post_raw("/mcp", &[], "{not json").await;
    reply.assert_error(
        StatusCode::BAD_REQUEST,
        PARSE_ERROR,
        &["Parse error", "line 1"],
    );
    assert_eq!(reply.content_type(), "application/json");
}

#[tokio::test]
async fn non_utf8_body_is_a_parse_error_naming_utf8() {
    let h = Harness::start().await;
    let reply = h
        .post_raw("/mcp", &[], &b"\xff\xfe{\"jsonrpc\":\"2.0\"}"[..])
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, PARSE_ERROR, &["UTF-8"]);
}

#[tokio::test]
async fn deeply_nested_json_is_a_parse_error_and_the_server_survives() {
    let h = Harness::start().await;
    let deep = "[".repeat(100_000);
    let reply = h.post_raw("/mcp", &[], deep).await;
    reply.assert_error(StatusCode::BAD_REQUEST, PARSE_ERROR, &["recursion limit"]);

    // Closed brackets too: still refused, not a stack overflow.
    let balanced = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let reply = h.post_raw("/mcp", &[], balanced).await;
    reply.assert_error(StatusCode::BAD_REQUEST, PARSE_ERROR, &["recursion limit"]);

    let health = within("GET /health", h.http.get(h.url("/health")).send())
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let session = h.initialize().await;
    assert_eq!(session.len(), 32);
}

#[tokio::test]
async fn batch_arrays_are_refused_by_name() {
    let h = Harness::start().await;
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "id": 2, "method": "ping"}
    ]);
    let reply = h.post_mcp(&[], &batch).await;
    reply.assert_error(StatusCode::BAD_REQUEST, INVALID_REQUEST, &["batches"]);
}

#[tokio::test]
async fn missing_jsonrpc_member_is_an_invalid_request() {
    let h = Harness::start().await;
    let reply = h
        .post_mcp(&[], &json!({"id": 7, "method": "tools/list"}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    // The id is recovered so the client can correlate the error.
    assert_eq!(
        reply.body,
        json!({
            "jsonrpc": "2.0",
            "id": 7,
            "error": {"code": INVALID_REQUEST, "message": "Invalid request: missing \"jsonrpc\": \"2.0\""}
        })
    );
}

#[tokio::test]
async fn null_id_is_an_invalid_request() {
    let h = Harness::start().await;
    let reply = h
        .post_mcp(
            &[],
            &json!({"jsonrpc": "2.0", "id": null, "method": "tools/list"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({
            "jsonrpc": "2.0",
            "error": {"code": INVALID_REQUEST, "message": "Invalid request: \"id\" must not be null"}
        })
    );
}

#[tokio::test]
async fn non_string_method_is_an_invalid_request() {
    let h = Harness::start().await;
    let reply = h
        .post_mcp(&[], &json!({"jsonrpc": "2.0", "id": "m", "method": 42}))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({
            "jsonrpc": "2.0",
            "id": "m",
            "error": {"code": INVALID_REQUEST, "message": "Invalid request: \"method\" must be a string, got a number"}
        })
    );
}

#[tokio::test]
async fn unknown_method_in_a_legacy_session_is_200_method_not_found() {
    let h = Harness::start().await;
    let session = h.initialize().await;
    let reply = h
        .post_mcp(
            &legacy_headers(&session),
            &json!({"jsonrpc": "2.0", "id": 3, "method": "tools/frobnicate"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body,
        json!({
            "jsonrpc": "2.0",
            "id": 3,
            "error": {
                "code": METHOD_NOT_FOUND,
                "message": "Method not found: tools/frobnicate",
                "data": {"method": "tools/frobnicate"}
            }
        })
    );
}

#[tokio::test]
async fn unknown_method_in_the_modern_era_is_404_method_not_found() {
    let h = Harness::start().await;
    let headers = modern_headers("tools/frobnicate", None);
    let reply = h
        .post_mcp(
            &borrow(&headers),
            &modern_request(4, "tools/frobnicate", json!({})),
        )
        .await;
    reply.assert_error(
        StatusCode::NOT_FOUND,
        METHOD_NOT_FOUND,
        &["tools/frobnicate"],
    );
    assert_eq!(reply.body["id"], json!(4));
}

#[tokio::test]
async fn tools_call_without_name_is_invalid_params() {
    let h = Harness::start().await;
    let session = h.initialize().await;
    let reply = h
        .post_mcp(
            &legacy_headers(&session),
            &json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"arguments": {}}}),
        )
        .await;
    reply.assert_error(StatusCode::OK, INVALID_PARAMS, &["tools/call", "name"]);
    assert_eq!(reply.body["id"], json!(5));
}

#[tokio::test]
async fn unknown_tool_is_invalid_params_naming_it() {
    let h = Harness::start().await;
    let session = h.initialize().await;
    let reply = h
        .post_mcp(
            &legacy_headers(&session),
            &call_request(6, "no_such_tool", json!({})),
        )
        .await;
    reply.assert_error(StatusCode::OK, INVALID_PARAMS, &["no_such_tool"]);
}

#[tokio::test]
async fn oversized_body_is_413() {
    let h = Harness::start_with(Config {
        http: codex_mcp_core::transport::http::HttpOptions {
            max_body_bytes: 1024,
            ..Default::default()
        },
        ..Config::default()
    })
    .await;
    let big = call_request(1, "echo", json!({"text": "x".repeat(4096)}));
    let reply = h.post_mcp(&[], &big).await;
    reply.assert_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        INVALID_REQUEST,
        &["exceeds the limit of 1024 bytes"],
    );
    // A body under the limit still works on the same server.
    let reply = h.post_mcp(&[], &initialize_request(2, LEGACY)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn missing_session_header_on_a_legacy_request_is_400() {
    let h = Harness::start().await;
    let reply = h
        .post_mcp(
            &[("mcp-protocol-version", LEGACY)],
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        )
        .await;
    reply.assert_error(
        StatusCode::BAD_REQUEST,
        INVALID_REQUEST,
        &["Mcp-Session-Id"],
    );
}

#[tokio::test]
async fn unknown_session_is_404() {
    let h = Harness::start().await;
    let bogus = "0123456789abcdef0123456789abcdef";
    let reply = h
        .post_mcp(
            &legacy_headers(bogus),
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        )
        .await;
    reply.assert_error(
        StatusCode::NOT_FOUND,
        INVALID_REQUEST,
        &[bogus, "not found"],
    );
}

#[tokio::test]
async fn a_deleted_session_cannot_be_reused() {
    let h = Harness::start().await;
    let session = h.initialize().await;
    let deleted = within(
        "DELETE /mcp",
        h.http
            .delete(h.url("/mcp"))
            .header("mcp-session-id", &session)
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(deleted.status(), StatusCode::OK);
    let reply = h
        .post_mcp(
            &legacy_headers(&session),
            &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        )
        .await;
    reply.assert_error(
        StatusCode::NOT_FOUND,
        INVALID_REQUEST,
        &[&session, "not found"],
    );
    let again = within(
        "second DELETE",
        h.http
            .delete(h.url("/mcp"))
            .header("mcp-session-id", &session)
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn foreign_origin_is_403() {
    let h = Harness::start().await;
    let reply = h
        .post_mcp(
            &[("origin", "http://evil.example")],
            &initialize_request(1, LEGACY),
        )
        .await;
    reply.assert_error(
        StatusCode::FORBIDDEN,
        INVALID_REQUEST,
        &["Origin", "evil.example"],
    );
    // The server's own origin passes; a loopback origin on another port does not.
    let own = format!("http://localhost:{}", h.addr.port());
    let reply = h
        .post_mcp(&[("origin", own.as_str())], &initialize_request(1, LEGACY))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let other = format!("http://localhost:{}", h.addr.port().wrapping_add(1));
    let reply = h
        .post_mcp(
            &[("origin", other.as_str())],
            &initialize_request(1, LEGACY),
        )
        .await;
    reply.assert_error(StatusCode::FORBIDDEN, INVALID_REQUEST, &["Origin", &other]);
}

#[tokio::test]
async fn foreign_host_is_403_on_every_route() {
    let h = Harness::start().await;
    let reply = h
        .post_mcp(
            &[("host", "evil.example:8210")],
            &initialize_request(1, LEGACY),
        )
        .await;
    reply.assert_error(
        StatusCode::FORBIDDEN,
        INVALID_REQUEST,
        &["Host", "evil.example"],
    );
    let health = within(
        "GET /health with a foreign Host",
        h.http
            .get(h.url("/health"))
            .header("host", "rebind.example")
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(health.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn protocol_version_header_disagreeing_with_meta_is_header_mismatch() {
    let h = Harness::start().await;
    let mut headers = modern_headers("tools/list", None);
    headers[0].1 = LEGACY.to_string();
    let reply = h
        .post_mcp(
            &borrow(&headers),
            &modern_request(1, "tools/list", json!({})),
        )
        .await;
    reply.assert_error(
        StatusCode::BAD_REQUEST,
        HEADER_MISMATCH,
        &["MCP-Protocol-Version", LEGACY, MODERN],
    );
}

#[tokio::test]
async fn method_header_disagreeing_with_body_is_header_mismatch() {
    let h = Harness::start().await;
    let headers = modern_headers("tools/call", None);
    let reply = h
        .post_mcp(
            &borrow(&headers),
            &modern_request(1, "tools/list", json!({})),
        )
        .await;
    reply.assert_error(
        StatusCode::BAD_REQUEST,
        HEADER_MISMATCH,
        &["Mcp-Method", "tools/call", "tools/list"],
    );
}

#[tokio::test]
async fn missing_method_header_is_header_mismatch() {
    let h = Harness::start().await;
    let reply = h
        .post_mcp(
            &[("mcp-protocol-version", MODERN)],
            &modern_request(1, "tools/list", json!({})),
        )
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, HEADER_MISMATCH, &["Mcp-Method"]);
}

#[tokio::test]
async fn name_header_disagreeing_with_tool_name_is_header_mismatch() {
    let h = Harness::start().await;
    let headers = modern_headers("tools/call", Some("fail"));
    let reply = h
        .post_mcp(
            &borrow(&headers),
            &modern_request(
                1,
                "tools/call",
                json!({"name": "echo", "arguments": {"text": "hi"}}),
            ),
        )
        .await;
    reply.assert_error(
        StatusCode::BAD_REQUEST,
        HEADER_MISMATCH,
        &["Mcp-Name", "fail", "echo"],
    );
    // Without the header at all.
    let headers = modern_headers("tools/call", None);
    let reply = h
        .post_mcp(
            &borrow(&headers),
            &modern_request(
                2,
                "tools/call",
                json!({"name": "echo", "arguments": {"text": "hi"}}),
            ),
        )
        .await;
    reply.assert_error(StatusCode::BAD_REQUEST, HEADER_MISMATCH, &["Mcp-Name"]);
}

#[tokio::test]
async fn unsupported_version_is_32022_with_requested_and_supported() {
    let h = Harness::start().await;
    let mut headers = modern_headers("tools/list", None);
    headers[0].1 = "v999".to_string();
    let body = json!({
        "jsonrpc": "2.0",
        "id": 9,
        "method": "tools/list",
        "params": {"_meta": {
            "io.modelcontextprotocol/protocolVersion": "v999",
            "io.modelcontextprotocol/clientCapabilities": {}
        }}
    });
    let reply = h.post_mcp(&borrow(&headers), &body).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({
            "jsonrpc": "2.0",
            "id": 9,
            "error": {
                "code": UNSUPPORTED_VERSION,
                "message": "Unsupported protocol version: v999",
                "data": {"requested": "v999", "supported": [MODERN]}
            }
        })
    );
}

#[tokio::test]
async fn modern_request_without_meta_is_400_invalid_params() {
    let h = Harness::start().await;
    let headers = modern_headers("tools/list", None);
    let reply = h
        .post_mcp(
            &borrow(&headers),
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}),
        )
        .await;
    reply.assert_error(
        StatusCode::BAD_REQUEST,
        INVALID_PARAMS,
        &["_meta", "io.modelcontextprotocol/protocolVersion"],
    );
}

#[tokio::test]
async fn modern_meta_without_capabilities_is_400_invalid_params() {
    let h = Harness::start().await;
    let headers = modern_headers("tools/list", None);
    let body = json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/list",
        "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": MODERN}}
    });
    let reply = h.post_mcp(&borrow(&headers), &body).await;
    reply.assert_error(
        StatusCode::BAD_REQUEST,
        INVALID_PARAMS,
        &["io.modelcontextprotocol/clientCapabilities"],
    );
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let h = Harness::start().await;
    let body = serde_json::to_vec(&initialize_request(1, LEGACY)).unwrap();
    let reply = h
        .post_raw("/mcp", &[("content-type", "text/plain")], body)
        .await;
    reply.assert_error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        INVALID_REQUEST,
        &["Content-Type", "application/json", "text/plain"],
    );
    // A charset parameter is fine.
    let body = serde_json::to_vec(&initialize_request(1, LEGACY)).unwrap();
    let reply = h
        .post_raw(
            "/mcp",
            &[("content-type", "application/json; charset=utf-8")],
            body,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

#[tokio::test]
async fn missing_content_type_is_415() {
    let h = Harness::start().await;
    let response = within(
        "POST without Content-Type",
        h.http
            .post(h.url("/mcp"))
            .body(serde_json::to_vec(&initialize_request(1, LEGACY)).unwrap())
            .send(),
    )
    .await
    .unwrap();
    let reply = Reply::read(response).await;
    reply.assert_error(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        INVALID_REQUEST,
        &["Content-Type"],
    );
}

#[tokio::test]
async fn modern_get_and_delete_are_405() {
    let h = Harness::start().await;
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let response = within(
            "modern GET/DELETE",
            h.http
                .request(method.clone(), h.url("/mcp"))
                .header("mcp-protocol-version", MODERN)
                .header("accept", "text/event-stream")
                .send(),
        )
        .await
        .unwrap();
        let reply = Reply::read(response).await;
        reply.assert_error(
            StatusCode::METHOD_NOT_ALLOWED,
            INVALID_REQUEST,
            &["2026-07-28"],
        );
        assert_eq!(
            reply.headers.get("allow").map(|v| v.to_str().unwrap()),
            Some("POST"),
            "{method}"
        );
    }
}

#[tokio::test]
async fn get_stream_without_event_stream_accept_is_406() {
    let h = Harness::start().await;
    let session = h.initialize().await;
    let response = within(
        "GET /mcp with Accept: application/json",
        h.http
            .get(h.url("/mcp"))
            .header("accept", "application/json")
            .header("mcp-session-id", &session)
            .send(),
    )
    .await
    .unwrap();
    let reply = Reply::read(response).await;
    reply.assert_error(
        StatusCode::NOT_ACCEPTABLE,
        INVALID_REQUEST,
        &["text/event-stream"],
    );
}

#[tokio::test]
async fn invalid_legacy_version_header_is_400() {
    let h = Harness::start().await;
    let session = h.initialize().await;
    let reply = h
        .post_mcp(
            &[
                ("mcp-session-id", session.as_str()),
                ("mcp-protocol-version", "1999-01-01"),
            ],
            &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        )
        .await;
    reply.assert_error(
        StatusCode::BAD_REQUEST,
        UNSUPPORTED_VERSION,
        &["1999-01-01"],
    );
}

#[tokio::test]
async fn unknown_route_is_404_pointing_at_mcp() {
    let h = Harness::start().await;
    let response = within("GET /nope", h.http.get(h.url("/nope")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let text = within("body", response.text()).await.unwrap();
    assert!(text.contains("/mcp"), "{text}");
}

#[tokio::test]
async fn streams_beyond_the_limit_are_503() {
    let h = Harness::start_with(Config {
        http: codex_mcp_core::transport::http::HttpOptions {
            max_streams: 1,
            ..Default::default()
        },
        ..Config::default()
    })
    .await;
    let first = h.initialize().await;
    let second = h.initialize().await;
    let mut open = SseReader::new(h.open_get_stream(&first).await);
    open.expect_event("priming").await;
    let refused = Reply::read(h.open_get_stream(&second).await).await;
    refused.assert_error(
        StatusCode::SERVICE_UNAVAILABLE,
        -32603,
        &["too many open streams"],
    );
    drop(open);
    eventually(STEP, "the permit comes back", || h.open_streams() == 0).await;
    let again = h.open_get_stream(&second).await;
    assert_eq!(again.status(), StatusCode::OK);
}

#[tokio::test]
async fn sessions_beyond_the_limit_are_503() {
    let h = Harness::start_with(Config {
        server: codex_mcp_core::server::ServerOptions {
            max_sessions: 1,
            ..Default::default()
        },
        ..Config::default()
    })
    .await;
    // A session with its stream open is busy: it is never closed to make room.
    let first = h.initialize().await;
    let mut stream = SseReader::new(h.open_get_stream(&first).await);
    stream.expect_event("priming").await;
    let reply = h.post_mcp(&[], &initialize_request(2, LEGACY)).await;
    reply.assert_error(
        StatusCode::SERVICE_UNAVAILABLE,
        -32603,
        &["too many open sessions", "MCPD_MAX_SESSIONS=1"],
    );
    assert!(reply.headers.get("mcp-session-id").is_none());
}

#[tokio::test]
async fn an_initialize_flood_cannot_lock_out_new_or_working_clients() {
    let h = Harness::start_with(Config {
        server: codex_mcp_core::server::ServerOptions {
            max_sessions: 4,
            ..Default::default()
        },
        ..Config::default()
    })
    .await;
    let ping = |id: i64| json!({"jsonrpc": "2.0", "id": id, "method": "ping"});
    // A client that works (idle between requests) and one with its stream open.
    let working = h.initialize().await;
    assert_eq!(
        h.post_mcp(&legacy_headers(&working), &ping(1)).await.status,
        StatusCode::OK
    );
    let streaming = h.initialize().await;
    let mut stream = SseReader::new(h.open_get_stream(&streaming).await);
    stream.expect_event("priming").await;
    // The flood: far more handshakes than the table holds, none used afterwards.
    for i in 0..20 {
        let reply = h.post_mcp(&[], &initialize_request(100 + i, LEGACY)).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "initialize {i}: {}",
            reply.body
        );
    }
    assert_eq!(h.server.sessions().len(), 4);
    // Both earlier clients still work; a new client still gets in.
    for session in [&working, &streaming] {
        let reply = h.post_mcp(&legacy_headers(session), &ping(2)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let newcomer = h.initialize().await;
    assert_eq!(
        h.post_mcp(&legacy_headers(&newcomer), &ping(3))
            .await
            .status,
        StatusCode::OK
    );
    drop(stream);
}
