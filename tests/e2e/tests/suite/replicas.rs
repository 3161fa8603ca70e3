//! Several mcpd replicas on one PostgreSQL database (issue 19): real Codex, a scripted
//! model, a real PostgreSQL cluster. A 2025-era session sent to the wrong replica is told
//! where it lives; a background job started on one replica is fetched
//! and cancelled through the other, and the Codex process of the replica running it
//! stops; two replicas serving one agent in Docker take turns on its conversation, so the
//! conversation never forks.

use std::path::Path;
use std::time::Duration;

use codex_mcp_e2e::faults::{recent_calls, wait_for_newest_call};
use codex_mcp_e2e::jobs::{start_job, until_done};
use codex_mcp_e2e::scripted::chat_answer;
use codex_mcp_e2e::{Mcpd, Runtime, Setup};
use codex_mcp_testkit::{PgServer, Reply, temp_dir};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

fn structured(result: &Value) -> Value {
    assert_eq!(result.get("isError"), None, "{result}");
    result["structuredContent"].clone()
}

/// Replica `r1` (the setup's mcpd) on `pg`, in `runtime`.
async fn first_replica(pg: &PgServer, runtime: Runtime) -> Option<Setup> {
    Setup::start(
        runtime,
        "suggest",
        &[
            ("CODEX_MCP_DATABASE_URL", pg.url()),
            ("CODEX_MCP_REPLICA_NAME", "r1".to_string()),
        ],
    )
    .await
}

/// A second replica beside the setup's: same settings, its own name and data dir.
async fn second_replica(s: &Setup, data: &Path) -> Mcpd {
    let mut env = s.env.clone();
    env.retain(|(k, _)| !matches!(*k, "CODEX_MCP_REPLICA_NAME" | "CODEX_MCP_DATA_DIR"));
    env.push(("CODEX_MCP_REPLICA_NAME", "r2".to_string()));
    env.push(("CODEX_MCP_DATA_DIR", data.display().to_string()));
    Mcpd::start(&env, &s.home).await.unwrap()
}

async fn get_job(mcpd: &Mcpd, id: &str) -> Value {
    structured(
        &mcpd
            .call_tool("get_job", json!({"job_id": id}))
            .await
            .unwrap(),
    )
}

#[tokio::test]
async fn a_job_started_on_one_replica_is_fetched_and_cancelled_through_the_other() {
    let Some(pg) = PgServer::start_or_skip() else {
        return;
    };
    let Some(s) = first_replica(&pg, Runtime::Local).await else {
        return;
    };
    let data2 = temp_dir("e2e-replica-2").unwrap();
    let r2 = second_replica(&s, data2.path()).await;

    // A 2025-era session lives on the replica that opened it; the other one says where.
    let session = s.mcpd.initialize(None).await.unwrap();
    s.mcpd
        .session_call(&session, None, "health_check", json!({}))
        .await
        .unwrap();
    let refusal = |e: anyhow::Error| -> String {
        let text = e.to_string();
        let body: Value = serde_json::from_str(&text[text.find('{').unwrap_or(0)..]).unwrap();
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let elsewhere = r2
        .session_call(&session, None, "health_check", json!({}))
        .await
        .map_err(refusal)
        .unwrap_err();
    assert_eq!(
        elsewhere,
        format!(
            "Invalid request: session {session:?} is open on the mcpd replica \"r1\", not on \
             this one: a 2025-era session stays on the replica that opened it, so route its \
             requests there (session affinity on Mcp-Session-Id), use protocol 2026-07-28 (no \
             sessions), or initialize again"
        )
    );
    let unknown = r2
        .session_call("no-such-session", None, "health_check", json!({}))
        .await
        .map_err(refusal)
        .unwrap_err();
    assert!(
        unknown.contains("\"no-such-session\" not found"),
        "{unknown}"
    );

    s.model.push(Reply::hang());
    let started = s
        .mcpd
        .call_tool(
            "chat",
            json!({"message": "wait forever", "agent_id": "traveller", "background": true}),
        )
        .await
        .unwrap();
    let id = structured(&started)["job_id"].as_str().unwrap().to_string();
    s.model
        .wait_for_responses_requests(1, Duration::from_secs(60))
        .await
        .unwrap();
    assert!(
        !s.codex_processes("traveller").is_empty(),
        "Codex runs on r1"
    );

    // r2 does not run it but finds it in the shared store.
    let seen = get_job(&r2, &id).await;
    assert_eq!(
        (
            seen["job_id"].clone(),
            seen["tool"].clone(),
            seen["status"].clone()
        ),
        (json!(id), json!("chat"), json!("working")),
        "{seen}"
    );
    let cancelled = r2
        .call_tool("cancel_job", json!({"job_id": id}))
        .await
        .unwrap();
    assert_eq!(
        structured(&cancelled),
        json!({"job_id": id, "status": "cancelled"})
    );

    // r1 notices and stops its Codex; both replicas then say cancelled.
    s.assert_no_codex_left("traveller").await;
    for (name, replica) in [("r1", &s.mcpd), ("r2", &r2)] {
        let job = get_job(replica, &id).await;
        assert_eq!(job["status"], json!("cancelled"), "{name}: {job}");
    }
    wait_for_newest_call(&r2, "traveller", "chat", "cancelled").await;
}

#[tokio::test]
async fn two_replicas_serving_one_docker_agent_take_turns_on_its_conversation() {
    let Some(pg) = PgServer::start_or_skip() else {
        return;
    };
    let Some(s) = first_replica(&pg, Runtime::Docker).await else {
        return;
    };
    let data2 = temp_dir("e2e-replica-2").unwrap();
    let r2 = second_replica(&s, data2.path()).await;
    // Each answer takes 2 s, so turns running at once would overlap for long.
    let delay = Duration::from_secs(2);
    s.model
        .set_fallback(Reply::slow(delay, chat_answer("noted")));
    // The first call creates the agent's container; then four at once, two per replica.
    let first = s
        .mcpd
        .call_tool("chat", json!({"message": "word 0", "agent_id": "shared"}))
        .await
        .unwrap();
    assert_eq!(structured(&first)["reply"], json!("noted"));
    let calls = (1..=4).map(|i| {
        let replica = if i % 2 == 0 { &s.mcpd } else { &r2 };
        async move {
            replica
                .call_tool(
                    "chat",
                    json!({"message": format!("word {i}"), "agent_id": "shared"}),
                )
                .await
                .unwrap()
        }
    });
    for result in futures::future::join_all(calls).await {
        assert_eq!(structured(&result)["reply"], json!("noted"), "{result}");
    }

    // One conversation, never forked: every turn saw all the turns before it.
    let requests = s.model.responses_requests();
    assert_eq!(requests.len(), 5);
    let seen: Vec<usize> = requests
        .iter()
        .map(|r| {
            let texts = r.user_texts().join("\n");
            (0..=4)
                .filter(|i| texts.contains(&format!("word {i}")))
                .count()
        })
        .collect();
    assert_eq!(
        seen,
        vec![1, 2, 3, 4, 5],
        "words seen by each turn, in order"
    );
    let threads: Vec<Option<&str>> = requests.iter().map(|r| r.thread_id()).collect();
    assert!(
        threads.iter().all(|t| *t == threads[0] && t.is_some()),
        "{threads:?}"
    );
    let calls = recent_calls(&r2, "shared").await;
    assert_eq!(
        calls
            .iter()
            .map(|(_, st, _)| st.as_str())
            .collect::<Vec<_>>(),
        vec!["succeeded"; 5]
    );
}

/// A replica starting on the Docker engine another live replica uses spares that
/// replica's running Codex when it adopts the agents' containers: the first replica's
/// job goes on and completes.
#[tokio::test]
async fn reattach_spares_the_live_runs_of_another_replica_at_its_start() {
    let Some(pg) = PgServer::start_or_skip() else {
        return;
    };
    let Some(s) = first_replica(&pg, Runtime::Docker).await else {
        return;
    };
    s.model.push(Reply::slow(
        Duration::from_secs(6),
        chat_answer("r1 finished"),
    ));
    let job = start_job(
        &s.mcpd,
        "chat",
        json!({"message": "long work", "agent_id": "shared"}),
    )
    .await;
    s.model
        .wait_for_responses_requests(1, Duration::from_secs(120))
        .await
        .unwrap();
    // r2 adopts the same containers while r1's Codex runs in one of them.
    let data2 = temp_dir("e2e-replica-2").unwrap();
    let _r2 = second_replica(&s, data2.path()).await;
    let done = until_done(&s.mcpd, &job).await;
    assert_eq!(
        (&done["status"], &done["result"]["reply"]),
        (&json!("completed"), &json!("r1 finished")),
        "{done}"
    );
}
