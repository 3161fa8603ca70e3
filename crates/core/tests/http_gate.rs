//! The checks in front of every route: a foreign `Host` is refused before anything else
//! (403, `/health` included), and with bearer tokens configured every route but
//! `/health` needs a known token (401 with `WWW-Authenticate`).

mod common;

use std::sync::Arc;

use codex_mcp_core::transport::http::bearer::{ANY_AGENT, TokenGrant, TokenTable};
use common::*;
use pretty_assertions::assert_eq;

const TOKEN: &str = "gate-test-token";

async fn with_tokens() -> Harness {
    let table = TokenTable::new(vec![TokenGrant {
        name: "tests".into(),
        sha256: TokenTable::digest(TOKEN),
        agents: vec![ANY_AGENT.into()],
    }])
    .expect("token table");
    let mut config = Config::default();
    config.http.tokens = Some(Arc::new(table));
    Harness::start_with(config).await
}

/// Status and `WWW-Authenticate` of a GET to `path` with the given headers.
async fn get(h: &Harness, path: &str, headers: &[(&str, &str)]) -> (u16, Option<String>) {
    let mut req = h.http.get(h.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = within(&format!("GET {path}"), req.send())
        .await
        .expect("GET");
    let challenge = response
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    (response.status().as_u16(), challenge)
}

#[tokio::test]
async fn tokens_guard_every_route_but_health() {
    let h = with_tokens().await;
    let challenge = Some("Bearer realm=\"mcpd\"".to_string());
    let bearer = format!("Bearer {TOKEN}");
    let mut seen = Vec::new();
    for path in ["/mcp", "/tools/health_check", "/metrics", "/no/such/route"] {
        seen.push((path, "none", get(&h, path, &[]).await));
        seen.push((
            path,
            "wrong",
            get(&h, path, &[("authorization", "Bearer nope")]).await,
        ));
    }
    seen.push(("/health", "none", get(&h, "/health", &[]).await));
    // A known token passes the gate: the route itself answers (`fail` is an
    // argument-less fixture tool whose error REST reports as 422).
    seen.push((
        "/tools/fail",
        "right",
        get(&h, "/tools/fail", &[("authorization", &bearer)]).await,
    ));
    let expected = vec![
        ("/mcp", "none", (401, challenge.clone())),
        ("/mcp", "wrong", (401, challenge.clone())),
        ("/tools/health_check", "none", (401, challenge.clone())),
        ("/tools/health_check", "wrong", (401, challenge.clone())),
        ("/metrics", "none", (401, challenge.clone())),
        ("/metrics", "wrong", (401, challenge.clone())),
        ("/no/such/route", "none", (401, challenge.clone())),
        ("/no/such/route", "wrong", (401, challenge)),
        ("/health", "none", (200, None)),
        ("/tools/fail", "right", (422, None)),
    ];
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn a_foreign_host_is_refused_before_the_token_is_looked_at() {
    let h = with_tokens().await;
    let bearer = format!("Bearer {TOKEN}");
    let foreign = [("host", "evil.example")];
    let with_token = [("host", "evil.example"), ("authorization", bearer.as_str())];
    let seen = vec![
        get(&h, "/health", &foreign).await,
        get(&h, "/mcp", &foreign).await,
        get(&h, "/tools/health_check", &with_token).await,
    ];
    assert_eq!(seen, vec![(403, None), (403, None), (403, None)]);
}

/// POSTs `echo` as `token` over REST; returns the status and the JSON body.
async fn rest_echo(h: &Harness, token: &str) -> (u16, serde_json::Value) {
    let response = within(
        "POST /tools/echo",
        h.http
            .post(h.url("/tools/echo"))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body(r#"{"text": "hi"}"#)
            .send(),
    )
    .await
    .expect("POST");
    let status = response.status().as_u16();
    (
        status,
        within("body", response.json()).await.expect("JSON body"),
    )
}

#[tokio::test]
async fn one_token_cannot_hold_more_than_its_share_of_calls() {
    const OTHER: &str = "gate-test-token-other";
    let table = TokenTable::new(vec![
        TokenGrant {
            name: "greedy".into(),
            sha256: TokenTable::digest(TOKEN),
            agents: vec![ANY_AGENT.into()],
        },
        TokenGrant {
            name: "other".into(),
            sha256: TokenTable::digest(OTHER),
            agents: vec![ANY_AGENT.into()],
        },
    ])
    .expect("token table");
    let mut config = Config::default();
    config.http.tokens = Some(Arc::new(table));
    config.server.max_calls_per_token = 2;
    let h = Harness::start_with(config).await;

    let held: Vec<_> = (0..2).map(|_| h.start_slow_call(Some(TOKEN))).collect();
    eventually(STEP, "both slow calls run", || h.probes.slow_started() == 2).await;
    // The third call of the same token is refused at once, naming the limit.
    let (status, body) = rest_echo(&h, TOKEN).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["isError"], true);
    let text = body["content"][0]["text"].as_str().unwrap_or_default();
    for needle in ["\"greedy\"", "MCPD_MAX_CALLS_PER_TOKEN=2"] {
        assert!(text.contains(needle), "{needle} missing: {text}");
    }
    // Another token is not affected.
    assert_eq!(
        rest_echo(&h, OTHER).await,
        (
            200,
            serde_json::json!({"content": [{"type": "text", "text": "hi"}]})
        )
    );
    // When one call ends, the greedy token gets in again.
    held[0].abort();
    eventually(STEP, "the aborted call frees its place", || {
        h.server.in_flight().len() == 1
    })
    .await;
    let (status, body) = rest_echo(&h, TOKEN).await;
    assert_eq!(status, 200, "{body}");
    held[1].abort();
}
