//! Faults through `mcpd` on a real Docker engine: an agent's container killed during a
//! call, and `mcpd` itself killed with SIGKILL (mid-turn, and restarted).

use std::time::Duration;

use codex_mcp_e2e::docker::docker_ok;
use codex_mcp_e2e::scripted::chat_answer;
use codex_mcp_e2e::{Runtime, Setup};
use codex_mcp_testkit::Reply;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

#[tokio::test]
async fn a_container_killed_during_a_call_fails_that_call_and_the_next_recreates_it() {
    let Some(s) = Setup::start(Runtime::Docker, "auto", &[]).await else {
        return;
    };
    s.write_keep_file("dev").await;
    let before = s.environment_id("dev");

    let text = s
        .chat_interrupted_by("dev", || {
            docker_ok(&["kill", &s.scope().container("dev")]).unwrap();
        })
        .await;
    assert!(
        text.contains("container") && text.contains("stopped during the call"),
        "a clear error: {text}"
    );

    s.assert_keep_file_seen_by_codex("dev").await;
    assert_eq!(
        s.environment_id("dev"),
        before,
        "the stopped container was started again"
    );

    // A container removed outright is recreated, with the same volumes.
    docker_ok(&["rm", "-f", &s.scope().container("dev")]).unwrap();
    s.assert_keep_file_seen_by_codex("dev").await;
    assert_ne!(s.environment_id("dev"), before, "a new container");
    assert_eq!(s.scope().containers().len(), 1);
}

#[tokio::test]
async fn mcpd_killed_and_restarted_adopts_its_containers_and_the_conversation_goes_on() {
    killed_and_restarted_mcpd_adopts_the_agents_and_the_conversation_goes_on(Runtime::Docker).await;
}

// The same with pods of the test cluster (docs/kubernetes.md).
codex_mcp_e2e::kubernetes_tests!(
    killed_and_restarted_mcpd_adopts_the_agents_and_the_conversation_goes_on
);

async fn killed_and_restarted_mcpd_adopts_the_agents_and_the_conversation_goes_on(rt: Runtime) {
    let Some(mut s) = Setup::start(rt, "auto", &[]).await else {
        return;
    };
    s.write_keep_file("dev").await;
    s.model.push(chat_answer("other"));
    assert_eq!(s.chat("ops", "hello").await.get("isError"), None);
    let before = (s.environment_id("dev"), s.environment_id("ops"));
    assert!(before.0.is_some() && before.1.is_some(), "{before:?}");

    s.restart_after_crash().await.unwrap();
    let asked_before = s.model.responses_requests().len();
    s.assert_keep_file_seen_by_codex("dev").await;
    let resumed = &s.model.responses_requests()[asked_before];
    assert!(
        resumed.user_texts().join("\n").contains("write keep.txt"),
        "the agent's conversation continues after the restart: {:?}",
        resumed.user_texts()
    );
    assert_eq!(
        (s.environment_id("dev"), s.environment_id("ops")),
        before,
        "the same containers (pods) serve the agents after the restart"
    );
    assert_eq!(s.environment_count(), 2, "no duplicates");
}

/// What re-attaching after a restart builds on: when mcpd is SIGKILLed mid-turn, the
/// agent's Codex is not killed by the lost exec stream. It finishes its turn in the
/// container and leaves its whole transcript (final answer included) and its exit status
/// next to its pid file, named by the call id, for the next mcpd.
#[tokio::test]
async fn codex_finishes_its_turn_in_the_container_after_mcpd_is_killed() {
    let Some(mut s) = Setup::start(Runtime::Docker, "suggest", &[]).await else {
        return;
    };
    s.model.push(Reply::slow(
        Duration::from_secs(3),
        chat_answer("answered after the crash"),
    ));
    let started = s
        .mcpd
        .call_tool(
            "chat",
            json!({"message": "take your time", "agent_id": "dev", "background": true}),
        )
        .await
        .unwrap();
    assert_eq!(started.get("isError"), None, "{started}");
    s.model
        .wait_for_responses_requests(1, Duration::from_secs(60))
        .await
        .unwrap();
    s.mcpd.kill().await.unwrap();

    let container = s.scope().container("dev");
    // Waits (up to 2 minutes) for the run's status, then prints it and the transcript.
    let script = "p=/tmp/.codex-mcp-exec-call-; i=0
        while ! ls $p*.rc >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 1200 ] && exit 1; sleep 0.1; done
        cat $p*.rc; cat $p*.out";
    // Off the test's thread: the scripted model answering Codex runs on it.
    let printed =
        tokio::task::spawn_blocking(move || docker_ok(&["exec", &container, "sh", "-c", script]))
            .await
            .unwrap()
            .unwrap();
    let (status, transcript) = printed.split_once('\n').unwrap_or_default();
    assert_eq!(status, "0", "Codex ended normally:\n{printed}");
    let events: Vec<Value> = transcript
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        events
            .iter()
            .any(|e| e.to_string().contains("answered after the crash")),
        "the final answer is kept: {transcript}"
    );
    assert_eq!(
        events.last().map(|e| e["type"].clone()),
        Some(json!("turn.completed")),
        "the whole transcript is kept: {transcript}"
    );
}
