//! The two backends side by side: recording a call (start + finish) with 1 and 8
//! concurrent writers, and the listings mcpd's server tools read (`list_sessions` over
//! all sessions, `list_agents`, one agent's calls), on SQLite (`codex-mcp.db` in a temp
//! dir, as mcpd runs it) and on PostgreSQL (a private local cluster with durable commits:
//! `fsync=on`, `synchronous_commit=on`, over TCP on 127.0.0.1).
//!
//! Run: `cargo bench -p codex-mcp-store --bench backends`
//! (`CALLS=N` calls per writer row, default 2000; `SESSIONS=N` sessions and `AGENTS=N`
//! agents in the listing rows, defaults 2000 and 200).

// A benchmark is a measuring program, not library code: a failed setup step stops the run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use codex_mcp_store::{
    AgentStatus, CallFinish, CallStart, CallStatus, NewAgent, NewSession, PostgresStore,
    SessionStore, SqliteStore, Transport,
};
use codex_mcp_testkit::PgServer;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx].as_secs_f64() * 1000.0
}

fn agent(id: &str) -> NewAgent {
    NewAgent {
        id: id.into(),
        runtime: "docker".into(),
        container: None,
        workspace: None,
        status: AgentStatus::Running,
        at: codex_mcp_store::now(),
    }
}

async fn record_calls(store: &Arc<dyn SessionStore>, tag: &str, writers: usize, calls: usize) {
    for w in 0..writers {
        store
            .ensure_agent(agent(&format!("{tag}-w{w}")))
            .await
            .unwrap();
    }
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..writers {
        let store = Arc::clone(store);
        let agent_id = format!("{tag}-w{w}");
        let share = calls / writers;
        tasks.spawn(async move {
            let mut latencies = Vec::with_capacity(share);
            for n in 0..share {
                let id = format!("{agent_id}-c{n}");
                let t = Instant::now();
                store
                    .start_call(CallStart {
                        id: id.clone(),
                        agent_id: agent_id.clone(),
                        session_id: None,
                        tool: "chat".into(),
                        arguments_digest: "d".into(),
                        thread_id: None,
                        started_at: codex_mcp_store::now(),
                    })
                    .await
                    .unwrap();
                store
                    .finish_call(
                        &id,
                        CallFinish {
                            status: CallStatus::Succeeded,
                            finished_at: codex_mcp_store::now(),
                            error: None,
                            duration_ms: 5,
                            tokens_in: Some(10),
                            tokens_out: Some(5),
                            thread_id: Some("t".into()),
                            output: None,
                        },
                    )
                    .await
                    .unwrap();
                latencies.push(t.elapsed());
            }
            latencies
        });
    }
    let mut all = Vec::with_capacity(calls);
    while let Some(l) = tasks.join_next().await {
        all.extend(l.unwrap());
    }
    let wall = started.elapsed();
    all.sort();
    println!(
        "| record a call, {writers} writer(s) | {:>8.3} | {:>8.3} | {:>9.0} |",
        pct(&all, 0.5),
        pct(&all, 0.99),
        all.len() as f64 / wall.as_secs_f64()
    );
}

async fn time_reads<F, Fut>(label: &str, rounds: usize, mut read: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = usize>,
{
    let mut all = Vec::with_capacity(rounds);
    let mut rows = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        rows = read().await;
        all.push(t.elapsed());
    }
    all.sort();
    println!(
        "| {label} ({rows} rows) | {:>8.3} | {:>8.3} | {:>9.0} |",
        pct(&all, 0.5),
        pct(&all, 0.99),
        1000.0 / pct(&all, 0.5)
    );
}

async fn run(name: &str, store: Arc<dyn SessionStore>) {
    let calls = env_or("CALLS", 2000);
    let sessions = env_or("SESSIONS", 2000);
    let agents = env_or("AGENTS", 200);
    println!("\n### {name}\n");
    println!("| operation | p50 ms | p99 ms | per second |");
    println!("|---|---:|---:|---:|");
    record_calls(&store, "one", 1, calls).await;
    record_calls(&store, "eight", 8, calls).await;
    for a in 0..agents {
        store
            .ensure_agent(agent(&format!("agent-{a}")))
            .await
            .unwrap();
    }
    for s in 0..sessions {
        store
            .open_session(NewSession {
                id: format!("session-{s}"),
                agent_id: Some(format!("agent-{}", s % agents)),
                client_name: Some("bench".into()),
                client_version: None,
                transport: Transport::StreamableHttp,
                protocol_version: "2025-11-25".into(),
                opened_at: codex_mcp_store::now(),
            })
            .await
            .unwrap();
    }
    let s = Arc::clone(&store);
    time_reads("list_sessions, all", 50, || {
        let s = Arc::clone(&s);
        async move { s.list_sessions(None, false).await.unwrap().len() }
    })
    .await;
    let s = Arc::clone(&store);
    time_reads("list_sessions, one agent", 200, || {
        let s = Arc::clone(&s);
        async move { s.list_sessions(Some("agent-7"), false).await.unwrap().len() }
    })
    .await;
    let s = Arc::clone(&store);
    time_reads("list_agents", 100, || {
        let s = Arc::clone(&s);
        async move { s.list_agents().await.unwrap().len() }
    })
    .await;
    let s = Arc::clone(&store);
    time_reads("list_calls, 20 newest", 200, || {
        let s = Arc::clone(&s);
        async move { s.list_calls("one-w0", 20).await.unwrap().len() }
    })
    .await;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = SqliteStore::open(dir.path()).unwrap();
    run(
        "SQLite (codex-mcp.db, WAL, synchronous=NORMAL)",
        Arc::new(sqlite),
    )
    .await;

    let pg = PgServer::start_with("-c fsync=on -c synchronous_commit=on -c full_page_writes=on")
        .expect("PostgreSQL for the benchmark");
    let store = PostgresStore::connect(&pg.url(), "test-replica")
        .await
        .unwrap();
    run(
        "PostgreSQL 15 (local, TCP, fsync=on, synchronous_commit=on)",
        Arc::new(store),
    )
    .await;
}
