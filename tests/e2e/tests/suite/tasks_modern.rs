//! The 2026-07-28 tasks extension (`io.modelcontextprotocol/tasks`) on the Codex tools
//! of `mcpd`, through a raw JSON-RPC client over streamable HTTP: a task created on
//! `chat` with the scripted model, polled to completion, and the bad inputs of the
//! task methods. Cancelling a running task is in `cancellation.rs`.

use std::time::Duration;

use codex_mcp_e2e::scripted::chat_answer;
use codex_mcp_e2e::task_clients::modern::{
    TASKS, create_chat_task, poll_until_terminal, rpc, tasks_call,
};
use codex_mcp_e2e::{Runtime, Setup};
use codex_mcp_testkit::Reply;
use pretty_assertions::assert_eq;
use serde_json::json;

codex_mcp_e2e::runtime_tests!(task_on_a_codex_tool_is_polled_to_completion,);

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
