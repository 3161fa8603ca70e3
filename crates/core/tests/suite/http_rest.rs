//! `/tools/{name}`: plain JSON calls for scripts and curl.

use super::common;

use common::*;
use pretty_assertions::assert_eq;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn post_with_arguments_returns_the_result() {
    let h = Harness::start().await;
    let reply = h
        .post_raw("/tools/echo", &[], r#"{"text": "rest works"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/json");
    assert_eq!(
        reply.body,
        json!({"content": [{"type": "text", "text": "rest works"}]})
    );
    assert_eq!(h.server.in_flight().len(), 0);
}

#[tokio::test]
async fn a_tool_that_fails_is_422() {
    let h = Harness::start().await;
    let reply = h.post_raw("/tools/fail", &[], "{}").await;
    assert_eq!(reply.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        reply.body,
        json!({
            "content": [{"type": "text", "text": "the fixture failed on purpose"}],
            "isError": true
        })
    );
}

#[tokio::test]
async fn an_unknown_tool_is_404() {
    let h = Harness::start().await;
    let reply = h.post_raw("/tools/nope", &[], "{}").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    let message = reply.body["error"].as_str().unwrap();
    assert!(message.contains("\"nope\""), "{message}");
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_400() {
    let h = Harness::start().await;
    let reply = h.post_raw("/tools/echo", &[], "[1, 2]").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reply.body,
        json!({"error": "the body must be a JSON object of arguments, got an array"})
    );
    let reply = h.post_raw("/tools/echo", &[], "{broken").await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body["error"]
            .as_str()
            .unwrap()
            .starts_with("the body is not valid JSON"),
        "{}",
        reply.body
    );
}

#[tokio::test]
async fn an_empty_body_means_no_arguments() {
    let h = Harness::start().await;
    let reply = h.post_raw("/tools/progress", &[], "").await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.body["content"][0]["text"],
        json!("done after 3 steps")
    );
}

#[tokio::test]
async fn get_on_a_tool_with_required_arguments_is_405() {
    let h = Harness::start().await;
    let response = within("GET /tools/echo", h.http.get(h.url("/tools/echo")).send())
        .await
        .unwrap();
    let reply = Reply::read(response).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        reply.body,
        json!({"error": "echo has required arguments: POST them as a JSON object"})
    );
}

#[tokio::test]
async fn get_on_a_tool_without_required_arguments_passes_query_strings() {
    let h = Harness::start().await;
    let response = within(
        "GET /tools/progress",
        h.http.get(h.url("/tools/progress?steps=1")).send(),
    )
    .await
    .unwrap();
    let reply = Reply::read(response).await;
    // Query parameters arrive as strings, so `steps` falls back to its default.
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        reply.body,
        json!({"content": [{"type": "text", "text": "done after 3 steps"}]})
    );
}

#[tokio::test]
async fn codex_prefixed_alias_resolves() {
    let h = Harness::start().await;
    let reply = h
        .post_raw("/tools/codex_echo", &[], r#"{"text": "aliased"}"#)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.body,
        json!({"content": [{"type": "text", "text": "aliased"}]})
    );
    let reply = h.post_raw("/tools/codex_nope", &[], "{}").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn oversized_rest_body_is_413() {
    let h = Harness::start_with(Config {
        http: codex_mcp_core::transport::http::HttpOptions {
            max_body_bytes: 64,
            ..Default::default()
        },
        ..Config::default()
    })
    .await;
    let reply = h
        .post_raw(
            "/tools/echo",
            &[],
            serde_json::to_vec(&json!({"text": "y".repeat(500)})).unwrap(),
        )
        .await;
    reply.assert_error(StatusCode::PAYLOAD_TOO_LARGE, -32600, &["64 bytes"]);
}

/// The attack: any web page can make a browser send a GET (`<img src=...>`), so a GET
/// on a tool that changes something or spends model credits would run it for the page.
/// `fail` has no read-only hint and `slow` is open-world (like a Codex tool): both are
/// refused before they start; a read-only server tool (`progress`) still answers.
#[tokio::test]
async fn get_refuses_tools_that_are_not_read_only_server_tools() {
    let h = Harness::start().await;
    let mut seen = Vec::new();
    for path in ["/tools/fail", "/tools/slow?ms=1", "/tools/progress?steps=1"] {
        let response = within(path, h.http.get(h.url(path)).send()).await.unwrap();
        let reply = Reply::read(response).await;
        seen.push((path, reply.status.as_u16()));
        if reply.status == StatusCode::METHOD_NOT_ALLOWED {
            let message = reply.body["error"].as_str().unwrap_or_default();
            assert!(
                message.contains("not a read-only server tool")
                    && message.contains("Content-Type: application/json"),
                "{message}"
            );
        }
    }
    assert_eq!(
        seen,
        vec![
            ("/tools/fail", 405),
            ("/tools/slow?ms=1", 405),
            ("/tools/progress?steps=1", 200),
        ]
    );
    assert_eq!(h.probes.slow_started(), 0, "the refused GET ran the tool");
}

/// The attack: a cross-site `<form>` or `fetch(..., {mode: "no-cors"})` posts
/// `text/plain` (or a form encoding) without a CORS preflight. Only
/// `application/json` is accepted (415 naming it), and the tool never starts.
#[tokio::test]
async fn post_without_a_json_content_type_is_415_and_runs_nothing() {
    let h = Harness::start().await;
    let mut seen = Vec::new();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        let reply = h
            .post_raw(
                "/tools/slow",
                &[("content-type", content_type)],
                r#"{"ms": 1}"#,
            )
            .await;
        seen.push((reply.status.as_u16(), reply.body["error"].clone()));
    }
    let response = within(
        "POST without Content-Type",
        h.http.post(h.url("/tools/slow")).body("{}").send(),
    )
    .await
    .unwrap();
    let reply = Reply::read(response).await;
    seen.push((reply.status.as_u16(), reply.body["error"].clone()));
    assert_eq!(
        seen,
        vec![
            (
                415,
                json!("Content-Type must be application/json, got \"text/plain\"")
            ),
            (
                415,
                json!(
                    "Content-Type must be application/json, got \"application/x-www-form-urlencoded\""
                )
            ),
            (
                415,
                json!(
                    "Content-Type must be application/json, got \"multipart/form-data; boundary=x\""
                )
            ),
            (415, json!("Content-Type must be application/json")),
        ]
    );
    assert_eq!(h.probes.slow_started(), 0, "a refused POST ran the tool");
    let reply = h
        .post_raw(
            "/tools/slow",
            &[("content-type", "application/json; charset=utf-8")],
            r#"{"ms": 1}"#,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}

/// The attack: a page served by another program on a loopback port (a dev server on
/// `http://localhost:3000`) calls mcpd on its own port. Loopback is not enough: the
/// `Origin` must be this server's own (same port) or configured.
#[tokio::test]
async fn loopback_origins_on_other_ports_are_refused() {
    let h = Harness::start().await;
    let port = h.addr.port();
    let own = format!("http://127.0.0.1:{port}");
    let other = if port == 3000 { 3001 } else { 3000 };
    let foreign = format!("http://localhost:{other}");
    let mut seen = Vec::new();
    for origin in [foreign.as_str(), own.as_str()] {
        let reply = h
            .post_raw("/tools/slow", &[("origin", origin)], r#"{"ms": 1}"#)
            .await;
        seen.push((origin.to_string(), reply.status.as_u16()));
    }
    assert_eq!(seen, vec![(foreign, 403), (own, 200)]);
    assert_eq!(h.probes.slow_started(), 1, "only the same-origin call ran");
}
