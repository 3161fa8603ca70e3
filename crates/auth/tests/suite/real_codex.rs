//! The scheme against the real Codex CLI: an agent whose access token has expired asks the
//! server's broker (not OpenAI) for new tokens, with its ticket; the server refreshes once
//! upstream with the real refresh token, writes the host file, and the agent's turn goes
//! on with the new token.
//!
//! Uses the pinned Codex binary from `codex-mcp-testkit` (or `CODEX_BIN`). Everything
//! stays on 127.0.0.1.

use super::common;

use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use codex_mcp_auth::{
    AGENT_ENV_REMOVE, BrokerKey, DetectInputs, REFRESH_URL_ENV, RefreshConfig, TokenRefresher,
    write_agent_auth,
};
use common::{Login, Script, codex_file, endpoint, read_json, unix_now, write_json};
use serde_json::{Value, json};

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn sse(text: &str) -> String {
    let events = [
        (
            "response.created",
            json!({"type": "response.created", "response": {"id": "r1"}}),
        ),
        (
            "response.output_item.done",
            json!({"type": "response.output_item.done", "item": {"type": "message", "role": "assistant",
                   "id": "m1", "content": [{"type": "output_text", "text": text}]}}),
        ),
        (
            "response.completed",
            json!({"type": "response.completed", "response": {"id": "r1", "usage": {
                "input_tokens": 1, "output_tokens": 1, "total_tokens": 2,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens_details": {"reasoning_tokens": 0}}}}),
        ),
    ];
    events
        .iter()
        .map(|(t, d)| format!("event: {t}\ndata: {d}\n\n"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_agent_refreshes_through_the_broker() {
    // The pinned Codex from the test kit (installed on first use; a failure is fatal
    // under CI=true, never a silent skip).
    let Some(codex) = codex_mcp_testkit::codex_bin_or_skip() else {
        return;
    };
    let codex = codex.display().to_string();
    let t = tempfile::tempdir().unwrap();
    let host = t.path().join("host");
    let expired = Login::expiring_at(unix_now() - 60);
    write_json(&codex_file(&host), &expired.auth_json());

    let new_exp = unix_now() + 10 * 24 * 3600;
    let upstream = endpoint(Script::Succeed {
        tag: "gen2",
        exp: new_exp,
    })
    .await;
    let mut fresh = Login::expiring_at(new_exp);
    fresh.tag = "gen2".into();

    let key = BrokerKey::random();
    let config = RefreshConfig {
        token_url: upstream.url.clone(),
        ..RefreshConfig::default()
    };
    let inputs = DetectInputs {
        home: Some(host.clone()),
        ..Default::default()
    };
    let refresher = TokenRefresher::new(inputs, config, key.clone()).unwrap();

    // The model server accepts only the refreshed access token.
    let wanted = format!("Bearer {}", fresh.access_token());
    let model = axum::Router::new()
        .route(
            "/v1/models",
            get(|| async { axum::Json(json!({"data": [], "models": []})) }),
        )
        .route(
            "/v1/responses",
            post(move |headers: HeaderMap| {
                let wanted = wanted.clone();
                async move {
                    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
                    if auth == Some(wanted.as_str()) {
                        (
                            StatusCode::OK,
                            [("content-type", "text/event-stream")],
                            sse("hello from gen2"),
                        )
                    } else {
                        (
                            StatusCode::UNAUTHORIZED,
                            [("content-type", "application/json")],
                            "{}".to_string(),
                        )
                    }
                }
            }),
        );
    let model_base = serve(model).await;
    let broker_refresher = refresher.clone();
    let broker = axum::Router::new().route(
        "/auth/token",
        post(move |body: axum::body::Bytes| {
            let r = broker_refresher.clone();
            async move {
                let reply = r.handle_agent_refresh(&body).await;
                (
                    StatusCode::from_u16(reply.status).unwrap(),
                    [("content-type", "application/json")],
                    reply.body().to_vec(),
                )
            }
        }),
    );
    let broker_url = format!("{}/auth/token", serve(broker).await);

    // The agent's home: the expired login as the server had it, with the agent's ticket.
    let agent_home = t.path().join("agent-home");
    let file = refresher
        .current()
        .unwrap()
        .agent_auth_file(&key.ticket("agent-1"));
    write_agent_auth(&agent_home, &file).unwrap();
    std::fs::write(
        agent_home.join("config.toml"),
        format!(
            "model = \"gpt-5.1-codex\"\nmodel_provider = \"scripted\"\n\
             [model_providers.scripted]\nname = \"scripted\"\nbase_url = \"{model_base}/v1\"\n\
             wire_api = \"responses\"\nrequires_openai_auth = true\nrequest_max_retries = 0\n\
             stream_max_retries = 0\n[features]\napps = false\nbrowser_use = false\ncomputer_use = false\n"
        ),
    )
    .unwrap();

    let mut cmd = tokio::process::Command::new(codex);
    cmd.args([
        "exec",
        "--json",
        "--skip-git-repo-check",
        "--ephemeral",
        "say hi",
    ])
    .current_dir(t.path())
    .env("CODEX_HOME", &agent_home)
    .env(REFRESH_URL_ENV, &broker_url)
    .stdin(std::process::Stdio::null());
    for name in AGENT_ENV_REMOVE.iter().filter(|n| **n != REFRESH_URL_ENV) {
        cmd.env_remove(name);
    }
    let out = tokio::time::timeout(Duration::from_secs(120), cmd.output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "codex failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("hello from gen2"), "{stdout}");

    // One upstream refresh, with the real refresh token, sent by the server.
    assert_eq!(upstream.hits(), 1);
    assert_eq!(
        upstream.bodies.lock().unwrap()[0]["refresh_token"],
        json!(expired.refresh_token())
    );
    // The host is logged in with the new tokens; the agent still holds only its ticket.
    let host_file = read_json(&codex_file(&host));
    assert_eq!(
        host_file["tokens"]["refresh_token"],
        json!(fresh.refresh_token())
    );
    let agent_file: Value = read_json(&agent_home.join("auth.json"));
    assert_eq!(
        agent_file["tokens"]["refresh_token"],
        json!(key.ticket("agent-1").expose())
    );
    assert_eq!(
        agent_file["tokens"]["access_token"],
        json!(fresh.access_token())
    );
}
