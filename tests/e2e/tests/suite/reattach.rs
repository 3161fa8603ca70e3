//! Tasks and jobs that outlive `mcpd` (issue 12): on Docker a Codex run survives a
//! SIGKILLed mcpd in its container, and the restarted mcpd re-attaches to it and finishes
//! the task as the first would have (the call `succeeded`, the tool's normal result); a
//! run that is gone by then (killed while mcpd was down), or a runtime that cannot keep
//! runs (local), fails the task with the restart message and interrupts its call. A
//! re-attached task is cancelled as any task is: its Codex stops, it ends `cancelled`.
//! Real Codex, real Docker, scripted model.

use std::time::Duration;

use codex_mcp_e2e::docker::docker_ok;
use codex_mcp_e2e::faults::recent_calls;
use codex_mcp_e2e::jobs::{get_job, start_job, until_done};
use codex_mcp_e2e::scripted::chat_answer;
use codex_mcp_e2e::task_clients::modern::{create_chat_task, poll_until_terminal};
use codex_mcp_e2e::{Mcpd, Runtime, Setup};
use codex_mcp_testkit::Reply;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// The error and status message of a task whose run did not survive the restart.
const RESTARTED: &str = "the server restarted while this task was running; run it again";
/// The error of its call.
const INTERRUPTED: &str = "mcpd stopped while this call was running";

/// Answers the model request whose prompt holds `tag` with `reply`.
fn answer_for(s: &Setup, tag: &'static str, reply: Reply) {
    s.model
        .push_matching(move |r| r.user_texts().join("\n").contains(tag), reply);
}

/// The newest call of `agent`: (tool, status, error).
async fn last_call(mcpd: &Mcpd, agent: &str) -> (String, String, Option<String>) {
    let calls = recent_calls(mcpd, agent).await;
    calls.first().cloned().unwrap_or_default()
}

/// Job `job` of agent `dev` ends `failed` with the restart message, its call
/// `interrupted`.
async fn assert_failed_by_the_restart(mcpd: &Mcpd, job: &str) {
    let failed = until_done(mcpd, job).await;
    assert_eq!(
        (&failed["status"], &failed["error"], &failed["progress"]),
        (&json!("failed"), &json!(RESTARTED), &json!(RESTARTED)),
        "{failed}"
    );
    assert_eq!(
        last_call(mcpd, "dev").await,
        (
            "chat".into(),
            "interrupted".into(),
            Some(INTERRUPTED.into())
        )
    );
}

/// Once Codex has sent the model `requests` requests (so it runs in the container),
/// SIGKILLs mcpd and starts it again on the same data.
async fn crash_once_asked(s: &mut Setup, requests: usize) {
    s.model
        .wait_for_responses_requests(requests, Duration::from_secs(120))
        .await
        .unwrap();
    s.restart_after_crash().await.unwrap();
}

/// Starts a background `chat` for agent `dev` whose model answer is `reply`, and waits
/// until Codex has asked the model (it runs in the container).
async fn job_running_in_codex(s: &Setup, reply: Reply) -> String {
    answer_for(s, "job please", reply);
    let job = start_job(
        &s.mcpd,
        "chat",
        json!({"message": "job please", "agent_id": "dev"}),
    )
    .await;
    s.model
        .wait_for_responses_requests(1, Duration::from_secs(120))
        .await
        .unwrap();
    job
}

#[tokio::test]
async fn reattach_a_job_and_a_task_whose_codex_survived_a_sigkill_and_both_complete() {
    let Some(mut s) = Setup::start(Runtime::Docker, "suggest", &[]).await else {
        return;
    };
    let slow = |answer| Reply::slow(Duration::from_secs(8), chat_answer(answer));
    answer_for(&s, "job please", slow("the job's answer"));
    answer_for(&s, "task please", slow("the task's answer"));
    let job = start_job(
        &s.mcpd,
        "chat",
        json!({"message": "job please", "agent_id": "dev"}),
    )
    .await;
    let task = create_chat_task(&s.mcpd.base, "ops", "task please").await;
    crash_once_asked(&mut s, 2).await;

    let done = until_done(&s.mcpd, &job).await;
    assert_eq!(
        (&done["status"], &done["tool"], &done["error"]),
        (&json!("completed"), &json!("chat"), &Value::Null),
        "{done}"
    );
    assert_eq!(
        done["result"],
        json!({"reply": "the job's answer", "follow_up_suggestions": [], "referenced_files": []}),
        "the tool's whole structured result"
    );
    let got = poll_until_terminal(&s.mcpd.base, &task).await;
    assert_eq!(got["status"], json!("completed"), "{got}");
    assert_eq!(
        got.pointer("/result/structuredContent/reply"),
        Some(&json!("the task's answer")),
        "{got}"
    );
    assert!(
        got.pointer("/result/_meta/io.codex-mcp~1callId")
            .is_some_and(Value::is_string),
        "{got}"
    );
    for agent in ["dev", "ops"] {
        assert_eq!(
            last_call(&s.mcpd, agent).await,
            ("chat".into(), "succeeded".into(), None),
            "{agent}"
        );
    }
    // The model was asked once per task: nothing ran twice.
    assert_eq!(s.model.responses_requests().len(), 2);
    s.assert_no_codex_left("dev").await;
}

/// A writing tool in suggest mode re-attached: the diff comes from the scratch copy the
/// first mcpd made (which is then removed), the live workspace is untouched.
#[tokio::test]
async fn reattach_an_implement_job_and_its_diff_comes_from_the_scratch_copy() {
    let Some(mut s) = Setup::start(Runtime::Docker, "suggest", &[]).await else {
        return;
    };
    s.write_workspace("dev", "notes.txt", "old line\n").unwrap();
    s.model
        .push(Reply::exec_command("printf 'new line\\n' > notes.txt"));
    s.model.push(Reply::slow(
        Duration::from_secs(8),
        Reply::json(
            json!({"diff": "", "explanation": "rewrote", "files_changed": [], "integration_notes": []}),
        ),
    ));
    let job = start_job(
        &s.mcpd,
        "implement",
        json!({"task": "rewrite notes", "target_files": ["notes.txt"], "agent_id": "dev"}),
    )
    .await;
    crash_once_asked(&mut s, 2).await;
    let done = until_done(&s.mcpd, &job).await;
    assert_eq!(done["status"], json!("completed"), "{done}");
    let diff = done["result"]["diff"].as_str().unwrap_or_default();
    assert!(
        diff.contains("--- a/notes.txt")
            && diff.contains("-old line")
            && diff.contains("+new line"),
        "{done}"
    );
    assert_eq!(s.read_workspace("dev", "notes.txt").unwrap(), "old line\n");
    assert_eq!(s.scratch_copies("dev"), Vec::<String>::new());
    assert_eq!(
        last_call(&s.mcpd, "dev").await,
        ("implement".into(), "succeeded".into(), None)
    );
}

/// SIGTERM (a service manager's stop) exits without waiting for detached work: a
/// job's Codex goes on in its container as after a SIGKILL, and the next mcpd
/// re-attaches to it.
#[tokio::test]
async fn reattach_a_job_after_a_sigterm_and_it_completes() {
    let Some(mut s) = Setup::start(Runtime::Docker, "suggest", &[]).await else {
        return;
    };
    let job = job_running_in_codex(
        &s,
        Reply::slow(Duration::from_secs(8), chat_answer("after the stop")),
    )
    .await;
    let status = s.mcpd.terminate().await.unwrap();
    assert!(status.success(), "{status}");
    s.mcpd = Mcpd::start(&s.env, &s.home).await.unwrap();
    let done = until_done(&s.mcpd, &job).await;
    assert_eq!(
        (&done["status"], &done["result"]["reply"]),
        (&json!("completed"), &json!("after the stop")),
        "{done}"
    );
    assert_eq!(
        last_call(&s.mcpd, "dev").await,
        ("chat".into(), "succeeded".into(), None)
    );
}

#[tokio::test]
async fn reattach_finds_the_run_killed_while_mcpd_was_down_and_fails_the_job() {
    let Some(mut s) = Setup::start(Runtime::Docker, "suggest", &[]).await else {
        return;
    };
    let job = job_running_in_codex(
        &s,
        Reply::slow(Duration::from_secs(30), chat_answer("never read")),
    )
    .await;
    s.mcpd.kill().await.unwrap();
    // The run's whole process group (wrapper, tees, Codex) dies with mcpd down.
    let container = s.scope().container("dev");
    // (Ended runs leave their pid files empty.)
    let script = "for f in /tmp/.codex-mcp-exec-call-*.pid; do [ -s \"$f\" ] || continue; \
                  read -r p < \"$f\"; kill -KILL -\"$p\"; done; true";
    tokio::task::spawn_blocking(move || docker_ok(&["exec", &container, "sh", "-c", script]))
        .await
        .unwrap()
        .unwrap();
    s.mcpd = Mcpd::start(&s.env, &s.home).await.unwrap();

    assert_failed_by_the_restart(&s.mcpd, &job).await;
}

#[tokio::test]
async fn reattach_then_cancel_stops_codex_and_records_cancelled() {
    let Some(mut s) = Setup::start(Runtime::Docker, "suggest", &[]).await else {
        return;
    };
    let job = job_running_in_codex(&s, Reply::hang()).await;
    s.restart_after_crash().await.unwrap();
    assert!(
        !s.codex_processes("dev").is_empty(),
        "the run survived the restart"
    );
    let cancelled = s
        .mcpd
        .call_tool("cancel_job", json!({"job_id": job}))
        .await
        .unwrap();
    assert_eq!(cancelled.get("isError"), None, "{cancelled}");
    assert_eq!(
        get_job(&s.mcpd, &job, 0).await["status"],
        json!("cancelled")
    );
    s.assert_no_codex_left("dev").await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (tool, status, _) = last_call(&s.mcpd, "dev").await;
        if (tool.as_str(), status.as_str()) == ("chat", "cancelled") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the call is recorded {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn reattach_is_not_possible_on_the_local_runtime_the_job_fails_with_the_restart_message() {
    let Some(mut s) = Setup::start(Runtime::Local, "suggest", &[]).await else {
        return;
    };
    let job = job_running_in_codex(&s, Reply::hang()).await;
    s.restart_after_crash().await.unwrap();
    assert_failed_by_the_restart(&s.mcpd, &job).await;
    s.assert_no_codex_left("dev").await;
}
