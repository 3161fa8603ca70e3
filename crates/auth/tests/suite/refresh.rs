//! Shared-login safety: one refresher, one request, everybody (host included) updated.

use super::common;

use std::sync::Arc;
use std::time::Duration;

use codex_mcp_auth::{
    AuthError, BrokerKey, DetectInputs, Login as CredLogin, RefreshConfig, RefreshError, Secret,
    TokenRefresher,
};
use common::{Login, Script, TokenEndpoint, codex_file, endpoint, read_json, unix_now, write_json};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const DAY: i64 = 24 * 3600;

fn key() -> BrokerKey {
    BrokerKey::from_bytes([9; 32])
}

fn refresher(home: &std::path::Path, endpoint: &TokenEndpoint) -> TokenRefresher {
    common::refresher_at(home, endpoint, key())
}

fn access_token_of(creds: &codex_mcp_auth::Credentials) -> String {
    match creds.login() {
        CredLogin::ChatGpt(l) => l.tokens.access_token.expose().to_string(),
        CredLogin::ApiKey(_) => panic!("not a ChatGPT login"),
    }
}

fn gen2(exp: i64) -> Login {
    let mut l = Login::expiring_at(exp);
    l.tag = "gen2".into();
    l
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_forced_refreshes_make_one_request_and_update_the_host() {
    let t = tempfile::tempdir().unwrap();
    let first = Login::expiring_at(unix_now() + 10 * DAY);
    write_json(&codex_file(t.path()), &first.auth_json());
    let new_exp = unix_now() + 10 * DAY + 500;
    let endpoint = endpoint(Script::Succeed {
        tag: "gen2",
        exp: new_exp,
    })
    .await;
    let r = refresher(t.path(), &endpoint);
    let seen = r.current().unwrap();

    let calls: Vec<_> = (0..20)
        .map(|_| {
            let (r, seen) = (r.clone(), seen.clone());
            tokio::spawn(async move { r.force_refresh(&seen).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for call in calls {
        tokens.push(access_token_of(&call.await.unwrap().unwrap()));
    }

    assert_eq!(endpoint.hits(), 1);
    let expected = gen2(new_exp);
    assert_eq!(tokens, vec![expected.access_token(); 20]);
    assert_eq!(
        endpoint.bodies.lock().unwrap().clone(),
        vec![json!({
            "client_id": "app_EMoamEEZ73f0CkXaXp7hrann",
            "grant_type": "refresh_token",
            "refresh_reason": "unauthorized_recovery",
            "refresh_token": first.refresh_token(),
        })]
    );

    // The host's file now holds the new login, and nothing else was lost.
    let mut host = read_json(&codex_file(t.path()));
    let last_refresh = host["last_refresh"].as_str().unwrap().to_string();
    let refreshed_at = chrono::DateTime::parse_from_rfc3339(&last_refresh).unwrap();
    assert!((unix_now() - refreshed_at.timestamp()).abs() < 60);
    host["last_refresh"] = Value::Null;
    let mut want = expected.auth_json();
    want["last_refresh"] = Value::Null;
    assert_eq!(host, want);

    // The status reflects the new expiry.
    let status = r.status();
    assert_eq!(status.problems, Vec::<String>::new());
    assert!(status.expires_in_secs.unwrap() > 10 * DAY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_login_is_refreshed_once_for_twenty_agents() {
    let t = tempfile::tempdir().unwrap();
    write_json(
        &codex_file(t.path()),
        &Login::expiring_at(unix_now() + 600).auth_json(),
    );
    let new_exp = unix_now() + 10 * DAY;
    let endpoint = endpoint(Script::Succeed {
        tag: "gen2",
        exp: new_exp,
    })
    .await;
    let r = refresher(t.path(), &endpoint);

    let calls: Vec<_> = (0..20)
        .map(|i| {
            let r = r.clone();
            tokio::spawn(async move { (i, r.prepare_agent(&format!("agent-{i}")).await) })
        })
        .collect();
    for call in calls {
        let (i, file) = call.await.unwrap();
        let value: Value = serde_json::from_slice(file.unwrap().bytes()).unwrap();
        assert_eq!(
            value["tokens"]["access_token"],
            json!(gen2(new_exp).access_token())
        );
        assert_eq!(
            value["tokens"]["refresh_token"],
            json!(key().ticket(&format!("agent-{i}")).expose())
        );
    }
    assert_eq!(endpoint.hits(), 1);
    assert_eq!(
        endpoint.bodies.lock().unwrap()[0]["refresh_reason"],
        json!("proactive_expiry")
    );
    // Fresh now: the next call sends nothing.
    r.prepare_agent("agent-0").await.unwrap();
    assert_eq!(endpoint.hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_refresh_is_a_status_problem_not_a_panic() {
    let t = tempfile::tempdir().unwrap();
    let still_valid = Login::expiring_at(unix_now() + 600);
    write_json(&codex_file(t.path()), &still_valid.auth_json());
    let endpoint = endpoint(Script::Fail {
        status: 503,
        body: json!({"error": "temporarily_unavailable"}),
    })
    .await;
    let r = refresher(t.path(), &endpoint);

    let calls: Vec<_> = (0..20)
        .map(|i| {
            let r = r.clone();
            tokio::spawn(async move { r.prepare_agent(&format!("a{i}")).await })
        })
        .collect();
    for call in calls {
        // The old token is still valid, so agents keep working.
        let file = call.await.unwrap().unwrap();
        let value: Value = serde_json::from_slice(file.bytes()).unwrap();
        assert_eq!(
            value["tokens"]["access_token"],
            json!(still_valid.access_token())
        );
    }
    // One request; the others were answered by the backoff.
    assert_eq!(endpoint.hits(), 1);
    let status = r.status();
    assert!(status.ready);
    assert_eq!(
        status.problems,
        vec![
            "The ChatGPT login could not be refreshed right now (HTTP 503, temporarily_unavailable); it will be retried."
        ]
    );
    // The host file is untouched and no temporary file is left behind.
    assert_eq!(read_json(&codex_file(t.path())), still_valid.auth_json());
    assert_eq!(
        std::fs::read_dir(t.path().join(".codex")).unwrap().count(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_refresh_token_stops_further_requests() {
    let t = tempfile::tempdir().unwrap();
    write_json(
        &codex_file(t.path()),
        &Login::expiring_at(unix_now() - 60).auth_json(),
    );
    let endpoint = endpoint(Script::Fail {
        status: 401,
        body: json!({"error": {"code": "refresh_token_reused", "message": "already used"}}),
    })
    .await;
    let r = refresher(t.path(), &endpoint);
    for _ in 0..3 {
        let err = r.prepare_agent("a1").await.unwrap_err();
        assert!(matches!(
            &err,
            AuthError::Refresh(RefreshError::Permanent { reason }) if reason == "refresh_token_reused"
        ));
        assert_eq!(
            err.to_string(),
            "the ChatGPT login could not be refreshed (refresh_token_reused); run `codex login` on the host to sign in again"
        );
    }
    assert_eq!(endpoint.hits(), 1);
    let status = r.status();
    assert!(!status.ready);
    assert_eq!(status.problems.len(), 2, "{:?}", status.problems);
    assert!(status.problems[1].contains("refresh_token_reused"));

    // The user signs in again on the host: the new file is picked up at the next call.
    let fresh = gen2(unix_now() + 10 * DAY);
    write_json(&codex_file(t.path()), &fresh.auth_json());
    let file = r.prepare_agent("a1").await.unwrap();
    let value: Value = serde_json::from_slice(file.bytes()).unwrap();
    assert_eq!(value["tokens"]["access_token"], json!(fresh.access_token()));
    assert_eq!(endpoint.hits(), 1);
    assert!(r.status().ready);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_the_host_already_did_is_adopted_not_repeated() {
    let t = tempfile::tempdir().unwrap();
    write_json(
        &codex_file(t.path()),
        &Login::expiring_at(unix_now() + 600).auth_json(),
    );
    let endpoint = endpoint(Script::Succeed {
        tag: "gen3",
        exp: unix_now() + DAY,
    })
    .await;
    let r = refresher(t.path(), &endpoint);
    let host_refreshed = gen2(unix_now() + 10 * DAY);
    write_json(&codex_file(t.path()), &host_refreshed.auth_json());
    let file = r.prepare_agent("a1").await.unwrap();
    let value: Value = serde_json::from_slice(file.bytes()).unwrap();
    assert_eq!(
        value["tokens"]["access_token"],
        json!(host_refreshed.access_token())
    );
    assert_eq!(endpoint.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_refresh_through_the_broker() {
    let t = tempfile::tempdir().unwrap();
    let first = Login::expiring_at(unix_now() + 10 * DAY);
    write_json(&codex_file(t.path()), &first.auth_json());
    let new_exp = unix_now() + 11 * DAY;
    let endpoint = endpoint(Script::Succeed {
        tag: "gen2",
        exp: new_exp,
    })
    .await;
    let config = RefreshConfig {
        token_url: endpoint.url.clone(),
        min_forced_interval: Duration::from_millis(500),
        ..RefreshConfig::default()
    };
    let inputs = DetectInputs {
        home: Some(t.path().to_path_buf()),
        ..Default::default()
    };
    let r = TokenRefresher::new(inputs, config, key()).unwrap();
    let request = |ticket: &str, reason: &str| {
        json!({"client_id": "app_EMoamEEZ73f0CkXaXp7hrann", "grant_type": "refresh_token",
               "refresh_reason": reason, "refresh_token": ticket})
        .to_string()
    };

    // Proactive, not due: the current tokens, the same ticket back, nothing upstream.
    let ticket = key().ticket("agent-3");
    let reply = r
        .handle_agent_refresh(request(ticket.expose(), "proactive_expiry").as_bytes())
        .await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(reply.body()).unwrap(),
        json!({"id_token": first.id_token(), "access_token": first.access_token(),
               "refresh_token": ticket.expose()})
    );
    assert_eq!(endpoint.hits(), 0);

    // Twenty agents hit by the same 401 at once: one refresh.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let calls: Vec<_> = (0..20)
        .map(|i| {
            let r = r.clone();
            let body = request(
                key().ticket(&format!("agent-{i}")).expose(),
                "unauthorized_recovery",
            );
            tokio::spawn(async move { r.handle_agent_refresh(body.as_bytes()).await })
        })
        .collect();
    for call in calls {
        let reply = call.await.unwrap();
        assert_eq!(reply.status, 200);
        let value: Value = serde_json::from_slice(reply.body()).unwrap();
        assert_eq!(value["access_token"], json!(gen2(new_exp).access_token()));
    }
    assert_eq!(endpoint.hits(), 1);

    // Anything but a ticket of ours is refused, the real refresh token included.
    for token in [
        first.refresh_token(),
        ticket.expose().replace("agent-3", "agent-4"),
    ] {
        let reply = r
            .handle_agent_refresh(request(&token, "proactive_expiry").as_bytes())
            .await;
        assert_eq!(reply.status, 401);
        let value: Value = serde_json::from_slice(reply.body()).unwrap();
        assert_eq!(value["error"]["code"], json!("refresh_token_invalidated"));
    }
    let reply = r.handle_agent_refresh(b"not json").await;
    assert_eq!(reply.status, 400);
    assert_eq!(endpoint.hits(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_and_env_tokens_are_never_refreshed() {
    let endpoint = endpoint(Script::Succeed { tag: "x", exp: 0 }).await;
    let config = RefreshConfig {
        token_url: endpoint.url.clone(),
        ..RefreshConfig::default()
    };
    let inputs = DetectInputs {
        chatgpt_oauth_token: Some(Secret::new(
            Login::expiring_at(unix_now() + 60).access_token(),
        )),
        ..Default::default()
    };
    let r = TokenRefresher::new(inputs, config.clone(), key()).unwrap();
    r.prepare_agent("a1").await.unwrap();
    let seen = r.current().unwrap();
    assert!(matches!(
        r.force_refresh(&seen).await,
        Err(AuthError::Refresh(RefreshError::NotRefreshable(_)))
    ));

    let inputs = DetectInputs {
        openai_api_key: Some(Secret::new("sk-test")),
        ..Default::default()
    };
    let r = TokenRefresher::new(inputs, config, key()).unwrap();
    let file = r.prepare_agent("a1").await.unwrap();
    assert_eq!(
        serde_json::from_slice::<Value>(file.bytes()).unwrap(),
        json!({"OPENAI_API_KEY": "sk-test"})
    );
    assert_eq!(endpoint.hits(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_made_after_startup_is_found() {
    let t = tempfile::tempdir().unwrap();
    let endpoint = endpoint(Script::Succeed { tag: "x", exp: 0 }).await;
    let r = refresher(t.path(), &endpoint);
    let err = r.prepare_agent("a1").await.unwrap_err();
    assert!(matches!(err, AuthError::NoCredentials(_)));
    assert_eq!(err.to_string(), codex_mcp_auth::NO_CREDENTIALS_MESSAGE);
    write_json(
        &codex_file(t.path()),
        &Login::expiring_at(unix_now() + 10 * DAY).auth_json(),
    );
    let r2 = Arc::new(r);
    assert!(r2.prepare_agent("a1").await.is_ok());
    assert!(r2.status().ready);
}
