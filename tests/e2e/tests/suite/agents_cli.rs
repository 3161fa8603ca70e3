//! `mcpd agents list|status|cleanup`: through a running mcpd, and directly on the data
//! dir when none runs. Local runtime, a fake Codex.

use codex_mcp_e2e::{Mcpd, install_fake_codex, local_env, mcpd_agents as agents};
use codex_mcp_testkit::temp_dir;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

#[tokio::test]
async fn agents_subcommands_answer_with_and_without_a_running_server() {
    let dir = temp_dir("e2e-agents-cli").unwrap();
    let fake = install_fake_codex(dir.path()).unwrap();
    let mut env = local_env(&fake, &dir.path().join("data"), &[]);
    let mut mcpd = Mcpd::start(&env, dir.path()).await.unwrap();
    // The CLI finds the server through MCPD_LISTEN, as an operator's shell would.
    let listen = mcpd.base.trim_start_matches("http://").to_string();
    env.push(("MCPD_LISTEN", listen));
    let chat = mcpd
        .call_tool("chat", json!({"message": "hi", "agent_id": "ann"}))
        .await
        .unwrap();
    assert_eq!(chat.get("isError"), None, "{chat}");

    // Through the running server.
    let (code, out, err) = agents(&env, &["list"]).await;
    assert_eq!(code, Some(0), "{err}");
    let rows: Vec<Vec<String>> = out
        .lines()
        .map(|l| l.split_whitespace().take(4).map(str::to_string).collect())
        .collect();
    assert_eq!(
        rows,
        vec![
            vec!["AGENT", "STATE", "IDLE_S", "CALLS"],
            vec!["ann", "running", "0", "0"],
        ]
        .into_iter()
        .map(|r| r.into_iter().map(str::to_string).collect::<Vec<_>>())
        .collect::<Vec<_>>()
    );
    let (code, out, err) = agents(&env, &["status", "ann"]).await;
    assert_eq!(code, Some(0), "{err}");
    let status: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            status["session"]["agent_id"].clone(),
            status["session"]["calls"].clone()
        ),
        (json!("ann"), json!(1))
    );
    // Bad input is named, with a failing exit code.
    let (code, _, err) = agents(&env, &["status", "not a valid id!"]).await;
    assert_eq!(code, Some(1));
    assert!(err.contains("agent_id"), "{err}");
    let (code, _, err) = agents(&env, &["status", "nobody"]).await;
    assert_eq!(code, Some(1));
    assert!(err.contains("unknown agent nobody"), "{err}");

    // Without a server: the same answers, straight from the data dir.
    mcpd.terminate().await.unwrap();
    let (code, out, err) = agents(&env, &["list", "--json"]).await;
    assert_eq!(code, Some(0), "{err}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            listed["agents"][0]["agent_id"].clone(),
            listed["agents"][0]["state"].clone()
        ),
        (json!("ann"), json!("stopped"))
    );
    let (code, out, err) = agents(&env, &["cleanup", "--idle-seconds", "0", "--purge"]).await;
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim(), "removed 1 agent environment(s): ann; kept 0");
    let (code, out, err) = agents(&env, &["list"]).await;
    assert_eq!(
        (code, out.trim()),
        (Some(0), "no agent environments"),
        "{err}"
    );
}
