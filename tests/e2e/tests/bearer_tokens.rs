//! MCPD_TOKENS_FILE: requests without a known bearer token are refused (401), a token's
//! first agent is the caller's agent, and a token cannot act as agents it does not list.

use codex_mcp_e2e::{Mcpd, install_fake_codex, local_env, mcpd_bin, without_shell_settings};
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
    let tokens = dir.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        TOKENS.replace("SHA_OF_OPS", &hex_sha256(OPS_TOKEN)),
    )
    .unwrap();
    let env = local_env(
        &fake,
        &dir.path().join("data"),
        &[("MCPD_TOKENS_FILE", tokens.display().to_string())],
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
    // /health stays open for probes.
    let health = reqwest::get(format!("{}/health", mcpd.base)).await.unwrap();
    assert_eq!(health.status(), 200);

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
