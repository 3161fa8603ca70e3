//! Background jobs on the Codex tools of `mcpd` (real Codex, scripted model): a
//! `chat` called with `"background": true` answers at once with a job id; `get_job`
//! shows it working with Codex's progress, then done with the same structured result a
//! foreground call returns; the bad inputs of the job tools each get a clear error.
//! Stateless HTTP (2026-07-28) and a legacy session. `cancel_job` is in
//! `cancellation.rs`, with every other way of cancelling.

use std::time::Duration;

use codex_mcp_e2e::jobs::{get_job, start_job as start, structured_ok as structured, until_done};
use codex_mcp_e2e::scripted::chat_answer;
use codex_mcp_e2e::tokens::{ALICE, BOB, alice_and_bob_env};
use codex_mcp_e2e::{Runtime, Setup, error_text};
use codex_mcp_testkit::Reply;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

codex_mcp_e2e::runtime_tests!(a_background_chat_is_fetched_with_the_foreground_result,);

/// A result's `_meta` without its ids.
fn without_ids(mut meta: Value) -> Value {
    if let Some(meta) = meta.as_object_mut() {
        meta.remove("io.codex-mcp/callId");
        meta.remove("io.codex-mcp/correlationId");
    }
    meta
}

async fn a_background_chat_is_fetched_with_the_foreground_result(rt: Runtime) {
    let Some(s) = Setup::start(rt, "suggest", &[]).await else {
        return;
    };
    let args = json!({"message": "hello, slowly", "agent_id": "jobber"});
    // The foreground call first: what the job must return for the same script.
    s.model.push(chat_answer("answered in the end"));
    let foreground = s.mcpd.call_tool("chat", args.clone()).await.unwrap();
    let expected = structured(&foreground);

    s.model.push(Reply::slow(
        Duration::from_secs(4),
        chat_answer("answered in the end"),
    ));
    let id = start(&s.mcpd, "chat", args.clone()).await;
    // Working, with Codex's progress, while the model thinks.
    let mut working = get_job(&s.mcpd, &id, 0).await;
    while working["progress"].is_null() && working["status"] == json!("working") {
        tokio::time::sleep(Duration::from_millis(50)).await;
        working = get_job(&s.mcpd, &id, 0).await;
    }
    assert_eq!(
        (
            &working["job_id"],
            &working["tool"],
            &working["status"],
            &working["result"],
            &working["error"]
        ),
        (
            &json!(id),
            &json!("chat"),
            &json!("working"),
            &Value::Null,
            &Value::Null
        ),
        "{working}"
    );
    assert!(
        working["progress"].as_str().is_some_and(|p| !p.is_empty()),
        "{working}"
    );
    assert!(
        working["elapsed_seconds"]
            .as_f64()
            .is_some_and(|e| e >= 0.0)
    );

    let done = until_done(&s.mcpd, &id).await;
    assert_eq!(done["status"], json!("completed"), "{done}");
    assert_eq!(
        done["result"], expected,
        "the job's result is the foreground one"
    );
    assert_eq!(done["error"], Value::Null);
    // The whole get_job answer carries the result's call id, as a foreground call does.
    let whole = s
        .mcpd
        .call_tool("get_job", json!({"job_id": id}))
        .await
        .unwrap();
    assert_eq!(
        without_ids(whole["_meta"].clone()),
        without_ids(foreground["_meta"].clone())
    );
    assert!(whole["_meta"]["io.codex-mcp/callId"].is_string(), "{whole}");

    // The caller's jobs show in its session tools.
    let mine = s
        .mcpd
        .call_tool("get_my_session_info", json!({"agent_id": "jobber"}))
        .await
        .unwrap();
    let jobs = structured(&mine)["jobs"].clone();
    assert_eq!(
        jobs,
        json!([{"job_id": id, "tool": "chat", "status": "completed",
                "created_at": done["created_at"]}])
    );
    let all = s.mcpd.call_tool("list_sessions", json!({})).await.unwrap();
    assert_eq!(structured(&all)["jobs"], jobs);

    // A legacy (2025-11-25) session: the same job tools, the same answers.
    s.model.push(Reply::slow(
        Duration::from_secs(2),
        chat_answer("answered in the end"),
    ));
    let session = s.mcpd.initialize(None).await.unwrap();
    let mut legacy_args = args.clone();
    legacy_args["background"] = json!(true);
    let started = s
        .mcpd
        .session_call(&session, None, "chat", legacy_args)
        .await
        .unwrap();
    let legacy_id = structured(&started)["job_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(structured(&started)["status"], json!("working"));
    let got = s
        .mcpd
        .session_call(
            &session,
            None,
            "get_job",
            json!({"job_id": legacy_id, "wait_seconds": 50}),
        )
        .await
        .unwrap();
    assert_eq!(structured(&got)["status"], json!("completed"), "{got}");
    assert_eq!(structured(&got)["result"], expected);

    // REST (`POST /tools/{name}`) and the 2024-11-05 SSE transport: the same jobs.
    s.model.push(chat_answer("answered in the end"));
    let mut rest_args = args.clone();
    rest_args["background"] = json!(true);
    let rest = |tool: &str, body: Value| {
        let url = format!("{}/tools/{tool}", s.mcpd.base);
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap();
            response.json::<Value>().await.unwrap()
        }
    };
    let started = rest("chat", rest_args).await;
    let rest_id = structured(&started)["job_id"].clone();
    let got = rest("get_job", json!({"job_id": rest_id, "wait_seconds": 50})).await;
    assert_eq!(structured(&got)["status"], json!("completed"), "{got}");
    assert_eq!(structured(&got)["result"], expected);
    let got = s
        .mcpd
        .sse_call(None, "get_job", json!({"job_id": rest_id}))
        .await
        .unwrap();
    assert_eq!(structured(&got)["result"], expected, "{got}");
}

/// Bad inputs of the job tools, each a clear error: an unknown id, another token's job
/// (the same answer as an unknown one), `wait_seconds` out of range, cancelling a job
/// that ended. The job is intact afterwards.
#[tokio::test]
async fn bad_job_inputs_get_clear_errors() {
    let dir = codex_mcp_testkit::temp_dir("e2e-jobs").unwrap();
    let Some(s) = Setup::start(Runtime::Local, "suggest", &alice_and_bob_env(dir.path())).await
    else {
        return;
    };
    let call = |token: &'static str, tool: &'static str, args: Value| {
        let mcpd = &s.mcpd;
        async move { mcpd.call_tool_as(token, tool, args).await.unwrap() }
    };
    s.model.push(chat_answer("done quickly"));
    let started = call(ALICE, "chat", json!({"message": "hi", "background": true})).await;
    let id = structured(&started)["job_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let done = call(ALICE, "get_job", json!({"job_id": id, "wait_seconds": 50})).await;
    assert_eq!(structured(&done)["status"], json!("completed"), "{done}");

    let unknown = |job: &str| {
        format!(
            "unknown job id {job:?}: no job of yours has this id (jobs are kept for an hour after they start)"
        )
    };
    for (token, tool, args, expected) in [
        (
            ALICE,
            "get_job",
            json!({"job_id": "task-nope"}),
            unknown("task-nope"),
        ),
        (
            ALICE,
            "cancel_job",
            json!({"job_id": "task-nope"}),
            unknown("task-nope"),
        ),
        (BOB, "get_job", json!({"job_id": id}), unknown(&id)),
        (BOB, "cancel_job", json!({"job_id": id}), unknown(&id)),
        (
            ALICE,
            "get_job",
            json!({"job_id": id, "wait_seconds": 51}),
            "wait_seconds must be an integer from 0 to 50, got 51".to_string(),
        ),
        (
            ALICE,
            "get_job",
            json!({"job_id": id, "wait_seconds": -1}),
            "wait_seconds must be an integer from 0 to 50, got -1".to_string(),
        ),
        (
            ALICE,
            "cancel_job",
            json!({"job_id": id}),
            format!("job {id} already ended (completed); there is nothing to cancel"),
        ),
        (
            ALICE,
            "chat",
            json!({"message": "hi", "background": "yes"}),
            "background must be true or false, got a string".to_string(),
        ),
    ] {
        let answer = call(token, tool, args.clone()).await;
        assert_eq!(error_text(&answer), expected, "{tool} {args}");
    }
    // A job whose call fails is `failed` with the message a foreground call gets.
    s.model.push(Reply::text("no JSON here"));
    let foreground = call(ALICE, "chat", json!({"message": "fail"})).await;
    let expected = error_text(&foreground);
    s.model.push(Reply::text("no JSON here"));
    let started = call(
        ALICE,
        "chat",
        json!({"message": "fail", "background": true}),
    )
    .await;
    let failing = structured(&started)["job_id"].clone();
    let failed = call(
        ALICE,
        "get_job",
        json!({"job_id": failing, "wait_seconds": 50}),
    )
    .await;
    let failed = structured(&failed);
    assert_eq!(
        (&failed["status"], &failed["result"], &failed["error"]),
        (&json!("failed"), &Value::Null, &json!(expected)),
        "{failed}"
    );

    // Nothing was lost: the job still has its result, and bob sees no job of alice's.
    let again = call(ALICE, "get_job", json!({"job_id": id})).await;
    assert_eq!(structured(&again)["result"], structured(&done)["result"]);
    assert_eq!(structured(&again)["result"]["reply"], json!("done quickly"));
    let bobs = call(BOB, "list_sessions", json!({})).await;
    assert_eq!(structured(&bobs)["jobs"], json!([]));
}

/// A job is a task in the store: after mcpd is SIGKILLed and restarted on the same data,
/// `get_job` still answers the finished job with its whole result, the job that was
/// running is `failed` with the restart message, and cancelling it says it ended.
#[tokio::test]
async fn jobs_outlive_a_crash_of_mcpd() {
    let Some(mut s) = Setup::start(Runtime::Local, "suggest", &[]).await else {
        return;
    };
    s.model.push(chat_answer("finished before the crash"));
    let done = start(&s.mcpd, "chat", json!({"message": "answer now"})).await;
    let before = until_done(&s.mcpd, &done).await;
    assert_eq!(before["status"], json!("completed"), "{before}");

    s.model.push(Reply::hang());
    let working = start(&s.mcpd, "chat", json!({"message": "never answered"})).await;
    s.model
        .wait_for_responses_requests(2, Duration::from_secs(30))
        .await
        .unwrap();
    s.restart_after_crash().await.unwrap();

    let after = get_job(&s.mcpd, &done, 0).await;
    assert_eq!(after["status"], json!("completed"), "{after}");
    assert_eq!(
        after["result"], before["result"],
        "the whole result survives"
    );
    assert_eq!(after["tool"], json!("chat"), "{after}");

    let failed = get_job(&s.mcpd, &working, 5).await;
    assert_eq!(failed["status"], json!("failed"), "{failed}");
    assert!(
        failed["error"]
            .as_str()
            .is_some_and(|e| e.contains("restarted")),
        "{failed}"
    );
    let cancel = s
        .mcpd
        .call_tool("cancel_job", json!({"job_id": working}))
        .await
        .unwrap();
    assert_eq!(cancel["isError"], json!(true), "{cancel}");
    assert!(
        error_text(&cancel).contains("already ended (failed)"),
        "{cancel}"
    );
}
