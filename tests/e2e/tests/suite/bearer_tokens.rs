//! MCPD_TOKENS_FILE: requests without a known bearer token are refused (401), a token's
//! first agent is the caller's agent, and a token cannot act as agents it does not list.
//! Sharing a server this way refuses the local runtime (whose Codex reads the whole
//! host) unless opted in, and `/health` says little to callers without a token.

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use codex_mcp_e2e::tokens::{ALICE, ALICE_AND_BOB, BOB};
use codex_mcp_e2e::{
    Mcpd, install_fake_codex, local_env, mcpd_agents, mcpd_bin, run_mcpd, without_shell_settings,
};
use codex_mcp_testkit::temp_dir;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const TOKENS: &str = r#"
[[token]]
name = "laptop"
token = "laptop-token-0123456789"
agents = ["alice", "alice-review"]

[[token]]
name = "ops"
sha256 = "SHA_OF_OPS"
agents = ["*"]
"#;

const OPS_TOKEN: &str = "ops-token-abcdefghijklmnop";

fn hex_sha256(s: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes [`TOKENS`] (with the ops token's digest) to `dir/tokens.toml` with `mode`.
fn write_tokens(dir: &std::path::Path, mode: u32) -> std::path::PathBuf {
    let tokens = dir.join("tokens.toml");
    std::fs::write(
        &tokens,
        TOKENS.replace("SHA_OF_OPS", &hex_sha256(OPS_TOKEN)),
    )
    .unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(mode)).unwrap();
    tokens
}

async fn post(mcpd: &Mcpd, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}{path}", mcpd.base))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let response = req.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[tokio::test]
async fn bearer_tokens_gate_requests_and_bind_agents() {
    let dir = temp_dir("e2e-tokens").unwrap();
    let fake = install_fake_codex(dir.path()).unwrap();
    // Readable by other users: a warning, not a refusal (docs/security.md).
    let tokens = write_tokens(dir.path(), 0o644);
    let env = local_env(
        &fake,
        &dir.path().join("data"),
        &[
            ("MCPD_TOKENS_FILE", tokens.display().to_string()),
            ("MCPD_ALLOW_LOCAL_RUNTIME_WITH_TOKENS", "1".to_string()),
        ],
    );
    let mcpd = Mcpd::start(&env, dir.path()).await.unwrap();
    let chat = |agent: Option<&str>| {
        let mut args = json!({"message": "hi"});
        if let Some(a) = agent {
            args["agent_id"] = json!(a);
        }
        args
    };

    // No token, a wrong one, another scheme: 401 with a reason, on MCP and REST alike.
    let ping = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
    let refused = [
        post(&mcpd, "/mcp", None, ping.clone()).await,
        post(
            &mcpd,
            "/tools/chat",
            Some("laptop-token-0123456780"),
            chat(None),
        )
        .await,
        post(&mcpd, "/tools/health_check", None, json!({})).await,
    ];
    assert_eq!(
        refused
            .iter()
            .map(|(s, v)| (*s, v["error"].clone()))
            .collect::<Vec<_>>(),
        vec![
            (
                401,
                json!("this server requires a bearer token: send Authorization: Bearer <token>")
            ),
            (401, json!("unknown bearer token")),
            (
                401,
                json!("this server requires a bearer token: send Authorization: Bearer <token>")
            ),
        ]
    );
    // /health stays open for probes, but without a token says only that mcpd is up:
    // credential sources, paths and problems are for token holders.
    let health = reqwest::get(format!("{}/health", mcpd.base)).await.unwrap();
    assert_eq!(health.status(), 200);
    let minimal: Value = health.json().await.unwrap();
    assert_eq!(
        minimal,
        json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})
    );
    // With a token: the full report, which states the opt-in and the loose tokens file.
    let full: Value = reqwest::Client::new()
        .get(format!("{}/health", mcpd.base))
        .header("authorization", format!("Bearer {OPS_TOKEN}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let warnings: Vec<String> = full["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("{full}"))
        .iter()
        .map(|w| w.as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(warnings.len(), 2, "{full}");
    assert!(
        warnings[0].starts_with("MCPD_ALLOW_LOCAL_RUNTIME_WITH_TOKENS=1"),
        "{warnings:?}"
    );
    assert!(
        warnings[1].contains("mode 0644") && warnings[1].contains("chmod 600"),
        "{warnings:?}"
    );
    assert!(full["credentials"].is_object(), "{full}");
    let log = mcpd.log();
    for warning in &warnings {
        assert!(
            log.lines()
                .any(|l| l.contains("WARN") && l.contains(warning.as_str())),
            "{log}"
        );
    }

    // The laptop token runs as alice by default and may name alice-review, not bob.
    let laptop = Some("laptop-token-0123456789");
    let (status, ok) = post(&mcpd, "/tools/chat", laptop, chat(None)).await;
    assert_eq!((status, ok.get("isError")), (200, None), "{ok}");
    let (_, mine) = post(&mcpd, "/tools/get_my_session_info", laptop, json!({})).await;
    assert_eq!(mine["structuredContent"]["agent_id"], json!("alice"));
    let (status, _) = post(&mcpd, "/tools/chat", laptop, chat(Some("alice-review"))).await;
    assert_eq!(status, 200);
    let (status, denied) = post(&mcpd, "/tools/chat", laptop, chat(Some("bob"))).await;
    assert_eq!(status, 422);
    assert_eq!(
        denied["content"][0]["text"],
        json!(
            "the bearer token \"laptop\" may act as alice, alice-review, not as agent bob \
             (from the agent_id argument)"
        )
    );

    // The ops token (stored as a digest) may act as anyone.
    let (status, ok) = post(&mcpd, "/tools/chat", Some(OPS_TOKEN), chat(Some("bob"))).await;
    assert_eq!((status, ok.get("isError")), (200, None), "{ok}");
    // MCP itself works with a token.
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "e2e", "version": "1"}}});
    let (status, welcome) = post(&mcpd, "/mcp", Some(OPS_TOKEN), init).await;
    assert_eq!(
        (status, welcome["result"]["serverInfo"]["name"].clone()),
        (200, json!("mcpd"))
    );
    // The log never shows a token.
    let log = mcpd.log();
    assert!(
        !log.contains("laptop-token") && !log.contains(OPS_TOKEN),
        "{log}"
    );
}

#[tokio::test]
async fn a_bad_tokens_file_stops_startup_naming_the_setting() {
    let dir = temp_dir("e2e-tokens-bad").unwrap();
    let tokens = dir.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        "[[token]]\nname = \"x\"\ntoken = \"short\"\nagents = [\"a\"]\n",
    )
    .unwrap();
    let out = without_shell_settings(&mut tokio::process::Command::new(mcpd_bin()))
        .env("MCPD_TOKENS_FILE", &tokens)
        .env("CODEX_MCP_DATA_DIR", dir.path().join("data"))
        .env("MCPD_LISTEN", "127.0.0.1:0")
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!(
            "mcpd: invalid configuration: MCPD_TOKENS_FILE={}: token #1 (\"x\"): token is shorter than 16 characters",
            tokens.display()
        )
    );
}

const ADMIN: &str = "admin-token-0123456789";

/// An operator's admin token (acting only as `ops`), added to alice and bob's file.
const OPERATOR: &str = r#"
[[token]]
name = "operator"
token = "admin-token-0123456789"
agents = ["ops"]
admin = true
"#;

/// `tools/call` on `/mcp` with a bearer token, in the stateless era, or in a legacy
/// session opened with the same token; returns the JSON-RPC result.
async fn mcp_call(mcpd: &Mcpd, token: &str, legacy: bool, tool: &str, args: Value) -> Value {
    if legacy {
        let session = mcpd.initialize(Some(token)).await.unwrap();
        return mcpd
            .session_call(&session, Some(token), tool, args)
            .await
            .unwrap();
    }
    let body = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
        "name": tool, "arguments": args, "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}}}});
    let response = reqwest::Client::new()
        .post(format!("{}/mcp", mcpd.base))
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .header("authorization", format!("Bearer {token}"))
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool)
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let message: Value = response.json().await.unwrap();
    message["result"].clone()
}

fn agent_ids(listing: &Value) -> Vec<String> {
    listing["structuredContent"]["agents"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["agent_id"].as_str().unwrap_or("?").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The attack: alice's token lists, reads and cleans bob's agent, over REST, both MCP
/// eras and `mcpd agents`. Every route answers her only about alice; naming bob is
/// refused; her purge leaves bob's workspace alone; the admin token sees both.
#[tokio::test]
async fn server_tools_answer_a_token_only_for_its_agents() {
    let dir = temp_dir("e2e-tokens-scope").unwrap();
    let fake = install_fake_codex(dir.path()).unwrap();
    let tokens = dir.path().join("tokens.toml");
    std::fs::write(&tokens, format!("{ALICE_AND_BOB}{OPERATOR}")).unwrap();
    let mut env = local_env(
        &fake,
        &dir.path().join("data"),
        &[
            ("MCPD_TOKENS_FILE", tokens.display().to_string()),
            ("MCPD_ALLOW_LOCAL_RUNTIME_WITH_TOKENS", "1".to_string()),
        ],
    );
    let mcpd = Mcpd::start(&env, dir.path()).await.unwrap();
    env.push((
        "MCPD_LISTEN",
        mcpd.base.trim_start_matches("http://").into(),
    ));
    for token in [ALICE, BOB] {
        let (status, ok) = post(&mcpd, "/tools/chat", Some(token), json!({"message": "hi"})).await;
        assert_eq!((status, ok.get("isError")), (200, None), "{ok}");
    }

    // Listing: alice sees alice, on every route; the admin token sees both.
    let (_, rest) = post(&mcpd, "/tools/list_active_agents", Some(ALICE), json!({})).await;
    let modern = mcp_call(&mcpd, ALICE, false, "list_active_agents", json!({})).await;
    let legacy = mcp_call(&mcpd, ALICE, true, "list_active_agents", json!({})).await;
    let sse = mcpd
        .sse_call(Some(ALICE), "list_active_agents", json!({}))
        .await
        .unwrap();
    let (_, admin) = post(&mcpd, "/tools/list_active_agents", Some(ADMIN), json!({})).await;
    assert_eq!(
        [&rest, &modern, &legacy, &sse, &admin].map(agent_ids),
        [
            vec!["alice".to_string()],
            vec!["alice".to_string()],
            vec!["alice".to_string()],
            vec!["alice".to_string()],
            vec!["alice".to_string(), "bob".to_string()],
        ]
    );
    let (_, sessions) = post(&mcpd, "/tools/list_sessions", Some(ALICE), json!({})).await;
    let listed: Vec<&str> = sessions["structuredContent"]["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["agent_id"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec!["alice"]);

    // Naming bob is refused, in the identity rules' words.
    let refusal = json!(
        "the bearer token \"alice\" may act as alice, not as agent bob (from the agent_id argument)"
    );
    for (tool, args) in [
        ("get_agent_status", json!({"agent_id": "bob"})),
        ("list_sessions", json!({"agent_id": "bob"})),
    ] {
        let (status, denied) = post(&mcpd, &format!("/tools/{tool}"), Some(ALICE), args).await;
        assert_eq!(
            (status, &denied["content"][0]["text"]),
            (422, &refusal),
            "{tool}"
        );
    }
    let (_, status) = post(
        &mcpd,
        "/tools/get_agent_status",
        Some(ADMIN),
        json!({"agent_id": "bob"}),
    )
    .await;
    assert_eq!(
        status["structuredContent"]["session"]["agent_id"],
        json!("bob")
    );

    // `mcpd agents` through the server sends MCPD_TOKEN and gets the same answers.
    let mut as_alice = env.clone();
    as_alice.push(("MCPD_TOKEN", ALICE.into()));
    let (code, out, err) = mcpd_agents(&as_alice, &["list", "--json"]).await;
    assert_eq!(code, Some(0), "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        agent_ids(&json!({ "structuredContent": listed })),
        vec!["alice".to_string()]
    );
    let (code, _, err) = mcpd_agents(&as_alice, &["status", "bob"]).await;
    assert_eq!(code, Some(1));
    assert!(err.contains("not as agent bob"), "{err}");

    // Alice's purge of every idle agent removes hers only; bob's survives.
    let (code, out, err) =
        mcpd_agents(&as_alice, &["cleanup", "--idle-seconds", "0", "--purge"]).await;
    assert_eq!(code, Some(0), "{err}");
    assert!(
        out.starts_with("removed 1 agent environment(s): alice;"),
        "{out}"
    );
    let (_, after) = post(&mcpd, "/tools/list_active_agents", Some(ADMIN), json!({})).await;
    assert_eq!(agent_ids(&after), vec!["bob".to_string()]);
    assert!(dir.path().join("data/agents/bob").exists());
}

/// The attack: a caller who can list agents learns a live session id from an agent id
/// and then uses that session. The agent of a session-only caller is named by a keyed
/// hash: it shares nothing with the session id, stays the same for the session, and the
/// key is kept private in the data dir.
#[tokio::test]
async fn a_session_agents_id_reveals_nothing_of_the_session() {
    let dir = temp_dir("e2e-session-agent").unwrap();
    let fake = install_fake_codex(dir.path()).unwrap();
    let data = dir.path().join("data");
    let env = local_env(&fake, &data, &[]);
    let mcpd = Mcpd::start(&env, dir.path()).await.unwrap();
    let session = mcpd.initialize(None).await.unwrap();
    let chat = mcpd
        .session_call(&session, None, "chat", json!({"message": "hi"}))
        .await
        .unwrap();
    assert_eq!(chat.get("isError"), None, "{chat}");
    let mine = mcpd
        .session_call(&session, None, "get_my_session_info", json!({}))
        .await
        .unwrap();
    let agent = mine["structuredContent"]["agent_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{mine}"))
        .to_string();
    let hex = agent
        .strip_prefix("session-")
        .unwrap_or_else(|| panic!("{agent}"));
    assert_eq!(hex.len(), 24, "{agent}");
    for start in 0..=session.len() - 6 {
        let piece = &session[start..start + 6];
        assert!(
            !hex.contains(piece),
            "{agent} shares {piece:?} with {session}"
        );
    }
    // Stable for the session: the listing shows the same agent.
    let listed = mcpd
        .call_tool("list_active_agents", json!({}))
        .await
        .unwrap();
    assert_eq!(
        listed["structuredContent"]["agents"][0]["agent_id"],
        json!(agent)
    );
    // The key lives in the data dir, readable by its owner only.
    let key = std::fs::metadata(data.join("session-agent.key")).unwrap();
    assert_eq!(key.permissions().mode() & 0o777, 0o600);
}

/// The attack: a token holder asks an agent to `cat ~/.codex/auth.json` or the tokens
/// file; with the local runtime Codex runs on the host and can read both. So tokens plus
/// the local runtime stop startup (exit 2, naming the settings) unless opted in, and
/// `auto` does not fall back to local when Docker fails.
#[tokio::test]
async fn tokens_with_the_local_runtime_stop_startup_unless_opted_in() {
    let dir = temp_dir("e2e-tokens-local").unwrap();
    let fake = install_fake_codex(dir.path()).unwrap();
    let tokens = write_tokens(dir.path(), 0o600);
    let tokens_env = ("MCPD_TOKENS_FILE", tokens.display().to_string());
    let data = dir.path().join("data");
    let wait = Duration::from_secs(60);

    let local = local_env(&fake, &data, std::slice::from_ref(&tokens_env));
    let (code, out) = run_mcpd(&["serve"], &local, wait).await.unwrap();
    assert_eq!(code, Some(2), "{out}");
    for named in [
        "MCPD_TOKENS_FILE",
        "CODEX_MCP_RUNTIME=local",
        "MCPD_ALLOW_LOCAL_RUNTIME_WITH_TOKENS=1",
        "auth.json",
    ] {
        assert!(out.contains(named), "{named}: {out}");
    }

    // `auto` with Docker unreachable: no silent fallback to the host.
    let auto = local_env(
        &fake,
        &data,
        &[
            tokens_env,
            ("CODEX_MCP_RUNTIME", "auto".to_string()),
            (
                "DOCKER_HOST",
                format!("unix://{}", dir.path().join("no-docker.sock").display()),
            ),
        ],
    );
    let (code, out) = run_mcpd(&["serve"], &auto, wait).await.unwrap();
    assert_eq!(code, Some(1), "{out}");
    for named in [
        "CODEX_MCP_RUNTIME=auto",
        "Docker is not usable",
        "MCPD_ALLOW_LOCAL_RUNTIME_WITH_TOKENS=1",
    ] {
        assert!(out.contains(named), "{named}: {out}");
    }
    assert!(!out.contains("mcpd listening"), "{out}");
}
