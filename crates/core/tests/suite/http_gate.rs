//! The checks in front of every route: a foreign `Host` is refused before anything else
//! (403, `/health` included), and with bearer tokens configured every route but
//! `/health` needs a known token (401 with `WWW-Authenticate`).

use super::common;

use std::sync::Arc;

use codex_mcp_core::transport::http::bearer::{ANY_AGENT, TokenGrant, TokenTable};
use common::*;
use pretty_assertions::assert_eq;

const TOKEN: &str = "gate-test-token";

async fn with_tokens() -> Harness {
    with_tokens_and(Config::default()).await
}

async fn with_tokens_and(mut config: Config) -> Harness {
    let table = TokenTable::new(vec![TokenGrant {
        name: "tests".into(),
        sha256: TokenTable::digest(TOKEN),
        agents: vec![ANY_AGENT.into()],
        admin: false,
    }])
    .expect("token table");
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
    // argument-less fixture tool, not read-only, so REST refuses a GET of it: 405).
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
        ("/tools/fail", "right", (405, None)),
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

/// The attack: the embedder's own routes (mcpd's token broker at
/// `/auth/oauth/token`) were merged after the gate, so a DNS-rebound page (foreign
/// `Host`) or a cross-site `Origin` reached them. Routes added through `router_with`
/// are behind the `Host`/`Origin` check, and only the paths named in
/// `bearer_exempt_paths` skip the bearer check.
#[tokio::test]
async fn embedder_routes_sit_behind_the_gate_and_only_named_ones_skip_the_token() {
    let extra = axum::Router::new()
        .route("/self-auth", axum::routing::get(|| async { "self" }))
        .route("/extra", axum::routing::get(|| async { "extra" }));
    let mut config = Config {
        extra_routes: extra,
        ..Config::default()
    };
    config.http.bearer_exempt_paths = vec!["/self-auth".into()];
    let h = with_tokens_and(config).await;
    let bearer = format!("Bearer {TOKEN}");
    let challenge = Some("Bearer realm=\"mcpd\"".to_string());
    let seen = vec![
        get(&h, "/self-auth", &[("host", "evil.example")]).await,
        get(&h, "/self-auth", &[("origin", "http://evil.example")]).await,
        get(&h, "/self-auth", &[]).await,
        get(&h, "/extra", &[]).await,
        get(&h, "/extra", &[("authorization", &bearer)]).await,
    ];
    assert_eq!(
        seen,
        vec![
            (403, None),
            (403, None),
            (200, None),
            (401, challenge),
            (200, None)
        ]
    );
}

/// Status and JSON body of `GET /health` with the given headers.
async fn health(h: &Harness, headers: &[(&str, &str)]) -> (u16, serde_json::Value) {
    let mut req = h.http.get(h.url("/health"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = within("GET /health", req.send()).await.expect("GET");
    let status = response.status().as_u16();
    (
        status,
        within("health body", response.json()).await.expect("JSON"),
    )
}

struct Secrets;

impl codex_mcp_core::transport::http::HealthReporter for Secrets {
    fn report(&self) -> serde_json::Value {
        serde_json::json!({"credentials": {"source": "/home/me/.codex/auth.json"}})
    }
}

/// The attack: anyone who can reach the port reads `/health`, which names credential
/// files and their problems. With tokens on, a caller without a valid token gets only
/// status and version; the full report needs a token.
#[tokio::test]
async fn health_without_a_valid_token_is_minimal() {
    let mut config = Config::default();
    config.http.health = Some(Arc::new(Secrets));
    let h = with_tokens_and(config).await;
    let bearer = format!("Bearer {TOKEN}");
    let minimal = serde_json::json!({"status": "ok", "version": h.server.info().version});
    assert_eq!(health(&h, &[]).await, (200, minimal.clone()));
    assert_eq!(
        health(&h, &[("authorization", "Bearer wrong")]).await,
        (200, minimal)
    );
    let (status, full) = health(&h, &[("authorization", &bearer)]).await;
    assert_eq!(
        (status, &full["credentials"]["source"]),
        (200, &serde_json::json!("/home/me/.codex/auth.json"))
    );
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
            admin: false,
        },
        TokenGrant {
            name: "other".into(),
            sha256: TokenTable::digest(OTHER),
            agents: vec![ANY_AGENT.into()],
            admin: false,
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

/// The gate checks the bearer token once and hands its grant on in the request's
/// extensions: a route behind it (here an embedder's) reads the caller from there
/// instead of looking at the `Authorization` header again.
#[tokio::test]
async fn the_gate_hands_the_callers_grant_to_the_route() {
    use codex_mcp_core::transport::http::Caller;
    let extra = axum::Router::new().route(
        "/whoami",
        axum::routing::get(|caller: Option<axum::Extension<Caller>>| async move {
            caller.map_or_else(|| "nobody".to_string(), |c| c.0.0.name.clone())
        }),
    );
    let mut config = Config {
        extra_routes: extra,
        ..Config::default()
    };
    config.http.bearer_exempt_paths = vec!["/whoami".into()];
    let h = with_tokens_and(config).await;
    let bearer = format!("Bearer {TOKEN}");
    let mut seen = Vec::new();
    for headers in [vec![("authorization", bearer.as_str())], vec![]] {
        let mut req = h.http.get(h.url("/whoami"));
        for (k, v) in headers {
            req = req.header(k, v);
        }
        let response = within("GET /whoami", req.send()).await.expect("GET");
        seen.push(response.text().await.expect("body"));
    }
    assert_eq!(seen, vec!["tests".to_string(), "nobody".to_string()]);
}
