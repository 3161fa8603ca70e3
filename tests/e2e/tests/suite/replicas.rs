//! Several mcpd replicas on one PostgreSQL database (issue 19): real Codex, a scripted
//! model, a real PostgreSQL cluster. A 2025-era session sent to the wrong replica is told
//! where it lives; a background job started on one replica is fetched
//! and cancelled through the other, and the Codex process of the replica running it
//! stops; two replicas serving one agent in Docker take turns on its conversation, so the
//! conversation never forks; twenty agents served by two replicas at random lose no call,
//! and a replica killed mid-call leaves that call interrupted and the agent usable.

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
    s.replica("r2", data).await.unwrap()
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

/// The word a call of `agent` sends as its `n`th message.
fn word(agent: usize, n: usize) -> String {
    format!("agent{agent:02}-word{n:02}")
}

#[tokio::test]
async fn twenty_agents_over_two_replicas_lose_nothing_and_outlive_a_killed_replica() {
    const AGENTS: usize = 20;
    const ROUNDS: usize = 5; // two calls at once per round: 10 calls per agent
    let Some(pg) = PgServer::start_or_skip() else {
        return;
    };
    let Some(mut s) = first_replica(&pg, Runtime::Docker).await else {
        return;
    };
    let data2 = temp_dir("e2e-replica-2").unwrap();
    let mut r2 = second_replica(&s, data2.path()).await;
    // Every answer takes 200 ms; a message saying HANG-NOW never gets one.
    s.model.set_fallback(Reply::from_fn(|request| {
        if request
            .user_texts()
            .last()
            .is_some_and(|t| t.contains("HANG-NOW"))
        {
            Reply::hang()
        } else {
            Reply::slow(Duration::from_millis(200), chat_answer("noted"))
        }
    }));
    // Which replica serves each call: a seeded xorshift; the seed is printed, and
    // REPLICA_CHOICE_SEED reruns a failure's choices.
    let mut seed = std::env::var("REPLICA_CHOICE_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
        | 1;
    eprintln!("replica choice seed: {seed}");
    let mut choices = Vec::new();
    for _ in 0..AGENTS * ROUNDS * 2 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        choices.push(seed.is_multiple_of(2));
    }
    let (r1_ref, r2_ref) = (&s.mcpd, &r2);
    let agents = (0..AGENTS).map(|a| {
        let choices = &choices;
        async move {
            for round in 0..ROUNDS {
                let calls = (0..2).map(|k| {
                    let n = round * 2 + k;
                    let replica = if choices[a * ROUNDS * 2 + n] {
                        r1_ref
                    } else {
                        r2_ref
                    };
                    async move {
                        replica
                            .call_tool(
                                "chat",
                                json!({"message": word(a, n), "agent_id": format!("many-{a:02}")}),
                            )
                            .await
                    }
                });
                for result in futures::future::join_all(calls).await {
                    let result = result.unwrap();
                    assert_eq!(structured(&result)["reply"], json!("noted"), "{result}");
                }
            }
        }
    });
    futures::future::join_all(agents).await;
    // Nothing lost: the database holds every call, succeeded.
    let counted = pg
        .psql(
            "codex_mcp",
            "SELECT count(*) FROM calls WHERE tool = 'chat' AND status = 'succeeded'",
        )
        .unwrap();
    assert_eq!(counted, (AGENTS * ROUNDS * 2).to_string());
    // Never two turns of one agent at once, wherever they ran: in the model's log each
    // agent's turns arrive one after another, each seeing every earlier word of its
    // conversation and its own.
    let requests = s.model.responses_requests();
    for a in 0..AGENTS {
        let seen: Vec<usize> = requests
            .iter()
            .filter(|r| {
                r.user_texts()
                    .join("\n")
                    .contains(&format!("agent{a:02}-word"))
            })
            .map(|r| {
                let texts = r.user_texts().join("\n");
                (0..ROUNDS * 2)
                    .filter(|n| texts.contains(&word(a, *n)))
                    .count()
            })
            .collect();
        assert_eq!(seen, (1..=ROUNDS * 2).collect::<Vec<_>>(), "agent {a}");
    }

    // r2 dies in the middle of a call; r1 marks that call interrupted (its sweep runs
    // every 5 s) and the agent goes on through r1.
    let base = r2.base.clone();
    let stuck = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("{base}/tools/chat"))
            .json(&json!({"message": "HANG-NOW", "agent_id": "many-00"}))
            .send()
            .await
    });
    s.model
        .wait_for_responses_requests(AGENTS * ROUNDS * 2 + 1, Duration::from_secs(60))
        .await
        .unwrap();
    r2.kill().await.unwrap();
    assert!(stuck.await.unwrap().is_err());
    wait_for_newest_call(&s.mcpd, "many-00", "chat", "interrupted").await;
    // r2's Codex outlives r2 in the container and holds the thread's writer: the next
    // turn stops it first.
    assert!(
        !s.codex_processes("many-00").is_empty(),
        "the dead replica's Codex still runs"
    );
    let next = s
        .mcpd
        .call_tool("chat", json!({"message": "after", "agent_id": "many-00"}))
        .await
        .unwrap();
    assert_eq!(structured(&next)["reply"], json!("noted"));
    s.assert_no_codex_left("many-00").await;

    // r2 comes back under its name and serves again.
    r2 = second_replica(&s, data2.path()).await;
    let rejoined = r2
        .call_tool("chat", json!({"message": "again", "agent_id": "many-01"}))
        .await
        .unwrap();
    assert_eq!(structured(&rejoined)["reply"], json!("noted"));
    let statuses = pg
        .psql(
            "codex_mcp",
            "SELECT status || ':' || count(*) FROM calls GROUP BY status ORDER BY status",
        )
        .unwrap();
    assert_eq!(
        statuses,
        format!("interrupted:1\nsucceeded:{}", AGENTS * ROUNDS * 2 + 2)
    );
    s.mcpd.terminate().await.unwrap();
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
