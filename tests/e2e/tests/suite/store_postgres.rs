//! mcpd keeping its record in PostgreSQL (`CODEX_MCP_DATABASE_URL`): real Codex, a
//! scripted model, the local runtime and a real PostgreSQL cluster. A call is recorded
//! there (no SQLite file appears), a SIGKILL mid-call leaves it `interrupted` and the
//! conversation continues after a restart, a second mcpd on the same database is refused,
//! and a bad URL stops startup naming the setting, never the password.

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
async fn mcpd_on_postgres_records_calls_survives_sigkill_and_refuses_a_second_server() {
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
    let env = env_for(&codex, home.path(), &model, data.path(), &url);
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

    // A second mcpd on the same database (its own data dir) is refused at startup.
    let other = temp_dir("e2e-pg-data2").unwrap();
    let second_env = env_for(&codex, home.path(), &model, other.path(), &url);
    let (code, out) = run_mcpd(&["serve"], &second_env, Duration::from_secs(30))
        .await
        .unwrap();
    assert_ne!(code, Some(0), "{out}");
    let expected = format!(
        "the PostgreSQL database postgres://127.0.0.1:{}/codex_mcp is in use by another mcpd",
        pg.port()
    );
    assert!(out.contains(&expected), "{out}");
    assert!(!out.contains(PASSWORD), "{out}");

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

    let mcpd = Mcpd::start(&env, home.path()).await.unwrap();
    let listed = mcpd
        .call_tool("list_sessions", json!({"agent_id": "pia"}))
        .await
        .unwrap();
    let sessions = structured(&listed)["sessions"].as_array().unwrap().clone();
    assert_eq!(sessions.len(), 1, "{listed}");
    assert_eq!(
        statuses(&sessions[0]),
        vec![
            ("chat".to_string(), "interrupted".to_string()),
            ("chat".to_string(), "succeeded".to_string()),
        ]
    );

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
    for log in [first_log, mcpd.log()] {
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
