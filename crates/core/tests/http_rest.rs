//! `/tools/{name}`: plain JSON calls for scripts and curl.

mod common;

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
