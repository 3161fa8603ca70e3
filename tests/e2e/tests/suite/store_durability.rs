//! The session store through `mcpd`: what survives a SIGKILL in the middle of a call,
//! and what many agents recording at once leave behind. Real Codex (or a fake one for
//! the load test), real SQLite, the local runtime.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use codex_mcp_e2e::setup::host_codex_processes;
use codex_mcp_e2e::{Mcpd, install_fake_codex, local_env};
use codex_mcp_testkit::{CodexHome, Reply, ScriptedModel, codex_bin_or_skip, temp_dir};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// Everything a restarted mcpd needs to be "the same server".
struct Server {
    env: Vec<(&'static str, String)>,
    logs: PathBuf,
    data: PathBuf,
    _dirs: Vec<tempfile::TempDir>,
}

impl Server {
    fn new(codex: &Path, model: &ScriptedModel) -> Self {
        let home_dir = temp_dir("e2e-store-home").unwrap();
        let data_dir = temp_dir("e2e-store-data").unwrap();
        let home = CodexHome::new(home_dir.path(), model);
        let config = home_dir.path().join("server-config.toml");
        std::fs::write(&config, home.config_toml()).unwrap();
        let env = vec![
            ("CODEX_MCP_RUNTIME", "local".to_string()),
            ("CODEX_BIN", codex.display().to_string()),
            ("CODEX_MCP_DATA_DIR", data_dir.path().display().to_string()),
            ("CODEX_MCP_CODEX_CONFIG", config.display().to_string()),
            ("OPENAI_API_KEY", "sk-e2e-store-key".to_string()),
            (
                "CODEX_AUTH_DIR",
                home_dir.path().join("no-login").display().to_string(),
            ),
        ];
        Self {
            env,
            logs: home_dir.path().to_path_buf(),
            data: data_dir.path().to_path_buf(),
            _dirs: vec![home_dir, data_dir],
        }
    }

    async fn start(&self) -> Mcpd {
        Mcpd::start(&self.env, &self.logs).await.unwrap()
    }
}

fn structured(result: &Value) -> &Value {
    assert_eq!(result.get("isError"), None, "{result}");
    &result["structuredContent"]
}

fn chat_reply(text: &str) -> Reply {
    Reply::json(json!({"reply": text, "follow_up_suggestions": [], "referenced_files": []}))
}

/// (tool, status) of an agent's recorded calls, newest first.
fn call_statuses(session: &Value) -> Vec<(String, String)> {
    session["recent_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["tool"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn sigkill_mid_chat_leaves_an_interrupted_record_and_the_conversation_continues() {
    let Some(codex) = codex_bin_or_skip() else {
        return;
    };
    let model = ScriptedModel::start().await.unwrap();
    let server = Server::new(&codex, &model);
    let mut mcpd = server.start().await;

    model.push(chat_reply("Noted: PELICAN."));
    let first = mcpd
        .call_tool(
            "chat",
            json!({"message": "Remember the word PELICAN.", "agent_id": "dora"}),
        )
        .await
        .unwrap();
    assert_eq!(structured(&first)["reply"], json!("Noted: PELICAN."));

    // The second turn never gets an answer from the model; mcpd dies during it.
    model.push(Reply::hang());
    let base = mcpd.base.clone();
    let stuck = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("{base}/tools/chat"))
            .json(&json!({"message": "Are you still there?", "agent_id": "dora"}))
            .send()
            .await
    });
    model
        .wait_for_responses_requests(2, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        !host_codex_processes(&server.data).is_empty(),
        "Codex should be running"
    );
    mcpd.kill().await.unwrap();
    assert!(
        stuck.await.unwrap().is_err(),
        "the broken call cannot have an answer"
    );

    let mcpd = server.start().await;
    // The Codex process the killed server left behind was stopped at startup.
    assert_eq!(host_codex_processes(&server.data), Vec::<String>::new());
    let listed = mcpd
        .call_tool("list_sessions", json!({"agent_id": "dora"}))
        .await
        .unwrap();
    let sessions = structured(&listed)["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 1, "{listed}");
    assert_eq!(
        (
            sessions[0]["agent_id"].clone(),
            sessions[0]["calls"].clone()
        ),
        (json!("dora"), json!(2))
    );
    assert_eq!(
        call_statuses(&sessions[0]),
        vec![
            ("chat".to_string(), "interrupted".to_string()),
            ("chat".to_string(), "succeeded".to_string()),
        ]
    );
    let interrupted = &sessions[0]["recent_calls"][0];
    assert!(
        interrupted["error"].as_str().unwrap().contains("stopped"),
        "{interrupted}"
    );

    // The next chat continues the same Codex conversation: the model sees the first
    // exchange.
    model.push(chat_reply("The word was PELICAN."));
    let third = mcpd
        .call_tool(
            "chat",
            json!({"message": "Which word did I ask you to remember?", "agent_id": "dora"}),
        )
        .await
        .unwrap();
    assert_eq!(structured(&third)["reply"], json!("The word was PELICAN."));
    let requests = model.responses_requests();
    let last = requests.last().unwrap();
    let users = last.user_texts().join("\n");
    assert!(users.contains("Remember the word PELICAN."), "{users}");
    assert!(
        users.contains("Which word did I ask you to remember?"),
        "{users}"
    );
    assert!(
        last.assistant_texts()
            .join("\n")
            .contains("Noted: PELICAN."),
        "{:?}",
        last.assistant_texts()
    );
    assert_eq!(last.thread_id(), requests[0].thread_id());

    let mine = mcpd
        .call_tool("get_my_session_info", json!({"agent_id": "dora"}))
        .await
        .unwrap();
    assert_eq!(
        call_statuses(structured(&mine)),
        vec![
            ("chat".to_string(), "succeeded".to_string()),
            ("chat".to_string(), "interrupted".to_string()),
            ("chat".to_string(), "succeeded".to_string()),
        ]
    );
}

#[tokio::test]
async fn twenty_agents_making_fifty_calls_each_are_all_recorded() {
    const AGENTS: usize = 20;
    const CALLS: usize = 50;
    let dir = temp_dir("e2e-store-load").unwrap();
    let fake = install_fake_codex(dir.path()).unwrap();
    let env = local_env(&fake, &dir.path().join("data"), &[]);
    let mcpd = Mcpd::start(&env, dir.path()).await.unwrap();

    let mut tasks = Vec::new();
    for a in 0..AGENTS {
        let base = mcpd.base.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut failures = 0;
            for c in 0..CALLS {
                // Every fifth call of an agent is refused by argument validation: it
                // must not be recorded as a Codex call at all.
                let body = if c % 5 == 4 {
                    json!({"message": "", "agent_id": format!("load-{a}")})
                } else {
                    json!({"message": format!("call {c}"), "agent_id": format!("load-{a}")})
                };
                let result: Value = http
                    .post(format!("{base}/tools/chat"))
                    .json(&body)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                if result.get("isError") == Some(&json!(true)) {
                    failures += 1;
                }
            }
            failures
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), CALLS / 5);
    }

    let listed = mcpd.call_tool("list_sessions", json!({})).await.unwrap();
    let mut per_agent: BTreeMap<String, (u64, u64, Vec<String>)> = BTreeMap::new();
    for s in structured(&listed)["sessions"].as_array().unwrap() {
        let statuses: Vec<String> = call_statuses(s).into_iter().map(|(_, st)| st).collect();
        per_agent.insert(
            s["agent_id"].as_str().unwrap().to_string(),
            (
                s["calls"].as_u64().unwrap(),
                s["calls_running"].as_u64().unwrap(),
                statuses,
            ),
        );
    }
    let expected: BTreeMap<String, (u64, u64, Vec<String>)> = (0..AGENTS)
        .map(|a| {
            (
                format!("load-{a}"),
                (
                    (CALLS - CALLS / 5) as u64,
                    0,
                    vec!["succeeded".to_string(); 10],
                ),
            )
        })
        .collect();
    assert_eq!(per_agent, expected);
    // Tokens are the fake's 10 in / 2 out per call, summed per agent.
    let one = mcpd
        .call_tool("get_my_session_info", json!({"agent_id": "load-7"}))
        .await
        .unwrap();
    let info = structured(&one);
    assert_eq!(
        (info["tokens_in"].clone(), info["tokens_out"].clone()),
        (json!(400), json!(80))
    );
}

#[tokio::test]
async fn legacy_sessions_and_their_calls_are_recorded() {
    use codex_mcp_store::{CallStatus, SessionStore as _, SqliteStore, Transport};
    let dir = temp_dir("e2e-store-sessions").unwrap();
    let fake = install_fake_codex(dir.path()).unwrap();
    let data = dir.path().join("data");
    let mut mcpd = Mcpd::start(&local_env(&fake, &data, &[]), dir.path())
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let post = |body: Value, session: Option<&str>| {
        let mut req = http
            .post(format!("{}/mcp", mcpd.base))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("x-agent-id", "eve")
            .body(body.to_string());
        if let Some(s) = session {
            req = req
                .header("mcp-session-id", s)
                .header("mcp-protocol-version", "2025-11-25");
        }
        req.send()
    };
    let init = post(
        json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "e2e-recorder", "version": "9.9"}}}),
        None,
    )
    .await
    .unwrap();
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let call = post(
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "chat", "arguments": {"message": "hi"}}}),
        Some(&session),
    )
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(call.contains("\"reply\""), "{call}");
    let deleted = http
        .delete(format!("{}/mcp", mcpd.base))
        .header("mcp-session-id", &session)
        .header("mcp-protocol-version", "2025-11-25")
        .send()
        .await
        .unwrap();
    assert!(deleted.status().is_success());
    // Let the close be written, then stop the server so the store can be opened here.
    tokio::time::sleep(Duration::from_millis(300)).await;
    mcpd.terminate().await.unwrap();

    let store = tokio::task::spawn_blocking(move || SqliteStore::open(&data))
        .await
        .unwrap()
        .unwrap();
    let sessions = store.list_sessions(Some("eve"), false).await.unwrap();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let s = &sessions[0];
    assert_eq!(
        (
            s.id.as_str(),
            s.client_name.as_deref(),
            s.client_version.as_deref(),
            s.transport,
            s.protocol_version.as_str(),
            s.closed_at.is_some(),
        ),
        (
            session.as_str(),
            Some("e2e-recorder"),
            Some("9.9"),
            Transport::StreamableHttp,
            "2025-11-25",
            true
        )
    );
    let calls = store.list_calls("eve", 10).await.unwrap();
    assert_eq!(
        calls
            .iter()
            .map(|c| (c.tool.as_str(), c.status, c.session_id.as_deref()))
            .collect::<Vec<_>>(),
        vec![("chat", CallStatus::Succeeded, Some(session.as_str()))]
    );
    assert!(calls[0].arguments_digest.starts_with("sha256:"));
    store.close().await;
}

#[tokio::test]
async fn a_client_that_goes_away_leaves_a_cancelled_record_not_a_running_one() {
    let dir = temp_dir("e2e-store-abandon").unwrap();
    let fake = install_fake_codex(dir.path()).unwrap();
    let mcpd = Mcpd::start(&local_env(&fake, &dir.path().join("data"), &[]), dir.path())
        .await
        .unwrap();
    // A plain-JSON REST call whose client gives up after half a second.
    let gave_up = reqwest::Client::new()
        .post(format!("{}/tools/chat", mcpd.base))
        .json(&json!({"message": "SLOW", "agent_id": "quitter"}))
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    assert!(gave_up.is_err(), "the call should still have been running");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let session = loop {
        let mine = mcpd
            .call_tool("get_my_session_info", json!({"agent_id": "quitter"}))
            .await
            .unwrap();
        let session = structured(&mine).clone();
        if session["calls_running"] == json!(0) {
            break session;
        }
        assert!(tokio::time::Instant::now() < deadline, "{session}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let call = &session["recent_calls"][0];
    assert_eq!(
        (call["status"].clone(), call["error"].clone()),
        (
            json!("cancelled"),
            // The transport cancels the call of a client that went away, as a cancel
            // request would: the same record, Codex stopped by the same path.
            json!(codex_mcp_core::agents::AgentError::Cancelled.to_string())
        )
    );
    // And Codex was stopped with it.
    assert_eq!(
        host_codex_processes(&dir.path().join("data")),
        Vec::<String>::new()
    );
}
