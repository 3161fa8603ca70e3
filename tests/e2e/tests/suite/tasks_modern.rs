//! The 2026-07-28 tasks extension (`io.modelcontextprotocol/tasks`) on the Codex tools
//! of `mcpd`, through a raw JSON-RPC client over streamable HTTP: a task created on
//! `chat` with the scripted model, polled to completion; a task cancelled (no Codex
//! process left, the store records the call as cancelled); and the bad inputs of the
//! task methods.

use std::time::Duration;

use codex_mcp_e2e::faults::recent_calls;
use codex_mcp_e2e::scripted::chat_answer;
use codex_mcp_e2e::{Runtime, Setup};
use codex_mcp_testkit::Reply;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

codex_mcp_e2e::runtime_tests!(
    task_on_a_codex_tool_is_polled_to_completion,
    cancelled_task_leaves_no_codex_and_is_stored_cancelled,
);

const TASKS: &str = "io.modelcontextprotocol/tasks";

/// One 2026-07-28 request: `(HTTP status, JSON-RPC message)`. `with_tasks` declares the
/// extension in the request's client capabilities; `name` is the `Mcp-Name` header.
async fn rpc(
    base: &str,
    method: &str,
    mut params: Value,
    name: Option<&str>,
    with_tasks: bool,
) -> (u16, Value) {
    let capabilities = if with_tasks {
        json!({"extensions": {TASKS: {}}})
    } else {
        json!({})
    };
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": capabilities
    });
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut req = reqwest::Client::new()
        .post(format!("{base}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method)
        .timeout(Duration::from_secs(60));
    if let Some(name) = name {
        req = req.header("mcp-name", name);
    }
    let response = req.body(body.to_string()).send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, codex_mcp_e2e::last_message(&text).unwrap())
}

async fn tasks_call(base: &str, method: &str, params: Value) -> Value {
    let id = params["taskId"].as_str().unwrap_or_default().to_string();
    let (status, message) = rpc(base, method, params, Some(&id), true).await;
    assert_eq!(status, 200, "{method}: {message}");
    message["result"].clone()
}

/// Creates a `chat` task for `agent`; returns its id.
async fn create_chat_task(base: &str, agent: &str, message: &str) -> String {
    let params = json!({"name": "chat", "arguments": {"message": message, "agent_id": agent}});
    let (status, reply) = rpc(base, "tools/call", params, Some("chat"), true).await;
    assert_eq!(status, 200, "{reply}");
    let created = &reply["result"];
    assert_eq!(created["resultType"], json!("task"), "{created}");
    assert!(created.get("content").is_none() && created.get("task").is_none());
    assert!(
        created["ttlMs"].as_u64().is_some_and(|t| t > 0),
        "{created}"
    );
    created["taskId"].as_str().unwrap().to_string()
}

async fn poll_until_terminal(base: &str, task: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let got = tasks_call(base, "tasks/get", json!({"taskId": task})).await;
        assert_eq!(got["taskId"], json!(task));
        assert_eq!(got["resultType"], json!("complete"));
        let status = got["status"].as_str().unwrap_or_default().to_string();
        if ["completed", "failed", "cancelled"].contains(&status.as_str()) {
            return got;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "task {task} still {status} after 90 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn task_on_a_codex_tool_is_polled_to_completion(rt: Runtime) {
    let Some(s) = Setup::start(rt, "suggest", &[]).await else {
        return;
    };
    let base = s.mcpd.base.clone();
    let (_, discovered) = rpc(&base, "server/discover", json!({}), None, false).await;
    assert_eq!(
        discovered
            .pointer("/result/capabilities/extensions")
            .map(|e| e.get(TASKS).is_some()),
        Some(true),
        "{discovered}"
    );
    s.model.push(Reply::slow(
        Duration::from_secs(2),
        chat_answer("answered from a task"),
    ));
    let task = create_chat_task(&base, "tasker", "hello, slowly").await;
    // Readable at once, and working while the model thinks.
    let first = tasks_call(&base, "tasks/get", json!({"taskId": task})).await;
    assert_eq!(first["status"], json!("working"), "{first}");
    assert!(first.get("result").is_none());

    let done = poll_until_terminal(&base, &task).await;
    assert_eq!(done["status"], json!("completed"), "{done}");
    assert_eq!(
        done.pointer("/result/structuredContent/reply"),
        Some(&json!("answered from a task")),
        "{done}"
    );
    assert!(done.get("error").is_none());

    // Bad input: each a clear error, and the task is still there afterwards.
    let (_, e) = rpc(
        &base,
        "tasks/get",
        json!({"taskId": task}),
        Some(&task),
        false,
    )
    .await;
    assert_eq!(e["error"]["code"], json!(-32021), "{e}");
    let (_, e) = rpc(
        &base,
        "tasks/get",
        json!({"taskId": "task-nope"}),
        Some("task-nope"),
        true,
    )
    .await;
    assert_eq!(e["error"]["code"], json!(-32602), "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("task-nope"),
        "{e}"
    );
    let (status, e) = rpc(
        &base,
        "tasks/get",
        json!({"taskId": task}),
        Some("other"),
        true,
    )
    .await;
    assert_eq!((status, &e["error"]["code"]), (400, &json!(-32020)), "{e}");
    let (_, e) = rpc(
        &base,
        "tasks/update",
        json!({"taskId": task, "inputResponses": []}),
        Some(&task),
        true,
    )
    .await;
    assert_eq!(e["error"]["code"], json!(-32602), "{e}");
    let (_, e) = rpc(&base, "tasks/result", json!({"taskId": task}), None, true).await;
    assert_eq!(e["error"]["code"], json!(-32601), "{e}");
    let again = tasks_call(&base, "tasks/get", json!({"taskId": task})).await;
    assert_eq!(again["result"], done["result"]);

    // Without the extension the same tool answers synchronously.
    s.model.push(chat_answer("answered at once"));
    let params = json!({"name": "chat", "arguments": {"message": "now", "agent_id": "tasker"}});
    let (_, sync) = rpc(&base, "tools/call", params, Some("chat"), false).await;
    assert_eq!(
        sync.pointer("/result/structuredContent/reply"),
        Some(&json!("answered at once")),
        "{sync}"
    );
}

async fn cancelled_task_leaves_no_codex_and_is_stored_cancelled(rt: Runtime) {
    let Some(s) = Setup::start(rt, "suggest", &[]).await else {
        return;
    };
    let base = s.mcpd.base.clone();
    s.model.push(Reply::hang());
    let task = create_chat_task(&base, "waiter", "wait forever").await;
    s.model
        .wait_for_responses_requests(1, Duration::from_secs(30))
        .await
        .unwrap();
    let ack = tasks_call(&base, "tasks/cancel", json!({"taskId": task})).await;
    assert_eq!(ack["resultType"], json!("complete"), "{ack}");
    assert!(
        ack.get("taskId").is_none() && ack.get("status").is_none(),
        "{ack}"
    );
    s.assert_no_codex_left("waiter").await;
    let got = tasks_call(&base, "tasks/get", json!({"taskId": task})).await;
    assert_eq!(got["status"], json!("cancelled"), "{got}");
    assert!(got.get("result").is_none(), "{got}");
    // Cancelling again is the same empty ack.
    let again = tasks_call(&base, "tasks/cancel", json!({"taskId": task})).await;
    assert_eq!(again["resultType"], json!("complete"));
    // The store recorded the call as cancelled (the turn saw the task's token).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let calls = recent_calls(&s.mcpd, "waiter").await;
        let first = calls.first().map(|(t, st, _)| (t.clone(), st.clone()));
        if first == Some(("chat".into(), "cancelled".into())) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{calls:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
