//! Benchmark (not a test): N warm agents each making `chat` calls back to back through
//! mcpd for a fixed time, against N parallel raw loops doing the same Codex turn
//! directly, on the local and the Docker runtime. Throughput (calls/s), p50/p99 per call
//! and failures for each side; the target is mcpd >= 0.9x the raw throughput at every N
//! with 0 failures.
//!
//! - local: mcpd's local runtime against raw `codex exec resume` with mcpd's argv, the
//!   environment mcpd gives Codex (its `HOME` too) and a `CODEX_HOME` of its own per loop
//!   holding the same `config.toml` (`codex_mcp_e2e::direct`);
//! - Docker: mcpd's agents (one container each, `CONTAINER_CPU_LIMIT=1`, network `host`)
//!   against loops of the same `codex exec resume ...` run in those containers through
//!   the Engine API (`codex_mcp_e2e::engine_exec`, as mcpd runs it; the issue's
//!   `docker exec -i` also starts a `docker` client process per turn, which mcpd does
//!   not), each on a thread of its own.
//!
//! Every model request goes to one scripted model. Each agent and each raw loop makes one
//! unmeasured turn first (warm). Rows are interleaved: for each N the two sides run one
//! after the other, the order alternating, so machine load hits both alike.
//!
//! `cargo build --release -p mcpd && MCPD_BIN=target/release/mcpd cargo bench --profile
//! dev -p codex-mcp-e2e --bench concurrency`. `CONCURRENCY_N` (default `1,5,20`; quick
//! `1,5`), `CONCURRENCY_SECS` per row (default 20; quick 8), `CONCURRENCY_RUNTIMES`
//! (default `local,docker`).

use std::time::{Duration, Instant};

use codex_mcp_e2e::bench::{
    Table, answer_pong, chat_call, emit, env_list, env_or, ms, percentile, ping_chat, quick,
};
use codex_mcp_e2e::bench_loop::{Row, closed_loop};
use codex_mcp_e2e::direct::{Direct, DirectAgent};
use codex_mcp_e2e::engine_exec::Engine;
use codex_mcp_e2e::{Runtime, Setup};
use codex_mcp_tools::PreparedCall;
use serde_json::json;

fn agent(i: usize) -> String {
    format!("c{i}")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let ns = env_list("CONCURRENCY_N", if quick() { &[1, 5] } else { &[1, 5, 20] });
    let secs = env_or("CONCURRENCY_SECS", if quick() { 8 } else { 20 }) as u64;
    let runtimes = std::env::var("CONCURRENCY_RUNTIMES").unwrap_or_else(|_| "local,docker".into());
    let max_n = ns.iter().copied().max().unwrap_or(1);
    let mut rows = Vec::new();
    for name in runtimes.split(',').map(str::trim) {
        let runtime = match name {
            "local" => Runtime::Local,
            "docker" => Runtime::Docker,
            other => anyhow::bail!("CONCURRENCY_RUNTIMES: unknown runtime {other:?}"),
        };
        rows.extend(run(runtime, &ns, max_n, secs).await?);
    }

    let mut table = Table::new(&[
        "runtime",
        ">N",
        ">mcpd calls/s",
        ">raw calls/s",
        ">ratio (target >= 0.9)",
        ">mcpd p50 / p99 ms",
        ">raw p50 / p99 ms",
        ">failures mcpd / raw",
        "load (1/5/15 min)",
    ]);
    for pair in rows.chunks(2) {
        let [a, b] = pair else { continue };
        let (m, r) = if a.side == "mcpd" { (a, b) } else { (b, a) };
        table.row(&[
            m.runtime.to_string(),
            m.n.to_string(),
            format!("{:.2}", m.calls_per_s()),
            format!("{:.2}", r.calls_per_s()),
            format!("{:.3}", m.calls_per_s() / r.calls_per_s().max(1e-9)),
            format!(
                "{:.0} / {:.0}",
                ms(percentile(&m.times, 0.5)),
                ms(percentile(&m.times, 0.99))
            ),
            format!(
                "{:.0} / {:.0}",
                ms(percentile(&r.times, 0.5)),
                ms(percentile(&r.times, 0.99))
            ),
            format!("{} / {}", m.failures, r.failures),
            m.load.clone(),
        ]);
    }
    let notes = [format!(
        "{secs} s per row, both sides at each N one after the other (order alternating), \
         one unmeasured turn per agent and raw loop first."
    )];
    emit(
        "concurrency",
        &table,
        &notes,
        json!({"seconds_per_row": secs, "rows": rows.iter().map(Row::json).collect::<Vec<_>>()}),
    )
}

/// Every row of one runtime, mcpd and raw paired by N.
async fn run(runtime: Runtime, ns: &[usize], max_n: usize, secs: u64) -> anyhow::Result<Vec<Row>> {
    let s = Setup::start(
        runtime,
        "suggest",
        &[
            ("LOG_LEVEL", "info".into()),
            ("MAX_CONCURRENT_SESSIONS", max_n.max(20).to_string()),
        ],
    )
    .await
    .ok_or_else(|| anyhow::anyhow!("Codex or Docker is not available"))?;
    answer_pong(&s.model);
    let prepared = ping_chat()?;
    let prompt = prepared.prompt.as_str();

    // Warm: every agent exists (its container or folders) and has its chat thread;
    // created five at a time.
    let t = Instant::now();
    for batch in (0..max_n).collect::<Vec<_>>().chunks(5) {
        let calls = batch.iter().map(|i| {
            let id = agent(*i);
            let s = &s;
            async move { chat_call(&s.mcpd, &id).await }
        });
        for r in futures::future::join_all(calls).await {
            r?;
        }
    }
    eprintln!(
        "{} agents warmed in {:.1} s",
        max_n,
        t.elapsed().as_secs_f64()
    );

    let floor = Floor::prepare(runtime, &s, max_n, &prepared).await?;
    let label = runtime.name();
    let mut rows = Vec::new();
    for (k, &n) in ns.iter().enumerate() {
        let mcpd = || {
            closed_loop(label, "mcpd", n, secs, |w| {
                let s = &s;
                async move { chat_call(&s.mcpd, &agent(w)).await }
            })
        };
        let raw = || closed_loop(label, "raw", n, secs, |w| floor.turn(w, prompt));
        if k % 2 == 0 {
            rows.push(mcpd().await);
            rows.push(raw().await);
        } else {
            rows.push(raw().await);
            rows.push(mcpd().await);
        }
    }
    Ok(rows)
}

/// The raw side: one loop per worker, each with a warm thread of its own.
enum Floor {
    /// `codex exec resume` as mcpd's local runtime runs it, a Codex home per loop.
    Local {
        direct: Direct,
        agents: Vec<DirectAgent>,
        threads: Vec<String>,
        _dir: tempfile::TempDir,
    },
    /// `codex exec resume ...` in mcpd's agent containers, through the Engine API.
    Docker {
        engine: Engine,
        containers: Vec<String>,
        threads: Vec<String>,
    },
}

impl Floor {
    /// `max_n` loops, each after one unmeasured turn that starts its thread.
    async fn prepare(
        runtime: Runtime,
        s: &Setup,
        max_n: usize,
        prepared: &PreparedCall,
    ) -> anyhow::Result<Self> {
        let prompt = prepared.prompt.as_str();
        let mut threads = Vec::new();
        let no_thread = || anyhow::anyhow!("Codex reported no thread id");
        match runtime {
            Runtime::Local => {
                let dir = tempfile::tempdir()?;
                let schema = dir.path().join("chat-schema.json");
                std::fs::write(&schema, serde_json::to_vec(&prepared.codex_output_schema)?)?;
                let direct = Direct {
                    codex: codex_mcp_testkit::codex_bin()?,
                    config_toml: std::fs::read_to_string(s.home.join("server-config.toml"))?,
                    schema: schema.display().to_string(),
                    mcpd_env: s.env.clone(),
                };
                let mut agents = Vec::new();
                for _ in 0..max_n {
                    let a = direct.agent()?;
                    let thread = direct.turn(&a, None, prompt).await?.thread;
                    threads.push(thread.ok_or_else(no_thread)?);
                    agents.push(a);
                }
                Ok(Self::Local {
                    direct,
                    agents,
                    threads,
                    _dir: dir,
                })
            }
            Runtime::Docker => {
                let containers: Vec<String> =
                    (0..max_n).map(|i| s.scope().container(&agent(i))).collect();
                let engine = Engine::connect().await?;
                for c in &containers {
                    let (_, thread) = engine.turn(c, None, prompt).await?;
                    threads.push(thread.ok_or_else(no_thread)?);
                }
                Ok(Self::Docker {
                    engine,
                    containers,
                    threads,
                })
            }
            Runtime::Kubernetes => {
                anyhow::bail!("the concurrency bench measures the local and Docker runtimes only")
            }
        }
    }

    /// One warm turn of loop `w`; its duration.
    async fn turn(&self, w: usize, prompt: &str) -> anyhow::Result<Duration> {
        let took = match self {
            Self::Local {
                direct,
                agents,
                threads,
                ..
            } => {
                direct
                    .turn(&agents[w], Some(&threads[w]), prompt)
                    .await?
                    .took
            }
            Self::Docker {
                engine,
                containers,
                threads,
            } => {
                engine
                    .turn(&containers[w], Some(&threads[w]), prompt)
                    .await?
                    .0
            }
        };
        Ok(took)
    }
}
