//! The ten tools through `mcpd` with the local runtime and the real Codex CLI; the only
//! simulated part is the model (a scripted Responses-API server on 127.0.0.1).

use std::path::{Path, PathBuf};
use std::time::Duration;

use codex_mcp_e2e::Mcpd;
use codex_mcp_testkit::{CodexHome, Reply, ScriptedModel, codex_bin_or_skip, temp_dir};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

struct Setup {
    mcpd: Mcpd,
    model: ScriptedModel,
    data: PathBuf,
    _dirs: Vec<tempfile::TempDir>,
}

async fn setup(approval: &str, extra_env: &[(&str, String)]) -> Option<Setup> {
    let codex = codex_bin_or_skip()?;
    let model = ScriptedModel::start().await.unwrap();
    let home_dir = temp_dir("e2e-home").unwrap();
    let data_dir = temp_dir("e2e-data").unwrap();
    let home = CodexHome::new(home_dir.path(), &model);
    let config = home_dir.path().join("server-config.toml");
    std::fs::write(&config, home.config_toml()).unwrap();
    let mut env = vec![
        ("CODEX_MCP_RUNTIME", "local".to_string()),
        ("CODEX_BIN", codex.display().to_string()),
        ("CODEX_MCP_DATA_DIR", data_dir.path().display().to_string()),
        ("CODEX_MCP_CODEX_CONFIG", config.display().to_string()),
        ("OPENAI_API_KEY", "sk-e2e-test-key".to_string()),
        ("CODEX_APPROVAL_MODE", approval.to_string()),
        (
            "CODEX_AUTH_DIR",
            home_dir.path().join("no-login").display().to_string(),
        ),
    ];
    for (k, v) in extra_env {
        env.retain(|(name, _)| name != k);
        env.push((k, v.clone()));
    }
    let mcpd = Mcpd::start(&env, home_dir.path()).await.unwrap();
    Some(Setup {
        mcpd,
        model,
        data: data_dir.path().to_path_buf(),
        _dirs: vec![home_dir, data_dir],
    })
}

fn workspace(data: &Path, agent: &str) -> PathBuf {
    data.join("agents").join(agent).join("workspace")
}

fn samples() -> Vec<(&'static str, Value, Value)> {
    vec![
        (
            "plan",
            json!({"task": "add a cache"}),
            json!({
                "summary": "Add an LRU cache.",
                "steps": [{"description": "Write the cache", "files": ["src/cache.rs"]}],
                "files_to_touch": [{"path": "src/cache.rs", "action": "create", "reason": "new module"}],
                "architectural_decisions": [{"decision": "LRU", "rationale": "bounded memory", "alternatives": ["TTL"]}],
                "risks": [{"description": "stale entries", "mitigation": "invalidate on write", "severity": "low"}]
            }),
        ),
        (
            "implement",
            json!({"task": "create hello.txt", "target_files": ["hello.txt"]}),
            json!({
                "diff": "", "explanation": "Created the file.",
                "files_changed": [{"path": "hello.txt", "change": "added", "summary": "greeting"}],
                "integration_notes": []
            }),
        ),
        (
            "review",
            json!({"content": "fn main() { let x = 1; }"}),
            json!({
                "summary": "Fine.", "verdict": "approve_with_suggestions",
                "comments": [{"file": null, "line": 1, "message": "unused variable", "severity": "low", "suggestion": "remove x"}],
                "scores": [{"criterion": "clarity", "score": 8, "rationale": "short"}],
                "recommendations": ["remove x"]
            }),
        ),
        (
            "fix",
            json!({"error_output": "thread 'main' panicked"}),
            json!({
                "root_cause": "unwrap on None", "explanation": "Handle the None case.", "diff": "",
                "files_changed": [], "verification": {"status": "not_run", "commands": [], "details": "no tests"},
                "prevention": ["add a test"]
            }),
        ),
        (
            "chat",
            json!({"message": "hello"}),
            json!({
                "reply": "Hello!", "follow_up_suggestions": [], "referenced_files": []
            }),
        ),
        (
            "audit",
            json!({"code": "query(\"SELECT * FROM t WHERE id=\" + id)"}),
            json!({
                "summary": "SQL injection.", "overall_risk": "high",
                "findings": [{"title": "SQL injection", "severity": "high", "category": "injection",
                    "description": "string concatenation", "cwe_ids": ["CWE-89"],
                    "locations": [{"file": null, "line": 1}], "remediation": "use parameters", "compliance": []}]
            }),
        ),
        (
            "debug",
            json!({"error_message": "connection refused"}),
            json!({
                "summary": "The server is down.",
                "hypotheses": [{"cause": "not started", "likelihood": "high", "evidence": "ECONNREFUSED", "how_to_confirm": "ss -ltn"}],
                "solutions": [{"approach": "start it", "steps": ["systemctl start x"], "trade_offs": "none"}],
                "next_steps": ["check the port"]
            }),
        ),
    ]
}

fn structured(result: &Value) -> &Value {
    result.get("structuredContent").unwrap_or(&Value::Null)
}

fn error_text(result: &Value) -> String {
    assert_eq!(
        result.get("isError"),
        Some(&json!(true)),
        "expected an error result: {result}"
    );
    result
        .pointer("/content/0/text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn every_codex_tool_returns_schema_valid_structured_content() {
    let Some(s) = setup("suggest", &[]).await else {
        return;
    };
    let tools = s.mcpd.list_tools().await.unwrap();
    for (name, args, answer) in samples() {
        s.model.push(Reply::json(answer.clone()));
        let result = s.mcpd.call_tool(name, args).await.unwrap();
        assert_eq!(
            result.get("isError"),
            None,
            "{name}: {result}\n{}",
            s.mcpd.log()
        );
        let schema = tools
            .iter()
            .find(|t| t["name"] == name)
            .and_then(|t| t.get("outputSchema"))
            .unwrap();
        let validator = jsonschema::validator_for(schema).unwrap();
        let out = structured(&result);
        assert!(
            validator.is_valid(out),
            "{name}: {out} does not match its outputSchema"
        );
        let text: Value = serde_json::from_str(
            result
                .pointer("/content/0/text")
                .and_then(Value::as_str)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(&text, out, "{name}: text content must carry the same JSON");
        let expected = if matches!(name, "implement" | "fix") {
            let mut a = answer.clone();
            a["diff"] = json!("");
            a
        } else {
            answer.clone()
        };
        assert_eq!(out, &expected, "{name}");
        let request = s.model.responses_requests().pop().unwrap();
        assert!(
            request.wants_json_schema(),
            "{name}: Codex must be run with --output-schema"
        );
        assert_eq!(request.bearer(), Some("sk-e2e-test-key"));
    }
}

#[tokio::test]
async fn health_check_answers_without_codex() {
    let Some(s) = setup("suggest", &[]).await else {
        return;
    };
    let result = s.mcpd.call_tool("health_check", json!({})).await.unwrap();
    let out = structured(&result);
    assert_eq!(
        (out["status"].clone(), out["runtime"].clone()),
        (json!("ok"), json!("local"))
    );
    assert_eq!(s.model.responses_requests().len(), 0);
}

#[tokio::test]
async fn chat_continues_one_agents_conversation_and_not_anothers() {
    let Some(s) = setup("suggest", &[]).await else {
        return;
    };
    let reply = |t: &str| {
        Reply::json(json!({"reply": t, "follow_up_suggestions": [], "referenced_files": []}))
    };
    s.model.push(reply("first answer"));
    s.model.push(reply("second answer"));
    s.model.push(reply("other agent answer"));
    let a1 = s
        .mcpd
        .call_tool(
            "chat",
            json!({"message": "remember the word kumquat", "agent_id": "alice"}),
        )
        .await
        .unwrap();
    assert_eq!(structured(&a1)["reply"], json!("first answer"));
    let a2 = s
        .mcpd
        .call_tool(
            "chat",
            json!({"message": "which word?", "agent_id": "alice"}),
        )
        .await
        .unwrap();
    assert_eq!(structured(&a2)["reply"], json!("second answer"));
    let b1 = s
        .mcpd
        .call_tool("chat", json!({"message": "any words?", "agent_id": "bob"}))
        .await
        .unwrap();
    assert_eq!(structured(&b1)["reply"], json!("other agent answer"));

    let requests = s.model.responses_requests();
    assert_eq!(requests.len(), 3);
    let second = requests[1].user_texts().join("\n");
    assert!(
        second.contains("kumquat"),
        "alice's second turn must carry the first exchange: {second}"
    );
    assert!(
        requests[1]
            .assistant_texts()
            .iter()
            .any(|t| t.contains("first answer"))
    );
    let third = requests[2].user_texts().join("\n");
    assert!(
        !third.contains("kumquat"),
        "bob must not see alice's conversation: {third}"
    );
}

#[tokio::test]
async fn implement_in_suggest_mode_leaves_the_workspace_and_returns_the_diff() {
    let Some(s) = setup("suggest", &[]).await else {
        return;
    };
    let ws = workspace(&s.data, "dev");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::write(ws.join("notes.txt"), "old line\n").unwrap();
    s.model
        .push(Reply::exec_command("printf 'new line\\n' > notes.txt"));
    s.model.push(Reply::json(
        json!({"diff": "", "explanation": "rewrote", "files_changed": [], "integration_notes": []}),
    ));
    let result = s
        .mcpd
        .call_tool(
            "implement",
            json!({"task": "rewrite notes", "target_files": ["notes.txt"], "agent_id": "dev"}),
        )
        .await
        .unwrap();
    assert_eq!(result.get("isError"), None, "{result}\n{}", s.mcpd.log());
    assert_eq!(
        std::fs::read_to_string(ws.join("notes.txt")).unwrap(),
        "old line\n"
    );
    let diff = structured(&result)["diff"].as_str().unwrap().to_string();
    assert!(
        diff.contains("--- a/notes.txt")
            && diff.contains("-old line")
            && diff.contains("+new line"),
        "{diff}"
    );
}

#[tokio::test]
async fn implement_in_auto_mode_changes_the_workspace() {
    let Some(s) = setup("auto", &[]).await else {
        return;
    };
    let ws = workspace(&s.data, "dev");
    std::fs::create_dir_all(&ws).unwrap();
    std::fs::write(ws.join("notes.txt"), "old line\n").unwrap();
    s.model
        .push(Reply::exec_command("printf 'new line\\n' > notes.txt"));
    s.model.push(Reply::json(
        json!({"diff": "", "explanation": "rewrote", "files_changed": [], "integration_notes": []}),
    ));
    let result = s
        .mcpd
        .call_tool(
            "implement",
            json!({"task": "rewrite notes", "target_files": ["notes.txt"], "agent_id": "dev"}),
        )
        .await
        .unwrap();
    assert_eq!(result.get("isError"), None, "{result}\n{}", s.mcpd.log());
    assert_eq!(
        std::fs::read_to_string(ws.join("notes.txt")).unwrap(),
        "new line\n"
    );
    let diff = structured(&result)["diff"].as_str().unwrap().to_string();
    assert!(diff.contains("+new line"), "{diff}");
}

#[tokio::test]
async fn model_failure_is_reported_with_codexs_message() {
    let Some(s) = setup("suggest", &[]).await else {
        return;
    };
    s.model.push(Reply::http_error(429, "slow down"));
    let result = s
        .mcpd
        .call_tool("chat", json!({"message": "hi"}))
        .await
        .unwrap();
    let text = error_text(&result);
    assert!(
        text.contains("Codex failed") && text.contains("429"),
        "{text}"
    );
}

#[tokio::test]
async fn unstructured_answer_is_an_error_carrying_the_raw_text() {
    let Some(s) = setup("suggest", &[]).await else {
        return;
    };
    s.model.push(Reply::text("I refuse to answer in JSON"));
    let result = s
        .mcpd
        .call_tool("plan", json!({"task": "x"}))
        .await
        .unwrap();
    let text = error_text(&result);
    assert!(
        text.contains("did not match the plan output schema")
            && text.contains("I refuse to answer in JSON"),
        "{text}"
    );
}

#[tokio::test]
async fn timeout_stops_codex_and_says_so() {
    let Some(s) = setup("suggest", &[]).await else {
        return;
    };
    s.model.push(Reply::hang());
    let result = s
        .mcpd
        .call_tool("chat", json!({"message": "hi", "timeout_seconds": 2}))
        .await
        .unwrap();
    let text = error_text(&result);
    assert!(text.contains("did not finish within 2 s"), "{text}");
    assert_no_codex_left(&s.data).await;
}

#[tokio::test]
async fn missing_codex_binary_is_named() {
    let Some(s) = setup(
        "suggest",
        &[("CODEX_BIN", "/nonexistent/codex".to_string())],
    )
    .await
    else {
        return;
    };
    let result = s
        .mcpd
        .call_tool("chat", json!({"message": "hi"}))
        .await
        .unwrap();
    let text = error_text(&result);
    assert!(
        text.contains("could not start Codex (/nonexistent/codex)") && text.contains("CODEX_BIN"),
        "{text}"
    );
}

#[tokio::test]
async fn no_credentials_tells_both_fixes() {
    let Some(s) = setup("suggest", &[("OPENAI_API_KEY", String::new())]).await else {
        return;
    };
    let result = s
        .mcpd
        .call_tool("chat", json!({"message": "hi"}))
        .await
        .unwrap();
    let text = error_text(&result);
    assert!(
        text.contains("codex login") && text.contains("OPENAI_API_KEY"),
        "{text}"
    );
    assert_eq!(s.model.responses_requests().len(), 0);
}

#[tokio::test]
async fn bad_arguments_name_the_argument() {
    let Some(s) = setup("suggest", &[]).await else {
        return;
    };
    let cases = [
        ("plan", json!({}), "task"),
        ("plan", json!({"task": 5}), "task"),
        ("plan", json!({"task": "   "}), "task"),
        (
            "implement",
            json!({"task": "x", "target_files": "a.rs"}),
            "target_files",
        ),
        (
            "chat",
            json!({"message": "hi", "agent_id": "bad id!"}),
            "agent_id",
        ),
        ("chat", json!({"message": "hi", "colour": "red"}), "colour"),
        (
            "review",
            json!({"content": "x".repeat(10 * 1024 * 1024)}),
            "content",
        ),
    ];
    for (tool, args, needle) in cases {
        let result = s.mcpd.call_tool(tool, args).await.unwrap();
        let text = error_text(&result);
        assert!(text.contains(needle), "{tool}: {text} should name {needle}");
    }
    assert_eq!(s.model.responses_requests().len(), 0);
}

/// No Codex process of this test's data dir is left in the process table.
async fn assert_no_codex_left(data: &Path) {
    let marker = data.display().to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let mut left = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            if let Ok(environ) = std::fs::read(entry.path().join("environ")) {
                let environ = String::from_utf8_lossy(&environ);
                let cmdline =
                    std::fs::read_to_string(entry.path().join("cmdline")).unwrap_or_default();
                if environ.contains(&marker)
                    && cmdline.contains("codex")
                    && !cmdline.contains("mcpd")
                {
                    left.push(cmdline.replace('\0', " "));
                }
            }
        }
        if left.is_empty() {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("Codex processes left behind: {left:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
