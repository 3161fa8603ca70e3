//! Credentials that cannot serve a call, through `mcpd` and `mcpd auth status`: each bad
//! input is named, nothing crashes, tool calls fail with a sentence saying what to fix,
//! and no secret ever shows in the log, `/health`, `health_check` or an error.

use super::auth_support;

use auth_support::{
    World, assert_no_secret, chat, failures, health_credentials, health_text, secrets_of,
    write_auth, write_file,
};
use codex_mcp_e2e::error_text;
use codex_mcp_testkit::{Auth, TokenEndpoint, unix_now};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// A bad setup, what names its problem, and whether a tool call may still succeed.
struct Bad {
    name: &'static str,
    /// Writes the bad input into the world; returns extra settings.
    setup: fn(&World) -> Vec<(&'static str, String)>,
    /// A phrase every surface (status, health_check, tool error) must contain.
    problem: &'static str,
}

fn auth_dir_env(world: &World) -> Vec<(&'static str, String)> {
    vec![("CODEX_AUTH_DIR", world.auth_dir().display().to_string())]
}

fn bad_inputs() -> Vec<Bad> {
    vec![
        Bad {
            name: "malformed JSON",
            setup: |w| {
                write_file(&w.auth_dir().join("auth.json"), "{\"tokens\": {");
                auth_dir_env(w)
            },
            problem: "is not valid JSON",
        },
        Bad {
            name: "truncated JWT",
            setup: |w| {
                let mut doc = Auth::chatgpt("acct-t", "trunc").to_json();
                let id = doc["tokens"]["id_token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                doc["tokens"]["id_token"] = json!(id.split('.').next().unwrap_or_default());
                write_file(&w.auth_dir().join("auth.json"), &doc.to_string());
                auth_dir_env(w)
            },
            problem: "is not a JWT",
        },
        Bad {
            name: "expired token that cannot be refreshed",
            setup: |w| {
                let _ = w;
                let auth = Auth::chatgpt_expiring("acct-x", "expired", unix_now() - 3600);
                vec![("CHATGPT_OAUTH_TOKEN", auth.bearer().to_string())]
            },
            problem: "expired",
        },
        Bad {
            name: "a directory where auth.json should be",
            setup: |w| {
                std::fs::create_dir_all(w.auth_dir().join("auth.json")).unwrap();
                auth_dir_env(w)
            },
            problem: "is a directory",
        },
        Bad {
            name: "CODEX_AUTH_METHOD=api_key without a key",
            setup: |w| {
                write_auth(&w.home_auth(), &Auth::chatgpt("acct-c", "conflict"));
                vec![("CODEX_AUTH_METHOD", "api_key".to_string())]
            },
            problem: "CODEX_AUTH_METHOD=api_key, but no API key was found",
        },
    ]
}

/// Runs one bad input; returns what went wrong, if anything.
async fn run_bad(bad: Bad) -> Option<String> {
    let world = World::new().await?;
    let env = (bad.setup)(&world);
    let (code, status, _) = world.auth_status(&env).await;
    let mcpd = world.mcpd(&env).await;
    let health = health_credentials(&mcpd).await;
    let result = chat(&mcpd, "agent-bad").await;
    let error = error_text(&result);
    let alive = reqwest::get(format!("{}/health", mcpd.base))
        .await
        .is_ok_and(|r| r.status().is_success());
    let names = |v: &Value| v.to_string().contains(bad.problem);
    let got = (
        code,
        status["ready"].clone(),
        names(&status["problems"]),
        names(&health["problems"]),
        error.contains(bad.problem),
        world.model.responses_requests().len(),
        alive,
    );
    let want = (1, json!(false), true, true, true, 0, true);
    (got != want).then(|| {
        format!(
            "{}: got (exit, ready, status names it, health names it, error names it, model requests, alive) = {got:?}\nstatus: {status}\nhealth: {health}\nerror: {error}",
            bad.name
        )
    })
}

#[tokio::test]
async fn each_bad_input_is_named_and_nothing_crashes() {
    if World::new().await.is_none() {
        return;
    }
    assert_eq!(failures(bad_inputs(), run_bad).await, Vec::<String>::new());
}

#[tokio::test]
async fn no_credentials_status_names_both_fixes_and_a_bad_method_stops_startup() {
    let Some(world) = World::new().await else {
        return;
    };
    let (code, status, _) = world.auth_status(&[]).await;
    let problems = status["problems"].to_string();
    assert_eq!((code, status["method"].clone()), (1, json!("none")));
    assert!(
        problems.contains("codex login") && problems.contains("OPENAI_API_KEY"),
        "{problems}"
    );

    let (code, status, _) = world
        .auth_status(&[("OPENAI_API_KEY", "sk-e2e-status".into())])
        .await;
    assert_eq!(
        (code, status["method"].clone(), status["source"].clone()),
        (0, json!("api_key"), json!("env:OPENAI_API_KEY"))
    );

    let out = world
        .command(
            &["auth", "status"],
            &[("OPENAI_API_KEY", "sk-e2e-status".into())],
        )
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text,
        "method:  API key\nsource:  env:OPENAI_API_KEY\nready:   yes\n"
    );
    assert!(!text.contains("sk-e2e-status"));

    // Settings are checked strictly: a bad value stops `mcpd` before anything starts.
    let out = world
        .command(
            &["auth", "status"],
            &[("CODEX_AUTH_METHOD", "bogus".into())],
        )
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("CODEX_AUTH_METHOD"), "{stderr}");

    // `mcpd auth login` without a Codex to run says what to install.
    let no_codex = world.path().join("no-codex-here").display().to_string();
    let out = world
        .command(&["auth", "login"], &[("CODEX_BIN", no_codex)])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("no-codex-here") && stderr.contains("CODEX_BIN"),
        "{stderr}"
    );
}

#[tokio::test]
async fn secrets_never_reach_the_log_health_or_errors() {
    let Some(world) = World::new().await else {
        return;
    };
    let now = unix_now();
    let endpoint = TokenEndpoint::start(|_| {
        (
            401,
            json!({"error": {"code": "refresh_token_reused", "message": "rt-due"}}),
        )
    })
    .await
    .unwrap();
    let key = Auth::api_key("sk-e2e-secret-key-0123456789");
    let mut secrets = secrets_of(&key);

    // A login due for refresh whose refresh fails: the call still works on the valid
    // token, and the failure is reported.
    let due = Auth::chatgpt_expiring("acct-s", "due", now + 60);
    secrets.extend(secrets_of(&due));
    write_auth(&world.home_auth(), &due);
    let env = [
        ("OPENAI_API_KEY", key.bearer().to_string()),
        ("CODEX_REFRESH_TOKEN_URL_OVERRIDE", endpoint.url.clone()),
    ];
    let mcpd = world.mcpd(&env).await;
    let result = chat(&mcpd, "agent-s").await;
    assert_eq!(result.get("isError"), None, "{result}\n{}", mcpd.log());
    let health = health_credentials(&mcpd).await;
    assert!(
        health["problems"]
            .to_string()
            .contains("refresh_token_reused"),
        "{health}"
    );
    // A permanent failure is remembered: the agent's own refresh attempts through the
    // broker send nothing more upstream.
    assert_eq!(endpoint.hits(), 1);
    let (_, status, stderr) = world.auth_status(&env).await;
    for (place, text) in [
        ("the tool result", result.to_string()),
        ("health_check", health.to_string()),
        ("/health", health_text(&mcpd).await),
        ("auth status", status.to_string()),
        ("auth status stderr", stderr),
        ("mcpd's log", mcpd.log()),
    ] {
        assert_no_secret(place, &text, &secrets);
    }
    drop(mcpd);

    // The same login once expired: every call fails, saying what to do, and still
    // without a secret.
    let expired = Auth::chatgpt_expiring("acct-s", "gone", now - 60);
    secrets.extend(secrets_of(&expired));
    write_auth(&world.home_auth(), &expired);
    let mcpd = world
        .mcpd(&[("CODEX_REFRESH_TOKEN_URL_OVERRIDE", endpoint.url.clone())])
        .await;
    let error = error_text(&chat(&mcpd, "agent-s").await);
    assert!(error.contains("codex login"), "{error}");
    assert_no_secret("the tool error", &error, &secrets);
    assert_no_secret("/health", &health_text(&mcpd).await, &secrets);
    let log = mcpd.log();
    assert!(
        log.contains("DEBUG"),
        "the log was captured at debug level: {log}"
    );
    assert_no_secret("mcpd's log", &log, &secrets);
}
