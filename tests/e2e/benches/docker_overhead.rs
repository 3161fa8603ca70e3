//! Benchmark (not a test) of agents on the Docker runtime, through `mcpd`:
//! - the median of a warm `chat` call (a continuing conversation in a running container)
//!   against the same Codex turn, on the same thread, run directly in that container
//!   through the Engine API (`codex_mcp_e2e::engine_exec`: target ratio at most 1.02, pair
//!   difference at most 3 ms), and, for comparison, by the `docker exec` CLI, which also
//!   starts a client process per turn;
//! - the first-call time of a new agent, container creation included (target < 1.5 s);
//! - the memory of an idle agent container (`docker stats`).
//!
//! `cargo build --release -p mcpd && MCPD_BIN=target/release/mcpd cargo bench -p
//! codex-mcp-e2e --bench docker_overhead`. `BENCH_ITERATIONS` (default 15) warm pairs,
//! `BENCH_NEW_AGENTS` (default 8) new agents (5 and 3 with `BENCH_QUICK=1`). Needs dockerd and `codex-mcp-agent:latest`.

use std::time::Duration;

use codex_mcp_e2e::bench::{
    Table, answer_pong, chat_call, container_memory_mib, docker_exec_turn, emit, env_or, median,
    median_interval, median_pair_difference, ms, order_balanced_difference, pair_differences,
    percentile, ping_chat, quick, with_interval,
};
use codex_mcp_e2e::docker::docker_ready_or_skip;
use codex_mcp_e2e::engine_exec::Engine;
use codex_mcp_e2e::{Runtime, Setup};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = env_or("BENCH_ITERATIONS", if quick() { 5 } else { 15 });
    let new_agents = env_or("BENCH_NEW_AGENTS", if quick() { 3 } else { 8 });
    anyhow::ensure!(
        docker_ready_or_skip(),
        "Docker or the agent image is missing"
    );
    let s = Setup::start(Runtime::Docker, "suggest", &[("LOG_LEVEL", "info".into())])
        .await
        .ok_or_else(|| anyhow::anyhow!("the Codex CLI is not available"))?;
    answer_pong(&s.model);

    // First calls of new agents: container, volumes, Codex home files, then the turn.
    let mut first = Vec::new();
    for i in 0..new_agents {
        first.push(chat_call(&s.mcpd, &format!("new-{i}")).await?);
    }

    // Warm: one agent's continuing chat against `codex exec resume` of the same thread in
    // the same container through the Engine API, in pairs whose order alternates, so
    // machine load hits both alike. One thread for both: a Codex turn's own time differs
    // between two threads by several milliseconds (docs/benchmarks.md, session 14), which
    // a floor on a thread of its own would count as mcpd's. Then, for comparison, the same
    // against the `docker` CLI, in pairs of their own: a CLI turn leaves the engine busy
    // into the next turn, which in one rotation of three slowed whichever side followed it.
    chat_call(&s.mcpd, "warm").await?;
    let container = s.scope().container("warm");
    let prepared = ping_chat()?;
    let engine = Engine::connect().await?;
    let info = s
        .mcpd
        .call_tool("get_my_session_info", json!({"agent_id": "warm"}))
        .await?;
    let thread = info
        .pointer("/structuredContent/threads/0/thread_id")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow::anyhow!("no thread in mcpd's session info: {info}"))?
        .to_string();
    let (mut through, mut straight) = (Vec::new(), Vec::new());
    let (mut through_cli, mut cli) = (Vec::new(), Vec::new());
    for i in 0..2 * (n + 2) {
        let with_cli = i >= n + 2;
        let floor = async {
            if with_cli {
                docker_exec_turn(&container, Some(&thread), &prepared.prompt)
                    .await
                    .map(|t| t.0)
            } else {
                engine
                    .turn(&container, Some(&thread), &prepared.prompt)
                    .await
                    .map(|t| t.0)
            }
        };
        let (mcpd_time, floor_time) = if i % 2 == 0 {
            let m = chat_call(&s.mcpd, "warm").await?;
            (m, floor.await?)
        } else {
            let f = floor.await?;
            (chat_call(&s.mcpd, "warm").await?, f)
        };
        match (with_cli, i % (n + 2) >= 2) {
            (false, true) => {
                through.push(mcpd_time);
                straight.push(floor_time);
            }
            (true, true) => {
                through_cli.push(mcpd_time);
                cli.push(floor_time);
            }
            (_, false) => {}
        }
    }

    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = container_memory_mib(&s.scope().containers())?;

    let (m_through, m_direct) = (median(&through), median(&straight));
    let ratio = ms(m_through) / ms(m_direct);
    let max_first = first.iter().copied().max().unwrap_or_default();
    let mut table = Table::new(&["figure (Docker runtime)", ">value", "target"]);
    table.row(&[
        format!("first call of a new agent, median of {new_agents} (max)"),
        format!("{:.1} ms ({:.1} ms)", ms(median(&first)), ms(max_first)),
        "< 1.5 s".into(),
    ]);
    table.row(&[
        format!("warm chat through mcpd, median of {n} (p99)"),
        format!(
            "{:.1} ms ({:.1} ms)",
            ms(m_through),
            ms(percentile(&through, 0.99))
        ),
        String::new(),
    ]);
    table.row(&[
        format!("same turn through the Engine API, median of {n} (p99)"),
        format!(
            "{:.1} ms ({:.1} ms)",
            ms(m_direct),
            ms(percentile(&straight, 0.99))
        ),
        String::new(),
    ]);
    table.row(&[
        format!("same turn by the `docker exec` CLI, median of {n} (p99), in pairs of their own"),
        format!(
            "{:.1} ms ({:.1} ms)",
            ms(median(&cli)),
            ms(percentile(&cli, 0.99))
        ),
        String::new(),
    ]);
    table.row(&[
        "ratio (mcpd / Engine API)".to_string(),
        format!("{ratio:.3}"),
        "<= 1.02".into(),
    ]);
    table.row(&[
        "median pair difference (mcpd - Engine API; 95% interval)".to_string(),
        with_interval(
            median_pair_difference(&through, &straight),
            median_interval(pair_differences(&through, &straight)),
        ),
        "<= 3 ms".into(),
    ]);
    table.row(&[
        "the same, order-balanced (mean of the two orders' medians)".to_string(),
        format!("{:+.1} ms", order_balanced_difference(&through, &straight)),
        "<= 3 ms".into(),
    ]);
    table.row(&[
        "median pair difference (mcpd - CLI)".to_string(),
        format!("{:+.1} ms", median_pair_difference(&through_cli, &cli)),
        String::new(),
    ]);
    table.row(&[
        format!(
            "idle agent container memory, median of {} (min-max)",
            idle.len()
        ),
        format!(
            "{:.1} MiB ({:.1}-{:.1})",
            idle[idle.len() / 2],
            idle[0],
            idle[idle.len() - 1]
        ),
        String::new(),
    ]);
    emit(
        "docker_overhead",
        &table,
        &[],
        json!({
            "first_ms": first.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
            "warm_mcpd_ms": through.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
            "warm_direct_ms": straight.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
            "warm_cli_ms": cli.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
            "warm_mcpd_beside_cli_ms": through_cli.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
            "ratio": ratio,
            "median_pair_difference_ms": median_pair_difference(&through, &straight),
            "median_pair_difference_interval_ms": median_interval(pair_differences(&through, &straight)),
            "order_balanced_difference_ms": order_balanced_difference(&through, &straight),
            "idle_container_mib": idle,
        }),
    )
}
