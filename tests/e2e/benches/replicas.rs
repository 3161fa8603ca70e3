//! Benchmark (not a test): throughput of two mcpd replicas on one PostgreSQL database
//! against one replica, at N warm Docker agents (issue 19). Every agent calls `chat` back
//! to back for a fixed time: first all through replica `r1`, then half through `r1` and
//! half through `r2` (agents alternate), then again in the other order. Every model
//! request goes to one scripted model answering at once, so the figures are mcpd's and
//! Codex's own cost on this machine: with both replicas on one host, a second replica
//! adds a door, not cores.
//!
//! `cargo bench --profile dev -p codex-mcp-e2e --bench replicas` (`MCPD_BIN` for a
//! release build). `REPLICAS_N` agents (default 20), `REPLICAS_SECS` per row (default 20).

use codex_mcp_e2e::bench::{Table, answer_pong, chat_call, emit, env_or, ms, percentile};
use codex_mcp_e2e::bench_loop::{Row, closed_loop};
use codex_mcp_e2e::{Runtime, Setup};
use codex_mcp_testkit::{PgServer, temp_dir};
use serde_json::json;

fn agent(i: usize) -> String {
    format!("r{i}")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = env_or("REPLICAS_N", 20);
    let secs = env_or("REPLICAS_SECS", 20) as u64;
    let pg =
        PgServer::start_or_skip().ok_or_else(|| anyhow::anyhow!("PostgreSQL is not installed"))?;
    let s = Setup::start(
        Runtime::Docker,
        "suggest",
        &[
            ("CODEX_MCP_DATABASE_URL", pg.url()),
            ("CODEX_MCP_REPLICA_NAME", "r1".into()),
            ("LOG_LEVEL", "info".into()),
            ("MAX_CONCURRENT_SESSIONS", n.max(20).to_string()),
        ],
    )
    .await
    .ok_or_else(|| anyhow::anyhow!("Codex or Docker is not available"))?;
    let data2 = temp_dir("bench-replica-2")?;
    let r2 = s.replica("r2", data2.path()).await?;
    answer_pong(&s.model);
    // Warm: each agent's container and thread exist, and each replica has met each agent.
    let (r1, r2) = (&s.mcpd, &r2);
    let warm = (0..n).map(|i| async move {
        chat_call(r1, &agent(i)).await?;
        chat_call(r2, &agent(i)).await
    });
    for r in futures::future::join_all(warm).await {
        r?;
    }
    let one = |w: usize| async move { chat_call(r1, &agent(w)).await };
    let two = |w: usize| async move {
        let replica = if w.is_multiple_of(2) { r1 } else { r2 };
        chat_call(replica, &agent(w)).await
    };
    let rows: Vec<Row> = vec![
        closed_loop("docker", "one replica", n, secs, one).await,
        closed_loop("docker", "two replicas", n, secs, two).await,
        closed_loop("docker", "two replicas", n, secs, two).await,
        closed_loop("docker", "one replica", n, secs, one).await,
    ];

    let mut table = Table::new(&[
        "replicas",
        ">agents",
        ">calls/s",
        ">p50 / p99 ms",
        ">failures",
        "load (1/5/15 min)",
    ]);
    for r in &rows {
        table.row(&[
            r.side.to_string(),
            r.n.to_string(),
            format!("{:.2}", r.calls_per_s()),
            format!(
                "{:.0} / {:.0}",
                ms(percentile(&r.times, 0.5)),
                ms(percentile(&r.times, 0.99))
            ),
            r.failures.to_string(),
            r.load.clone(),
        ]);
    }
    let notes = [format!(
        "{secs} s per row, rows in the order shown; every agent made one call through each \
         replica first (unmeasured)."
    )];
    emit(
        "replicas",
        &table,
        &notes,
        json!({"seconds_per_row": secs, "rows": rows.iter().map(Row::json).collect::<Vec<_>>()}),
    )
}
