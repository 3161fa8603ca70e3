//! Benchmark (not a test) of agents on the Docker runtime, through `mcpd`:
//! - the median of a warm `chat` call (a continuing conversation in a running container)
//!   against the same Codex turn run directly in that container through the Engine API
//!   (`codex_mcp_e2e::engine_exec`: target ratio at most 1.02, pair difference at most
//!   3 ms), and, for comparison, by the `docker exec` CLI, which also starts a client
//!   process per turn;
//! - the first-call time of a new agent, container creation included (target < 1.5 s);
//! - the memory of an idle agent container (`docker stats`).
//!
//! `cargo build --release -p mcpd && MCPD_BIN=target/release/mcpd cargo bench -p
//! codex-mcp-e2e --bench docker_overhead`. `BENCH_ITERATIONS` (default 15) warm pairs,
//! `BENCH_NEW_AGENTS` (default 8) new agents (5 and 3 with `BENCH_QUICK=1`). Needs dockerd and `codex-mcp-agent:latest`.

use std::time::Duration;

use codex_mcp_e2e::bench::{
    Table, answer_pong, chat_call, container_memory_mib, docker_exec_turn, emit, env_or, median,
    median_pair_difference, ms, percentile, ping_chat, quick,
};
use codex_mcp_e2e::docker::docker_ready_or_skip;
use codex_mcp_e2e::engine_exec::Engine;
use codex_mcp_e2e::{Runtime, Setup};
use serde_json::json;

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

    // Warm: one agent's continuing chat against `codex exec resume` of threads of their
    // own in the same container, through the Engine API and through the CLI; the three
    // take turns, the order rotating each round, so machine load hits all alike.
    chat_call(&s.mcpd, "warm").await?;
    let container = s.scope().container("warm");
    let prepared = ping_chat()?;
    let engine = Engine::connect().await?;
    let no_thread = || anyhow::anyhow!("no thread from the direct run");
    let (_, api_thread) = engine.turn(&container, None, &prepared.prompt).await?;
    let api_thread = api_thread.ok_or_else(no_thread)?;
    let (_, cli_thread) = docker_exec_turn(&container, None, &prepared.prompt).await?;
    let cli_thread = cli_thread.ok_or_else(no_thread)?;
    let (mut through, mut straight, mut cli) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..n + 2 {
        let mut times = [Duration::ZERO; 3];
        for k in 0..3 {
            let side = (i + k) % 3;
            times[side] = match side {
                0 => chat_call(&s.mcpd, "warm").await?,
                1 => {
                    engine
                        .turn(&container, Some(&api_thread), &prepared.prompt)
                        .await?
                        .0
                }
                _ => {
                    docker_exec_turn(&container, Some(&cli_thread), &prepared.prompt)
                        .await?
                        .0
                }
            };
        }
        if i >= 2 {
            through.push(times[0]);
            straight.push(times[1]);
            cli.push(times[2]);
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
        format!("same turn by the `docker exec` CLI, median of {n} (p99)"),
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
        "median pair difference (mcpd - Engine API)".to_string(),
        format!("{:+.1} ms", median_pair_difference(&through, &straight)),
        "<= 3 ms".into(),
    ]);
    table.row(&[
        "median pair difference (mcpd - CLI)".to_string(),
        format!("{:+.1} ms", median_pair_difference(&through, &cli)),
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
            "ratio": ratio,
            "median_pair_difference_ms": median_pair_difference(&through, &straight),
            "idle_container_mib": idle,
        }),
    )
}
