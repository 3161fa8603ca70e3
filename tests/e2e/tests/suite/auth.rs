//! Credentials through `mcpd` with the local runtime and the real Codex: each detection
//! source and override reaches the model as the expected bearer token, a rotated host
//! login reaches a running agent, and twenty agents share one login with one refresh.

use super::auth_support;

use auth_support::{
    World, assert_no_secret, chat, failures, health_credentials, secrets_of, write_auth,
};
use codex_mcp_testkit::{Auth, Reply, TokenEndpoint, unix_now};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// What one detection case sets up and expects.
struct Case {
    name: &'static str,
    /// Logins to write: `true` for `CODEX_AUTH_DIR`, `false` for `~/.codex`.
    files: Vec<(bool, Auth)>,
    env: Vec<(&'static str, String)>,
    /// The bearer the model must see, and the status's method and source.
    bearer: String,
    method: &'static str,
    source: Source,
}

enum Source {
    AuthDir,
    Home,
    Env(&'static str),
}

fn cases() -> Vec<Case> {
    let dir_login = Auth::chatgpt("acct-dir", "dir");
    let home_login = Auth::chatgpt("acct-home", "home");
    let env_token = Auth::chatgpt("acct-env", "env");
    let key = "sk-e2e-env-key".to_string();
    let key_env = ("OPENAI_API_KEY", key.clone());
    vec![
        Case {
            name: "CODEX_AUTH_DIR comes first (and variables that would override it are not passed to Codex)",
            files: vec![(true, dir_login.clone()), (false, home_login.clone())],
            env: vec![
                key_env.clone(),
                ("CODEX_API_KEY", "sk-e2e-codex-api-key".to_string()),
            ],
            bearer: dir_login.bearer().to_string(),
            method: "chatgpt",
            source: Source::AuthDir,
        },
        Case {
            name: "~/.codex",
            files: vec![(false, home_login.clone())],
            env: vec![],
            bearer: home_login.bearer().to_string(),
            method: "chatgpt",
            source: Source::Home,
        },
        Case {
            name: "OPENAI_API_KEY",
            files: vec![],
            env: vec![key_env.clone()],
            bearer: key.clone(),
            method: "api_key",
            source: Source::Env("OPENAI_API_KEY"),
        },
        Case {
            name: "CHATGPT_OAUTH_TOKEN",
            files: vec![],
            env: vec![("CHATGPT_OAUTH_TOKEN", env_token.bearer().to_string())],
            bearer: env_token.bearer().to_string(),
            method: "chatgpt",
            source: Source::Env("CHATGPT_OAUTH_TOKEN"),
        },
        Case {
            name: "CODEX_AUTH_METHOD=api_key",
            files: vec![(false, home_login.clone())],
            env: vec![key_env.clone(), ("CODEX_AUTH_METHOD", "api_key".into())],
            bearer: key.clone(),
            method: "api_key",
            source: Source::Env("OPENAI_API_KEY"),
        },
        Case {
            name: "CODEX_PREFER_OAUTH=false",
            files: vec![(false, home_login.clone())],
            env: vec![key_env.clone(), ("CODEX_PREFER_OAUTH", "false".into())],
            bearer: key.clone(),
            method: "api_key",
            source: Source::Env("OPENAI_API_KEY"),
        },
        Case {
            name: "CODEX_AUTH_METHOD=oauth beats CODEX_PREFER_OAUTH=false",
            files: vec![(false, home_login.clone())],
            env: vec![
                key_env,
                ("CODEX_PREFER_OAUTH", "false".into()),
                ("CODEX_AUTH_METHOD", "oauth".into()),
            ],
            bearer: home_login.bearer().to_string(),
            method: "chatgpt",
            source: Source::Home,
        },
    ]
}

/// Runs one case in a world of its own; returns what differs from the expectation.
async fn run_case(case: Case) -> Option<String> {
    let world = World::new().await?;
    for (in_auth_dir, auth) in &case.files {
        let path = if *in_auth_dir {
            world.auth_dir().join("auth.json")
        } else {
            world.home_auth()
        };
        write_auth(&path, auth);
    }
    let mut env = case.env.clone();
    env.push(("CODEX_AUTH_DIR", world.auth_dir().display().to_string()));
    let source = match case.source {
        Source::AuthDir => world.auth_dir().join("auth.json").display().to_string(),
        Source::Home => world.home_auth().display().to_string(),
        Source::Env(name) => format!("env:{name}"),
    };
    let mcpd = world.mcpd(&env).await;
    let result = chat(&mcpd, "agent-1").await;
    let bearers = world.bearers();
    let health = health_credentials(&mcpd).await;
    let got = (
        result.get("isError").cloned(),
        bearers,
        health["method"].clone(),
        health["source"].clone(),
    );
    let want = (
        None,
        vec![Some(case.bearer.clone())],
        json!(case.method),
        json!(source),
    );
    (got != want).then(|| {
        format!(
            "{}: got {got:?}, want {want:?}\n{result}\n{}",
            case.name,
            mcpd.log()
        )
    })
}

#[tokio::test]
async fn each_detection_source_and_override_reaches_the_model() {
    if World::new().await.is_none() {
        return;
    }
    assert_eq!(failures(cases(), run_case).await, Vec::<String>::new());
}

#[tokio::test]
async fn a_rotated_host_login_reaches_the_running_agent_before_its_next_call() {
    // Codex normally hides variables named like *TOKEN* or *KEY* from commands; lift that
    // so the agent's own view of its environment can be checked.
    let Some(world) =
        World::with_codex_toml("[shell_environment_policy]\nignore_default_excludes = true").await
    else {
        return;
    };
    let first = Auth::chatgpt("acct-rot", "before");
    let second = Auth::chatgpt("acct-rot", "after");
    write_auth(&world.home_auth(), &first);
    let mcpd = world
        .mcpd(&[("CODEX_API_KEY", "sk-must-not-reach-codex".into())])
        .await;
    let probe = "printenv CODEX_REFRESH_TOKEN_URL_OVERRIDE; printenv CODEX_API_KEY; printenv OPENAI_API_KEY; echo end";
    world.model.push(Reply::exec_command(probe));
    let one = chat(&mcpd, "rotating").await;
    assert_eq!(one.get("isError"), None, "{one}\n{}", mcpd.log());

    write_auth(&world.home_auth(), &second);
    let two = chat(&mcpd, "rotating").await;
    assert_eq!(two.get("isError"), None, "{two}\n{}", mcpd.log());

    let requests = world.model.responses_requests();
    let bearers: Vec<Option<&str>> = requests.iter().map(|r| r.bearer()).collect();
    // The first call is a command and its follow-up; the second call one request.
    assert_eq!(
        bearers,
        vec![
            Some(first.bearer()),
            Some(first.bearer()),
            Some(second.bearer())
        ]
    );
    // The agent's Codex refreshes through mcpd's broker and sees no API key variables.
    let output = requests[1]
        .function_call_outputs()
        .first()
        .map(|o| o.to_string())
        .unwrap_or_default();
    let broker = format!("{}/auth/oauth/token", mcpd.base);
    assert!(output.contains(&broker), "{output}");
    assert!(!output.contains("sk-must-not-reach-codex"), "{output}");
    let injected: Value =
        serde_json::from_slice(&std::fs::read(world.agent_auth("rotating")).unwrap()).unwrap();
    assert_eq!(injected["tokens"]["access_token"], json!(second.bearer()));
}

#[tokio::test]
async fn twenty_agents_share_one_login_and_one_refresh() {
    let Some(world) = World::new().await else {
        return;
    };
    let now = unix_now();
    // Expires in a minute: within the refresh margin, so the first call refreshes.
    let old = Auth::chatgpt_expiring("acct-shared", "old", now + 60);
    let new = Auth::chatgpt_expiring("acct-shared", "new", now + 10 * 24 * 3600);
    write_auth(&world.home_auth(), &old);
    let answer = new.to_json()["tokens"].clone();
    let endpoint = TokenEndpoint::start(move |_| (200, answer.clone()))
        .await
        .unwrap();
    let mcpd = world
        .mcpd(&[("CODEX_REFRESH_TOKEN_URL_OVERRIDE", endpoint.url.clone())])
        .await;

    let agents: Vec<String> = (0..20).map(|i| format!("agent-{i:02}")).collect();
    let mut calls = tokio::task::JoinSet::new();
    let mcpd = std::sync::Arc::new(mcpd);
    for agent in &agents {
        let (mcpd, agent) = (mcpd.clone(), agent.clone());
        calls.spawn(async move { (chat(&mcpd, &agent).await, agent) });
    }
    while let Some(done) = calls.join_next().await {
        let (result, agent) = done.unwrap();
        assert_eq!(
            result.get("isError"),
            None,
            "{agent}: {result}\n{}",
            mcpd.log()
        );
    }

    assert_eq!(endpoint.hits(), 1, "{}", mcpd.log());
    let sent = endpoint.bodies.lock().unwrap()[0].clone();
    assert_eq!(
        (sent["grant_type"].clone(), sent["refresh_token"].clone()),
        (json!("refresh_token"), json!("rt-old"))
    );
    let bearers = world.bearers();
    assert_eq!(bearers, vec![Some(new.bearer().to_string()); 20]);
    // The host keeps the login (written back); agents hold tickets, not the real token.
    let host: Value = serde_json::from_slice(&std::fs::read(world.home_auth()).unwrap()).unwrap();
    assert_eq!(host["tokens"]["refresh_token"], json!("rt-new"));
    for agent in &agents {
        let file: Value =
            serde_json::from_slice(&std::fs::read(world.agent_auth(agent)).unwrap()).unwrap();
        let ticket = file["tokens"]["refresh_token"].as_str().unwrap_or_default();
        assert!(
            ticket.starts_with(&format!("mcpd-rt:v2:{agent}:")),
            "{agent}: {ticket}"
        );
    }

    // The broker answers an agent's own refresh with the shared tokens, refuses a real
    // refresh token, and neither reaches the token endpoint.
    let http = reqwest::Client::new();
    let refresh = |token: &str| {
        http.post(format!("{}/auth/oauth/token", mcpd.base))
            .json(&json!({"client_id": "app_x", "grant_type": "refresh_token",
                "refresh_token": token, "refresh_reason": "proactive_expiry"}))
            .send()
    };
    let file: Value =
        serde_json::from_slice(&std::fs::read(world.agent_auth("agent-07")).unwrap()).unwrap();
    let ticket = file["tokens"]["refresh_token"].as_str().unwrap_or_default();
    let ok = refresh(ticket).await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(
        (body["access_token"].clone(), body["refresh_token"].clone()),
        (json!(new.bearer()), json!(ticket))
    );
    let refused = refresh("rt-new").await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    assert_eq!(endpoint.hits(), 1);

    // The broker route sits behind the Host/Origin gate like every other route: a
    // DNS-rebound or cross-site page holding a ticket is refused before the broker.
    let mut gated = Vec::new();
    for (name, value) in [("host", "evil.example"), ("origin", "http://evil.example")] {
        let response = http
            .post(format!("{}/auth/oauth/token", mcpd.base))
            .header(name, value)
            .json(&json!({"grant_type": "refresh_token", "refresh_token": ticket}))
            .send()
            .await
            .unwrap();
        gated.push((name, response.status().as_u16()));
    }
    assert_eq!(gated, vec![("host", 403), ("origin", 403)]);

    // Purging the agents revokes their tickets: a copy of agent-07's auth.json no
    // longer gets tokens from the broker.
    let cleanup = mcpd
        .call_tool(
            "cleanup_inactive_agents",
            json!({"idle_seconds": 0, "purge": true}),
        )
        .await
        .unwrap();
    assert_eq!(cleanup.get("isError"), None, "{cleanup}");
    let revoked = refresh(ticket).await.unwrap();
    assert_eq!(revoked.status().as_u16(), 401);
    let body: Value = revoked.json().await.unwrap();
    assert_eq!(
        body["error"],
        json!({"code": "refresh_token_invalidated",
            "message": "this refresh token was revoked when its agent was removed"})
    );
    assert_eq!(endpoint.hits(), 1);
    let mut secrets = secrets_of(&old);
    secrets.extend(secrets_of(&new));
    secrets.push(ticket.to_string());
    assert_no_secret("mcpd's log", &mcpd.log(), &secrets);

    // Where the login came from, at startup and at the refresh, in the JSON lines mcpd
    // writes when its stderr is not a terminal (as in a container).
    let log = mcpd.log();
    let home = world.home_auth().display().to_string();
    let told: Vec<(String, String)> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter_map(|l| {
            let message = l["fields"]["message"].as_str()?;
            matches!(message, "credentials" | "refreshing the ChatGPT login").then(|| {
                let source = l["fields"]["source"].as_str().unwrap_or_default();
                (message.to_string(), source.to_string())
            })
        })
        .collect();
    assert_eq!(
        told,
        vec![
            ("credentials".to_string(), home.clone()),
            ("refreshing the ChatGPT login".to_string(), home)
        ],
        "{log}"
    );
}
