//! mcpd keeping its record in PostgreSQL (`CODEX_MCP_DATABASE_URL`): real Codex, a
//! scripted model, the local runtime and a real PostgreSQL cluster. A call is recorded
//! there (no SQLite file appears); a second replica shares the record; a replica
//! SIGKILLed mid-call has that call marked `interrupted` by the other one, and its
//! conversation continues after a restart; a second live mcpd claiming a replica's name
//! is refused; a bad URL stops startup naming the setting, never the password.

use std::path::Path;
use std::time::Duration;

use codex_mcp_e2e::{Mcpd, run_mcpd};
use codex_mcp_testkit::{CodexHome, PgServer, Reply, ScriptedModel, codex_bin_or_skip, temp_dir};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const PASSWORD: &str = "pw-never-logged-4711";

fn env_for(
    codex: &Path,
    home: &Path,
    model: &ScriptedModel,
    data: &Path,
    url: &str,
    replica: &str,
) -> Vec<(&'static str, String)> {
    let home_cfg = CodexHome::new(home, model);
    let config = home.join("server-config.toml");
    std::fs::write(&config, home_cfg.config_toml()).unwrap();
    vec![
        ("CODEX_MCP_RUNTIME", "local".to_string()),
        ("CODEX_BIN", codex.display().to_string()),
        ("CODEX_MCP_DATA_DIR", data.display().to_string()),
        ("CODEX_MCP_CODEX_CONFIG", config.display().to_string()),
        ("OPENAI_API_KEY", "sk-e2e-pg-key".to_string()),
        (
            "CODEX_AUTH_DIR",
            home.join("no-login").display().to_string(),
        ),
        ("CODEX_MCP_DATABASE_URL", url.to_string()),
        ("CODEX_MCP_REPLICA_NAME", replica.to_string()),
    ]
}

fn chat_reply(text: &str) -> Reply {
    Reply::json(json!({"reply": text, "follow_up_suggestions": [], "referenced_files": []}))
}

fn structured(result: &Value) -> &Value {
    assert_eq!(result.get("isError"), None, "{result}");
    &result["structuredContent"]
}

fn statuses(session: &Value) -> Vec<(String, String)> {
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
async fn replicas_on_postgres_share_the_record_and_recover_a_killed_ones_call() {
    let Some(codex) = codex_bin_or_skip() else {
        return;
    };
    let Some(pg) = PgServer::start_or_skip() else {
        return;
    };
    // Trust authentication ignores the password; it is there to prove it never shows.
    let url = format!(
        "postgres://postgres:{PASSWORD}@127.0.0.1:{}/codex_mcp",
        pg.port()
    );
    let model = ScriptedModel::start().await.unwrap();
    let home = temp_dir("e2e-pg-home").unwrap();
    let data = temp_dir("e2e-pg-data").unwrap();
    let env = env_for(&codex, home.path(), &model, data.path(), &url, "replica-1");
    let mut mcpd = Mcpd::start(&env, home.path()).await.unwrap();

    model.push(chat_reply("Noted: HERON."));
    let first = mcpd
        .call_tool(
            "chat",
            json!({"message": "Remember the word HERON.", "agent_id": "pia"}),
        )
        .await
        .unwrap();
    assert_eq!(structured(&first)["reply"], json!("Noted: HERON."));
    assert!(
        !data.path().join("codex-mcp.db").exists(),
        "with a database URL no SQLite file is made"
    );
    assert_eq!(
        pg.psql(
            "codex_mcp",
            "SELECT tool || ':' || status FROM calls WHERE agent_id = 'pia'"
        )
        .unwrap(),
        "chat:succeeded"
    );

    // A second live mcpd claiming replica-1's name (its own data dir) is refused.
    let other = temp_dir("e2e-pg-data2").unwrap();
    let same_name = env_for(&codex, home.path(), &model, other.path(), &url, "replica-1");
    let (code, out) = run_mcpd(&["serve"], &same_name, Duration::from_secs(30))
        .await
        .unwrap();
    assert_ne!(code, Some(0), "{out}");
    let expected = format!(
        "the PostgreSQL database postgres://127.0.0.1:{}/codex_mcp is in use by another mcpd \
         with the replica name \"replica-1\"",
        pg.port()
    );
    assert!(out.contains(&expected), "{out}");
    assert!(!out.contains(PASSWORD), "{out}");

    // Under its own name a second replica starts and shares the record.
    let replica_2 = env_for(&codex, home.path(), &model, other.path(), &url, "replica-2");
    let r2 = Mcpd::start(&replica_2, home.path()).await.unwrap();
    let seen = r2
        .call_tool("list_sessions", json!({"agent_id": "pia"}))
        .await
        .unwrap();
    let sessions = structured(&seen)["sessions"].as_array().unwrap().clone();
    assert_eq!(
        statuses(&sessions[0]),
        vec![("chat".to_string(), "succeeded".to_string())]
    );

    // mcpd dies during a turn the model never answers.
    model.push(Reply::hang());
    let base = mcpd.base.clone();
    let stuck = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("{base}/tools/chat"))
            .json(&json!({"message": "Still there?", "agent_id": "pia"}))
            .send()
            .await
    });
    model
        .wait_for_responses_requests(2, Duration::from_secs(60))
        .await
        .unwrap();
    let first_log = mcpd.log();
    mcpd.kill().await.unwrap();
    assert!(stuck.await.unwrap().is_err());

    // replica-2 notices replica-1 is gone and marks its call interrupted (it sweeps
    // every 5 s), without replica-1 coming back.
    let expected = vec![
        ("chat".to_string(), "interrupted".to_string()),
        ("chat".to_string(), "succeeded".to_string()),
    ];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let listed = r2
            .call_tool("list_sessions", json!({"agent_id": "pia"}))
            .await
            .unwrap();
        let sessions = structured(&listed)["sessions"].as_array().unwrap().clone();
        if statuses(&sessions[0]) == expected {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "replica-2 never marked the call interrupted: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        r2.log()
            .contains("marked calls of a replica that is gone as interrupted"),
        "{}",
        r2.log()
    );

    // replica-1 restarts (its agent's folder is in its data dir) and finds nothing left.
    let mcpd = Mcpd::start(&env, home.path()).await.unwrap();

    // The conversation resumes on the Codex thread kept in PostgreSQL.
    model.push(chat_reply("The word was HERON."));
    let third = mcpd
        .call_tool(
            "chat",
            json!({"message": "Which word did I give you?", "agent_id": "pia"}),
        )
        .await
        .unwrap();
    assert_eq!(structured(&third)["reply"], json!("The word was HERON."));
    let requests = model.responses_requests();
    let last = requests.last().unwrap();
    assert!(
        last.user_texts()
            .join("\n")
            .contains("Remember the word HERON."),
        "{:?}",
        last.user_texts()
    );
    assert_eq!(last.thread_id(), requests[0].thread_id());
    for log in [first_log, mcpd.log(), r2.log()] {
        assert!(!log.contains(PASSWORD), "the password reached the log");
        assert!(log.contains("session store open"), "{log}");
    }
}

#[tokio::test]
async fn a_bad_database_url_stops_startup_naming_the_setting() {
    let dir = temp_dir("e2e-pg-bad").unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (url, expected) in [
        (
            format!("postgres://bob:{PASSWORD}@127.0.0.1:{port}/codex"),
            format!("cannot use the PostgreSQL database postgres://127.0.0.1:{port}/codex"),
        ),
        (
            "postgres://[::1:5432/x".to_string(),
            "invalid CODEX_MCP_DATABASE_URL".to_string(),
        ),
    ] {
        let env = vec![
            ("CODEX_MCP_RUNTIME", "local".to_string()),
            ("CODEX_MCP_DATA_DIR", dir.path().display().to_string()),
            ("OPENAI_API_KEY", "sk-e2e-pg-key".to_string()),
            ("CODEX_MCP_DATABASE_URL", url),
        ];
        let (code, out) = run_mcpd(&["serve"], &env, Duration::from_secs(30))
            .await
            .unwrap();
        assert_ne!(code, Some(0), "{out}");
        assert!(out.contains(&expected), "{out}");
        assert!(!out.contains(PASSWORD), "{out}");
        assert!(!dir.path().join("codex-mcp.db").exists());
    }
}
