//! Cost of recording a tool call (start + finish) with concurrent writers.
//!
//! A plain bench binary (no criterion): the question is latency under concurrency and
//! throughput, which it prints as a table. Compares the store (one writer thread, group
//! commit) with the alternative design, a connection per writer with busy_timeout, and
//! shows what `synchronous=FULL` would cost.
//!
//! Run: `cargo bench -p codex-mcp-store --bench record_call`
//! (`CALLS=N` sets the calls per configuration; default 4000).

// A benchmark is a measuring program, not library code: a failed setup step stops the run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use codex_mcp_store::{
    AgentStatus, CallFinish, CallStart, CallStatus, NewAgent, SessionStore, SqliteStore,
};
use rusqlite::{Connection, TransactionBehavior, params};

struct Figures {
    label: String,
    writers: usize,
    calls: usize,
    wall: Duration,
    latencies: Vec<Duration>,
    errors: usize,
}

impl Figures {
    fn print(&mut self) {
        self.latencies.sort();
        let pct = |p: f64| {
            let idx = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
            self.latencies[idx].as_secs_f64() * 1000.0
        };
        println!(
            "| {:<34} | {:>7} | {:>6} | {:>9.3} | {:>9.3} | {:>9.3} | {:>9.0} | {:>10.1} | {:>6} |",
            self.label,
            self.writers,
            self.calls,
            pct(0.5),
            pct(0.99),
            pct(1.0),
            self.calls as f64 / self.wall.as_secs_f64(),
            self.wall.as_secs_f64() * 1e6 / self.calls as f64,
            self.errors,
        );
    }
}

fn header() {
    println!(
        "| {:<34} | {:>7} | {:>6} | {:>9} | {:>9} | {:>9} | {:>9} | {:>10} | {:>6} |",
        "design", "writers", "calls", "p50 ms", "p99 ms", "max ms", "calls/s", "µs/call", "errors"
    );
    println!(
        "|{:-<36}|{:->9}|{:->8}|{:->11}|{:->11}|{:->11}|{:->11}|{:->12}|{:->8}|",
        "", "", "", "", "", "", "", "", ""
    );
}

fn new_agent(id: &str) -> NewAgent {
    NewAgent {
        id: id.into(),
        runtime: "local".into(),
        container: None,
        workspace: None,
        status: AgentStatus::Running,
        at: codex_mcp_store::now(),
    }
}

fn start(id: String, agent: &str) -> CallStart {
    CallStart {
        id,
        agent_id: agent.into(),
        session_id: None,
        tool: "review".into(),
        arguments_digest: "sha256:0000".into(),
        thread_id: None,
        started_at: codex_mcp_store::now(),
    }
}

fn finish() -> CallFinish {
    CallFinish {
        status: CallStatus::Succeeded,
        finished_at: codex_mcp_store::now(),
        error: None,
        duration_ms: 1,
        tokens_in: Some(100),
        tokens_out: Some(20),
        thread_id: Some("thread".into()),
        output: None,
    }
}

/// The store as shipped: every writer task records `per_writer` calls.
async fn bench_store(writers: usize, total: usize) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    for w in 0..writers {
        store
            .ensure_agent(new_agent(&format!("agent-{w}")))
            .await
            .unwrap();
    }
    let per_writer = total / writers;
    let began = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..writers {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            let agent = format!("agent-{w}");
            let mut latencies = Vec::with_capacity(per_writer);
            let mut errors = 0;
            for n in 0..per_writer {
                let id = format!("{agent}-{n}");
                let t = Instant::now();
                let ok = store.start_call(start(id.clone(), &agent)).await.is_ok()
                    && store.finish_call(&id, finish()).await.is_ok();
                latencies.push(t.elapsed());
                errors += usize::from(!ok);
            }
            (latencies, errors)
        });
    }
    let mut latencies = Vec::with_capacity(total);
    let mut errors = 0;
    while let Some(joined) = tasks.join_next().await {
        let (l, e) = joined.unwrap();
        latencies.extend(l);
        errors += e;
    }
    let wall = began.elapsed();
    Figures {
        label: "store: writer thread, group commit".into(),
        writers,
        calls: per_writer * writers,
        wall,
        latencies,
        errors,
    }
}

/// One call recorded the way a connection-per-writer design would: two transactions.
fn record_on_own_connection(
    conn: &mut Connection,
    behavior: TransactionBehavior,
    agent: &str,
    id: &str,
) -> rusqlite::Result<()> {
    let now = codex_mcp_store::now().timestamp_millis();
    let tx = conn.transaction_with_behavior(behavior)?;
    tx.execute(
        "UPDATE agents SET calls_made = calls_made + 1, \
         last_active_at = max(last_active_at, ?2) WHERE id = ?1",
        params![agent, now],
    )?;
    tx.execute(
        "INSERT INTO calls (id, agent_id, tool, arguments_digest, started_at, status) \
         VALUES (?1, ?2, 'review', 'sha256:0000', ?3, 'running')",
        params![id, agent, now],
    )?;
    tx.commit()?;
    let tx = conn.transaction_with_behavior(behavior)?;
    tx.execute(
        "UPDATE calls SET status = 'succeeded', finished_at = ?2, duration_ms = 1, \
         tokens_in = 100, tokens_out = 20 WHERE id = ?1 AND status = 'running'",
        params![id, now],
    )?;
    tx.execute(
        "UPDATE agents SET tokens_in = tokens_in + 100, tokens_out = tokens_out + 20 \
         WHERE id = ?1",
        params![agent],
    )?;
    tx.commit()
}

/// The alternative: each writer has its own connection (busy_timeout 5 s) and commits
/// its own transactions, on a blocking thread.
async fn bench_pool(
    writers: usize,
    total: usize,
    synchronous: &'static str,
    behavior: TransactionBehavior,
) -> Figures {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = SqliteStore::open(dir.path()).unwrap();
        for w in 0..writers {
            store
                .ensure_agent(new_agent(&format!("agent-{w}")))
                .await
                .unwrap();
        }
        store.close().await;
    }
    let db = dir.path().join(codex_mcp_store::sqlite::DB_FILE);
    let per_writer = total / writers;
    let began = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..writers {
        let db = db.clone();
        tasks.spawn_blocking(move || {
            let mut conn = Connection::open(&db).unwrap();
            conn.busy_timeout(Duration::from_secs(5)).unwrap();
            conn.pragma_update(None, "synchronous", synchronous)
                .unwrap();
            conn.pragma_update(None, "foreign_keys", true).unwrap();
            let agent = format!("agent-{w}");
            let mut latencies = Vec::with_capacity(per_writer);
            let mut errors = 0;
            for n in 0..per_writer {
                let id = format!("{agent}-{n}");
                let t = Instant::now();
                let result = record_on_own_connection(&mut conn, behavior, &agent, &id);
                latencies.push(t.elapsed());
                if let Err(e) = result {
                    errors += 1;
                    if errors == 1 {
                        eprintln!("pool writer error: {e}");
                    }
                }
            }
            (latencies, errors)
        });
    }
    let mut latencies = Vec::with_capacity(total);
    let mut errors = 0;
    while let Some(joined) = tasks.join_next().await {
        let (l, e) = joined.unwrap();
        latencies.extend(l);
        errors += e;
    }
    let wall = began.elapsed();
    let txn = match behavior {
        TransactionBehavior::Immediate => "immediate",
        _ => "deferred",
    };
    Figures {
        label: format!("pool+busy_timeout {txn} sync={synchronous}"),
        writers,
        calls: per_writer * writers,
        wall,
        latencies,
        errors,
    }
}

/// Read latency while nothing else runs: one agent with usage, and a page of calls.
async fn bench_reads(total: usize) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    store.ensure_agent(new_agent("a")).await.unwrap();
    for n in 0..1000 {
        let id = format!("c{n}");
        store.start_call(start(id.clone(), "a")).await.unwrap();
        store.finish_call(&id, finish()).await.unwrap();
    }
    let mut agent = Vec::with_capacity(total);
    let mut page = Vec::with_capacity(total);
    for _ in 0..total {
        let t = Instant::now();
        store.get_agent("a").await.unwrap();
        agent.push(t.elapsed());
        let t = Instant::now();
        store.list_calls("a", 20).await.unwrap();
        page.push(t.elapsed());
    }
    for (label, mut l) in [("get_agent", agent), ("list_calls(limit 20)", page)] {
        l.sort();
        println!(
            "read {label}: p50 {:.3} ms, p99 {:.3} ms ({total} reads, 1000 calls stored)",
            l[l.len() / 2].as_secs_f64() * 1000.0,
            l[l.len() * 99 / 100].as_secs_f64() * 1000.0
        );
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters nothing here.
    let total: usize = std::env::var("CALLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        println!(
            "record_call: {total} calls (start + finish) per row, tokio 2 workers, tempdir on /tmp"
        );
        header();
        for writers in [1, 4, 16, 64] {
            bench_store(writers, total).await.print();
        }
        for writers in [1, 4, 16, 64] {
            bench_pool(writers, total, "NORMAL", TransactionBehavior::Immediate)
                .await
                .print();
        }
        for writers in [16, 64] {
            bench_pool(writers, total, "NORMAL", TransactionBehavior::Deferred)
                .await
                .print();
        }
        for writers in [1, 16] {
            bench_pool(writers, total / 4, "FULL", TransactionBehavior::Immediate)
                .await
                .print();
        }
        bench_reads(2000).await;
    });
}
