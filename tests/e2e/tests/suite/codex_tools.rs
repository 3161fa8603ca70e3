//! The ten tools through `mcpd` with the local runtime and the real Codex CLI; the only
//! simulated part is the model (a scripted Responses-API server on 127.0.0.1).

use codex_mcp_e2e::docker::{derived_image, docker_ok, plain_image};
use codex_mcp_e2e::task_clients::LegacySession;
use codex_mcp_e2e::{Runtime, Setup, error_text};
use codex_mcp_testkit::{Reply, temp_dir};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

codex_mcp_e2e::runtime_tests!(
    every_codex_tool_returns_schema_valid_structured_content,
    health_check_answers_without_codex,
    chat_continues_one_agents_conversation_and_not_anothers,
    implement_in_suggest_mode_leaves_the_workspace_and_returns_the_diff,
    implement_in_auto_mode_changes_the_workspace,
    suggest_mode_and_read_only_tools_cannot_write_the_live_workspace,
    model_failure_is_reported_with_codexs_message,
    unstructured_answer_is_an_error_carrying_the_raw_text,
    timeout_stops_codex_and_says_so,
    missing_codex_binary_is_named,
    no_credentials_tells_both_fixes,
    bad_arguments_name_the_argument,
    session_tools_report_the_agents_calls_and_threads,
    non_zero_exit_reports_the_stderr_tail,
    progress_notifications_increase_and_read_naturally,
    tool_prompts_are_served_as_mcp_prompts,
);

// The same tools with every agent a pod of the test cluster (docs/kubernetes.md).
codex_mcp_e2e::kubernetes_tests!(
    every_codex_tool_returns_schema_valid_structured_content,
    chat_continues_one_agents_conversation_and_not_anothers,
    implement_in_suggest_mode_leaves_the_workspace_and_returns_the_diff,
    implement_in_auto_mode_changes_the_workspace,
    suggest_mode_and_read_only_tools_cannot_write_the_live_workspace,
    timeout_stops_codex_and_says_so,
    non_zero_exit_reports_the_stderr_tail,
);

async fn setup(rt: Runtime, approval: &str, extra_env: &[(&'static str, String)]) -> Option<Setup> {
    Setup::start(rt, approval, extra_env).await
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

async fn every_codex_tool_returns_schema_valid_structured_content(rt: Runtime) {
    all_codex_tools_answer(rt, &[]).await;
}

/// Docker: an image from the plain Debian base (bash and git; no Codex, no agent user, no
/// prepared folders) runs every Codex tool, because mcpd prepares the rest: the volumes
/// given to uid 1000 and its pinned Codex mounted read-only.
#[tokio::test]
async fn a_plain_debian_image_runs_every_codex_tool() {
    if !codex_mcp_e2e::docker::docker_ready_or_skip() {
        return;
    }
    let image = plain_image().unwrap();
    let Some(s) =
        all_codex_tools_answer(Runtime::Docker, &[("CODEX_MCP_AGENT_IMAGE", image.clone())]).await
    else {
        return;
    };
    let containers = s.scope().containers();
    assert_eq!(containers.len(), 1, "one agent container: {containers:?}");
    let ran = docker_ok(&["inspect", "--format", "{{.Config.Image}}", &containers[0]]).unwrap();
    assert_eq!(ran.trim(), image, "the agent ran the plain image");
}

/// Calls each of the seven Codex tools once and checks its structured result.
async fn all_codex_tools_answer(rt: Runtime, env: &[(&'static str, String)]) -> Option<Setup> {
    let s = setup(rt, "suggest", env).await?;
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
    Some(s)
}

async fn health_check_answers_without_codex(rt: Runtime) {
    let Some(s) = setup(rt, "suggest", &[]).await else {
        return;
    };
    let result = s.mcpd.call_tool("health_check", json!({})).await.unwrap();
    let out = structured(&result);
    assert_eq!(
        (out["status"].clone(), out["runtime"].clone()),
        (json!("ok"), json!(rt.name()))
    );
    assert_eq!(s.model.responses_requests().len(), 0);
}

async fn chat_continues_one_agents_conversation_and_not_anothers(rt: Runtime) {
    let Some(s) = setup(rt, "suggest", &[]).await else {
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

/// Seeds agent `dev`'s workspace with `notes.txt`, scripts Codex to rewrite it, and calls
/// `implement`; returns the (successful) result.
async fn implement_rewriting_notes(s: &Setup) -> Value {
    s.write_workspace("dev", "notes.txt", "old line\n").unwrap();
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
    result
}

async fn implement_in_suggest_mode_leaves_the_workspace_and_returns_the_diff(rt: Runtime) {
    let Some(s) = setup(rt, "suggest", &[]).await else {
        return;
    };
    let result = implement_rewriting_notes(&s).await;
    assert_eq!(s.read_workspace("dev", "notes.txt").unwrap(), "old line\n");
    let diff = structured(&result)["diff"].as_str().unwrap().to_string();
    assert!(
        diff.contains("--- a/notes.txt")
            && diff.contains("-old line")
            && diff.contains("+new line"),
        "{diff}"
    );
}

async fn implement_in_auto_mode_changes_the_workspace(rt: Runtime) {
    let Some(s) = setup(rt, "auto", &[]).await else {
        return;
    };
    let result = implement_rewriting_notes(&s).await;
    assert_eq!(s.read_workspace("dev", "notes.txt").unwrap(), "new line\n");
    let diff = structured(&result)["diff"].as_str().unwrap().to_string();
    assert!(diff.contains("+new line"), "{diff}");
}

/// The live workspace as the agent's processes see it: `/workspace` in its container, the
/// agent's folder in the data dir on the host.
fn live_workspace(s: &Setup, agent: &str) -> String {
    match s.runtime {
        Runtime::Docker | Runtime::Kubernetes => "/workspace".into(),
        Runtime::Local => s
            .data
            .join("agents")
            .join(agent)
            .join("workspace")
            .display()
            .to_string(),
    }
}

async fn suggest_mode_and_read_only_tools_cannot_write_the_live_workspace(rt: Runtime) {
    let Some(s) = setup(rt, "suggest", &[]).await else {
        return;
    };
    s.write_workspace("dev", "notes.txt", "old line\n").unwrap();
    let live = live_workspace(&s, "dev");
    // The scratch copy (Codex's working directory) may change; the live workspace, named by
    // its absolute path, may not.
    let cmd = format!(
        "printf 'new line\\n' > notes.txt; echo pwned > '{live}/pwned'; \
         cd '{live}' && echo pwned > notes.txt; echo attack-done"
    );
    let answer = Reply::json(
        json!({"diff": "", "explanation": "x", "files_changed": [], "integration_notes": []}),
    );
    let (result, printed) = s
        .run_in_tool(
            "dev",
            "implement",
            |tag| json!({"task": tag, "target_files": ["notes.txt"]}),
            answer,
            &cmd,
        )
        .await;
    assert_eq!(result.get("isError"), None, "{result}");
    assert!(printed.contains("Read-only file system"), "{printed}");
    let diff = structured(&result)["diff"].as_str().unwrap().to_string();
    assert!(
        diff.contains("+new line") && !diff.contains("pwned"),
        "{diff}"
    );
    let review = Reply::json(json!({
        "summary": "Fine.", "verdict": "approve", "comments": [], "scores": [], "recommendations": []
    }));
    let cmd = format!("echo pwned > '{live}/pwned-by-review'; echo attack-done");
    let (result, printed) = s
        .run_in_tool("dev", "review", |tag| json!({"content": tag}), review, &cmd)
        .await;
    assert_eq!(result.get("isError"), None, "{result}");
    assert!(printed.contains("Read-only file system"), "{printed}");
    assert_eq!(s.read_workspace("dev", "notes.txt").unwrap(), "old line\n");
    for file in ["pwned", "pwned-by-review"] {
        assert!(s.read_workspace("dev", file).is_err(), "{file} was written");
    }
}

async fn model_failure_is_reported_with_codexs_message(rt: Runtime) {
    let Some(s) = setup(rt, "suggest", &[]).await else {
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

async fn unstructured_answer_is_an_error_carrying_the_raw_text(rt: Runtime) {
    let Some(s) = setup(rt, "suggest", &[]).await else {
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

async fn timeout_stops_codex_and_says_so(rt: Runtime) {
    let Some(s) = setup(rt, "suggest", &[]).await else {
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
    s.assert_no_codex_left("default").await;
}

/// Local: `CODEX_BIN` names nothing, and the error says so. Docker: an agent image
/// whose `PATH` has no Codex still works: mcpd's pinned Codex is mounted for it (last on
/// its `PATH`). (Not run on Kubernetes: pods get no pinned Codex.)
async fn missing_codex_binary_is_named(rt: Runtime) {
    let override_env = match rt {
        Runtime::Local => ("CODEX_BIN", "/nonexistent/codex".to_string()),
        Runtime::Kubernetes => panic!("not a Kubernetes test: pods get no pinned Codex"),
        Runtime::Docker => {
            if !codex_mcp_e2e::docker::docker_ready_or_skip() {
                return;
            }
            let image = derived_image(
                "codex-mcp-test-agent:no-codex",
                "ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                &[],
            )
            .unwrap();
            ("CODEX_MCP_AGENT_IMAGE", image)
        }
    };
    let Some(s) = setup(rt, "suggest", &[override_env]).await else {
        return;
    };
    if rt == Runtime::Docker {
        // Codex ran (the call succeeds), found last on the container's PATH.
        let printed = s.run_through_codex("nocodex", "echo ran").await;
        assert!(printed.contains("ran"), "{printed}");
        let env = docker_ok(&[
            "inspect",
            "--format",
            "{{json .Config.Env}}",
            &s.scope().container("nocodex"),
        ])
        .unwrap();
        assert!(
            env.contains("PATH=/usr/sbin:/usr/bin:/sbin:/bin:/opt/codex-mcp/codex/bin"),
            "{env}"
        );
        return;
    }
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

async fn no_credentials_tells_both_fixes(rt: Runtime) {
    let Some(s) = setup(rt, "suggest", &[("OPENAI_API_KEY", String::new())]).await else {
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

async fn bad_arguments_name_the_argument(rt: Runtime) {
    let Some(s) = setup(rt, "suggest", &[]).await else {
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

async fn session_tools_report_the_agents_calls_and_threads(rt: Runtime) {
    let Some(s) = setup(rt, "suggest", &[]).await else {
        return;
    };
    s.model.push(Reply::json(
        json!({"reply": "hi", "follow_up_suggestions": [], "referenced_files": []}),
    ));
    let chat = s
        .mcpd
        .call_tool("chat", json!({"message": "hello", "agent_id": "carol"}))
        .await
        .unwrap();
    assert_eq!(chat.get("isError"), None, "{chat}");
    let mine = s
        .mcpd
        .call_tool("get_my_session_info", json!({"agent_id": "carol"}))
        .await
        .unwrap();
    let info = structured(&mine);
    assert_eq!(
        (
            info["agent_id"].clone(),
            info["calls"].clone(),
            info["runtime"].clone()
        ),
        (json!("carol"), json!(1), json!(rt.name()))
    );
    assert_eq!(info["threads"][0]["conversation"], json!("chat"));
    assert!(info["tokens_in"].as_u64().unwrap() > 0);
    let calls: Vec<(Value, Value, Value)> = info["recent_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["tool"].clone(), c["status"].clone(), c["error"].clone()))
        .collect();
    assert_eq!(
        calls,
        vec![(json!("chat"), json!("succeeded"), Value::Null)]
    );
    assert_eq!(info["calls_running"], json!(0));
    let all = s.mcpd.call_tool("list_sessions", json!({})).await.unwrap();
    let ids: Vec<Value> = structured(&all)["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["agent_id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("carol")]);
    assert_eq!(
        (
            structured(&all)["total"].clone(),
            structured(&all)["next_offset"].clone()
        ),
        (json!(1), Value::Null)
    );
    let past = s
        .mcpd
        .call_tool("list_sessions", json!({"limit": 1, "offset": 1}))
        .await
        .unwrap();
    assert_eq!(
        (
            structured(&past)["sessions"].clone(),
            structured(&past)["total"].clone()
        ),
        (json!([]), json!(1))
    );
    for bad in [
        json!({"limit": 0}),
        json!({"limit": 501}),
        json!({"offset": -1}),
    ] {
        let refused = s.mcpd.call_tool("list_sessions", bad.clone()).await;
        let text = match &refused {
            Ok(reply) => error_text(reply),
            Err(e) => e.to_string(),
        };
        assert!(
            text.contains("limit") || text.contains("offset"),
            "{bad}: {text}"
        );
    }
    let status = s
        .mcpd
        .call_tool("get_agent_status", json!({"agent_id": "carol"}))
        .await
        .unwrap();
    assert_eq!(structured(&status)["session"]["agent_id"], json!("carol"));
    // Its disk use: at least the Codex home this call wrote (config, auth, session log).
    let disk = structured(&status)["resources"]["disk_bytes"].as_u64();
    assert!(disk.is_some_and(|b| b > 4096), "{rt:?}: {status}");
    let unknown = s
        .mcpd
        .call_tool("get_agent_status", json!({"agent_id": "nobody"}))
        .await
        .unwrap();
    assert!(error_text(&unknown).contains("nobody"));
    let active = s
        .mcpd
        .call_tool("list_active_agents", json!({}))
        .await
        .unwrap();
    assert_eq!(structured(&active)["agents"][0]["agent_id"], json!("carol"));
}

/// A Codex that fails at once: a script as `CODEX_BIN` (local), or the same script as
/// the image's `codex` (Docker, Kubernetes: the image is on the node's engine).
async fn non_zero_exit_reports_the_stderr_tail(rt: Runtime) {
    const FAKE: &str = "#!/bin/sh\necho 'fatal: the fake codex broke' >&2\nexit 3\n";
    let dir = temp_dir("e2e-fake-codex").unwrap();
    let override_env = match rt {
        Runtime::Local => {
            use std::os::unix::fs::PermissionsExt as _;
            let fake = dir.path().join("codex");
            std::fs::write(&fake, FAKE).unwrap();
            std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
            ("CODEX_BIN", fake.display().to_string())
        }
        Runtime::Docker | Runtime::Kubernetes => {
            if !codex_mcp_e2e::docker::docker_ready_or_skip() {
                return;
            }
            let image = derived_image(
                "codex-mcp-test-agent:codex-exit-3",
                "COPY codex /usr/local/bin/codex",
                &[("codex", FAKE, 0o755)],
            )
            .unwrap();
            ("CODEX_MCP_AGENT_IMAGE", image)
        }
    };
    let Some(s) = setup(rt, "suggest", &[override_env]).await else {
        return;
    };
    let result = s
        .mcpd
        .call_tool("chat", json!({"message": "hi"}))
        .await
        .unwrap();
    let text = error_text(&result);
    assert!(
        text.contains("exited with code 3") && text.contains("the fake codex broke"),
        "{text}"
    );
}

async fn progress_notifications_increase_and_read_naturally(rt: Runtime) {
    let Some(s) = setup(rt, "suggest", &[]).await else {
        return;
    };
    s.model.push(Reply::exec_command("echo checking"));
    s.model.push(Reply::json(
        json!({"reply": "done", "follow_up_suggestions": [], "referenced_files": []}),
    ));
    let (session, _) = LegacySession::open(&s.mcpd.base, None).await;
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
        "name": "chat", "arguments": {"message": "run a check"},
        "_meta": {"progressToken": "p1"}}});
    let body = session
        .post(&call)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let messages: Vec<Value> = body
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect();
    let progress: Vec<&Value> = messages
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .collect();
    let values: Vec<f64> = progress
        .iter()
        .map(|p| p["params"]["progress"].as_f64().unwrap())
        .collect();
    assert!(
        values.len() >= 3 && values.windows(2).all(|w| w[0] < w[1]),
        "progress must increase: {values:?}"
    );
    let texts: Vec<&str> = progress
        .iter()
        .filter_map(|p| p["params"]["message"].as_str())
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("running `echo checking`")),
        "{texts:?}"
    );
    assert_eq!(messages.last().unwrap()["id"], json!(7));
}

async fn tool_prompts_are_served_as_mcp_prompts(rt: Runtime) {
    let Some(s) = setup(rt, "suggest", &[]).await else {
        return;
    };
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "prompts/get", "params": {"name": "plan", "arguments": {"task": "add a cache"},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}});
    let text = reqwest::Client::new()
        .post(format!("{}/mcp", s.mcpd.base))
        .header("content-type", "application/json")
        .header("accept", "application/json")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "prompts/get")
        .header("mcp-name", "plan")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let message = codex_mcp_e2e::last_message(&text).unwrap();
    let rendered = message
        .pointer("/result/messages/0/content/text")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(rendered.contains("add a cache"), "{message}");
}
