//! The 2025-11-25 task wire on the Codex tools of `mcpd` (real Codex, scripted model,
//! local runtime), through raw JSON-RPC in legacy `/mcp` sessions: a slow `chat` run as
//! a task, polled to completion, its result fetched with `tasks/result`, listed, seen
//! from a second session of the same token and hidden from another token; and tasks
//! surviving a SIGKILL of `mcpd` (the finished one whole, the working one failed with
//! the restart message). Bad input: unknown id, another token's id, TTL out of range,
//! cancelling an ended task. Cancelling a running task is in `cancellation.rs`, with
//! every other way of cancelling.

use std::time::Duration;

use codex_mcp_e2e::SseEvents;
use codex_mcp_e2e::scripted::chat_answer;
use codex_mcp_e2e::stdio_client::StdioMcpd;
use codex_mcp_e2e::task_clients::LegacySession as Session;
use codex_mcp_e2e::{Runtime, Setup};
use codex_mcp_testkit::Reply;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const ALICE: &str = "alice-token-0123456789";
const BOB: &str = "bob-token-abcdefghijklmn";
const TOKENS: &str = r#"
[[token]]
name = "alice"
token = "alice-token-0123456789"
agents = ["*"]

[[token]]
name = "bob"
token = "bob-token-abcdefghijklmn"
agents = ["*"]
"#;

/// Reads the session's GET stream until a `notifications/tasks/status` with `status`
/// arrives for `task`; returns its params.
async fn status_notification(session: &Session, task: &str, status: &str) -> Value {
    let mut response = session.listen().await;
    let mut text = String::new();
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(90), response.chunk())
            .await
            .expect("no task status notification within 90 s")
            .unwrap()
            .expect("the stream ended before the notification");
        text.push_str(&String::from_utf8_lossy(&chunk));
        for data in text.lines().filter_map(|l| l.strip_prefix("data:")) {
            let Ok(message) = serde_json::from_str::<Value>(data.trim()) else {
                continue;
            };
            if message["method"] == json!("notifications/tasks/status")
                && message["params"]["taskId"] == json!(task)
                && message["params"]["status"] == json!(status)
            {
                return message["params"].clone();
            }
        }
    }
}

fn tokens_env(s: &std::path::Path) -> Vec<(&'static str, String)> {
    let file = s.join("tokens.toml");
    std::fs::write(&file, TOKENS).unwrap();
    vec![
        ("MCPD_TOKENS_FILE", file.display().to_string()),
        ("MCPD_ALLOW_LOCAL_RUNTIME_WITH_TOKENS", "1".to_string()),
        ("CODEX_MCP_TASK_TTL_SECONDS", "300".to_string()),
        ("CODEX_MCP_TASK_MAX_TTL_SECONDS", "600".to_string()),
    ]
}

#[tokio::test]
async fn a_slow_task_is_polled_listed_and_its_result_fetched() {
    let dir = codex_mcp_testkit::temp_dir("e2e-task-tokens").unwrap();
    let Some(s) = Setup::start(Runtime::Local, "suggest", &tokens_env(dir.path())).await else {
        return;
    };
    let base = s.mcpd.base.clone();
    let (alice, init) = Session::open(&base, Some(ALICE)).await;
    assert_eq!(
        init["capabilities"]["tasks"],
        json!({"list": {}, "cancel": {}, "requests": {"tools": {"call": {}}}}),
        "{init}"
    );
    let tools = alice.ok("tools/list", json!({})).await;
    let support = |name: &str| {
        tools["tools"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == json!(name))
            .map(|t| t.pointer("/execution/taskSupport").cloned())
    };
    for tool in [
        "plan",
        "implement",
        "review",
        "fix",
        "chat",
        "audit",
        "debug",
    ] {
        assert_eq!(support(tool), Some(Some(json!("optional"))), "{tool}");
    }
    assert_eq!(support("health_check"), Some(None));

    s.model.push(Reply::slow(
        Duration::from_secs(6),
        chat_answer("answered slowly, from a task"),
    ));
    let created = alice
        .chat_task("tasker", "take your time", Some(60_000))
        .await;
    let task = created["taskId"].as_str().unwrap().to_string();
    assert_eq!(created["ttl"], json!(60_000), "{created}");
    assert!(created["pollInterval"].as_u64().is_some(), "{created}");
    // The creating session's stream hears the task end.
    let notified = {
        let (creator, task) = (alice.clone(), task.clone());
        tokio::spawn(async move { status_notification(&creator, &task, "completed").await })
    };
    let first = alice.ok("tasks/get", json!({"taskId": task})).await;
    assert_eq!(first["status"], json!("working"), "{first}");

    let done = alice.poll_until_ended(&task).await;
    assert_eq!(done["status"], json!("completed"), "{done}");
    let result = alice.ok("tasks/result", json!({"taskId": task})).await;
    assert_eq!(
        result.pointer("/structuredContent/reply"),
        Some(&json!("answered slowly, from a task")),
        "{result}"
    );
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/related-task"],
        json!({"taskId": task})
    );
    assert_eq!(result["isError"], Value::Null, "{result}");
    let note = tokio::time::timeout(Duration::from_secs(30), notified)
        .await
        .expect("the status notification")
        .unwrap();
    assert_eq!(note["taskId"], json!(task));

    // Listed for its token, from any of its sessions; invisible to another token.
    let listed = alice.ok("tasks/list", json!({})).await;
    let ids: Vec<&Value> = listed["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["taskId"])
        .collect();
    assert_eq!(ids, vec![&json!(task)], "{listed}");
    assert_eq!(listed["tasks"][0]["status"], json!("completed"));
    let (again, _) = Session::open(&base, Some(ALICE)).await;
    let seen = again.ok("tasks/get", json!({"taskId": task})).await;
    assert_eq!(seen["status"], json!("completed"));
    assert_eq!(
        again.ok("tasks/result", json!({"taskId": task})).await,
        result
    );
    let (bob, _) = Session::open(&base, Some(BOB)).await;
    let hidden = bob
        .fails("tasks/get", json!({"taskId": task}), -32602)
        .await;
    let unknown = bob
        .fails("tasks/get", json!({"taskId": "task-nope"}), -32602)
        .await;
    assert_eq!(
        hidden.replace(&task, "ID"),
        unknown.replace("task-nope", "ID")
    );
    for method in ["tasks/result", "tasks/cancel"] {
        let m = bob.fails(method, json!({"taskId": task}), -32602).await;
        assert!(m.contains("unknown task id"), "{method}: {m}");
    }
    assert_eq!(bob.ok("tasks/list", json!({})).await, json!({"tasks": []}));

    // Bad input: each a clear error, nothing lost.
    for (ttl, why) in [
        (0, "0 ms is out of range"),
        (600_001, "600001 ms is out of range"),
    ] {
        let m = alice
            .fails(
                "tools/call",
                json!({"name": "chat", "task": {"ttl": ttl},
                    "arguments": {"message": "x", "agent_id": "tasker"}}),
                -32602,
            )
            .await;
        assert!(m.contains(why) && m.contains("1000 to 600000 ms"), "{m}");
    }
    let m = alice
        .fails(
            "tools/call",
            json!({"name": "chat", "task": {"ttl": "soon"}, "arguments": {"message": "x"}}),
            -32602,
        )
        .await;
    assert!(m.contains("tools/call"), "{m}");
    let m = alice
        .fails("tasks/cancel", json!({"taskId": task}), -32602)
        .await;
    assert!(m.contains("already ended (completed)"), "{m}");
    let m = alice
        .fails("tasks/list", json!({"cursor": "bogus"}), -32602)
        .await;
    assert!(m.contains("cursor"), "{m}");
    let m = alice
        .fails(
            "tools/call",
            json!({"name": "health_check", "task": {}, "arguments": {}}),
            -32601,
        )
        .await;
    assert!(m.contains("cannot run as a task"), "{m}");
    assert_eq!(
        alice.ok("tasks/get", json!({"taskId": task})).await["status"],
        json!("completed")
    );
}

#[tokio::test]
async fn tasks_outlive_a_crash_of_mcpd() {
    let Some(mut s) = Setup::start(Runtime::Local, "suggest", &[]).await else {
        return;
    };
    let (session, _) = Session::open(&s.mcpd.base, None).await;
    s.model.push(chat_answer("finished before the crash"));
    let done = session.chat_task("keeper", "answer now", None).await;
    let done = done["taskId"].as_str().unwrap().to_string();
    assert_eq!(
        session.poll_until_ended(&done).await["status"],
        json!("completed")
    );
    let before = session.ok("tasks/result", json!({"taskId": done})).await;

    s.model.push(Reply::hang());
    let working = session.chat_task("crasher", "never answered", None).await;
    let working = working["taskId"].as_str().unwrap().to_string();
    s.model
        .wait_for_responses_requests(2, Duration::from_secs(30))
        .await
        .unwrap();
    s.restart_after_crash().await.unwrap();

    let (after, _) = Session::open(&s.mcpd.base, None).await;
    let got = after.ok("tasks/get", json!({"taskId": done})).await;
    assert_eq!(got["status"], json!("completed"), "{got}");
    assert_eq!(
        after.ok("tasks/result", json!({"taskId": done})).await,
        before
    );
    // The restarted server decides about the tasks it was left (re-attach, or fail them)
    // after it starts listening: until then the task reads as it was stored.
    let failed = after.poll_until_ended(&working).await;
    assert_eq!(failed["status"], json!("failed"), "{failed}");
    let message = failed["statusMessage"].as_str().unwrap();
    assert!(message.contains("server restarted"), "{failed}");
    let e = after.rpc("tasks/result", json!({"taskId": working})).await;
    assert_eq!(e["error"]["code"], json!(-32603), "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("restarted"),
        "{e}"
    );
    let listed = after.ok("tasks/list", json!({})).await;
    let statuses: Vec<(Value, Value)> = listed["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["taskId"].clone(), t["status"].clone()))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (json!(working), json!("failed")),
            (json!(done), json!("completed"))
        ]
    );
    let m = after
        .fails("tasks/cancel", json!({"taskId": working}), -32602)
        .await;
    assert!(m.contains("already ended (failed)"), "{m}");
}

/// The status notifications and a task's progress reach clients whose transport has no
/// GET stream: `mcpd serve --stdio` writes them on stdout, the 2024-era `/sse` transport
/// on its event stream, each after the `CreateTaskResult` and ending with `completed`.
#[tokio::test]
async fn stdio_and_sse_clients_hear_their_task_end() {
    let Some(s) = Setup::start(Runtime::Local, "suggest", &[]).await else {
        return;
    };
    let call = |id: u64, agent: &str| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": "chat", "task": {"ttl": 60_000}, "_meta": {"progressToken": "p"},
            "arguments": {"message": format!("slow one for {agent}"), "agent_id": agent}}})
    };
    let reply = |agent: &str| {
        Reply::streaming(
            Duration::from_secs(3),
            Duration::from_secs(1),
            chat_answer(&format!("done for {agent}")),
        )
    };

    // stdio: the task's answer, then its progress and status on stdout.
    s.model.push(reply("piped"));
    let mut stdio = StdioMcpd::start_version(&s.env, s.home.join("stdio.log"), "2025-11-25").await;
    stdio.send(&call(7, "piped")).await;
    let created = stdio.next_message().await;
    assert_eq!(
        created["result"]["task"]["status"],
        json!("working"),
        "{created}"
    );
    let task = created["result"]["task"]["taskId"]
        .as_str()
        .unwrap()
        .to_string();
    let mut heard = Vec::new();
    let ended = loop {
        let message = stdio.next_message().await;
        let method = message["method"].as_str().unwrap_or_default().to_string();
        if method == "notifications/tasks/status"
            && message["params"]["status"] == json!("completed")
        {
            break message;
        }
        heard.push(method);
    };
    assert_eq!(ended["params"]["taskId"], json!(task), "{ended}");
    assert!(
        heard.iter().any(|m| m == "notifications/progress"),
        "the turn's progress on stdout: {heard:?}\n{}",
        stdio.log()
    );
    let result = stdio.request("tasks/result", json!({"taskId": task})).await;
    assert_eq!(
        result.pointer("/result/structuredContent/reply"),
        Some(&json!("done for piped")),
        "{result}"
    );

    // /sse: the same on the event stream.
    s.model.push(reply("streamed"));
    let http = reqwest::Client::new();
    let mut stream = http
        .get(format!("{}/sse", s.mcpd.base))
        .header("accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    let mut events = SseEvents::default();
    let endpoint = loop {
        if let Some((kind, data)) = events.next(&mut stream).await.unwrap()
            && kind == "endpoint"
        {
            break data;
        }
    };
    let post = |body: Value| {
        http.post(format!("{}{endpoint}", s.mcpd.base))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "e2e-sse", "version": "1"}}});
    for body in [
        init,
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        call(2, "streamed"),
    ] {
        post(body).await.unwrap().error_for_status().unwrap();
    }
    let mut task = None;
    let mut heard = Vec::new();
    let ended = loop {
        let Some((_, data)) = events.next(&mut stream).await.unwrap() else {
            continue;
        };
        let message: Value = serde_json::from_str(&data).unwrap();
        if message["id"] == json!(2) {
            task = message.pointer("/result/task/taskId").cloned();
            assert!(task.is_some(), "{message}");
            continue;
        }
        let method = message["method"].as_str().unwrap_or_default().to_string();
        if method == "notifications/tasks/status"
            && message["params"]["status"] == json!("completed")
        {
            break message;
        }
        heard.push(method);
    };
    assert_eq!(Some(&ended["params"]["taskId"]), task.as_ref(), "{ended}");
    assert!(
        heard.iter().any(|m| m == "notifications/progress"),
        "the turn's progress on the /sse stream: {heard:?}"
    );
}
