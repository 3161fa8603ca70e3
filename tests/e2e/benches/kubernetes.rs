//! Benchmark (not a test): the Kubernetes runtime against the Docker runtime, through
//! `mcpd`, the real Codex in the agents and the scripted model:
//! - the first `chat` call of a new agent (Kubernetes: three PVCs, the pod, its init
//!   container, both containers ready; Docker: volumes and the container), then the turn;
//! - warm `chat` calls of one agent whose pod or container runs.
//!
//! Two `mcpd`s, one per runtime, called alternately (Docker, then Kubernetes) so that load
//! from elsewhere falls on both sides alike. Agents get half a CPU and 1 GiB on both sides
//! (a pod requests a quarter of its limits per container: with a whole CPU, six agents'
//! pods would not fit the test cluster's two-core node and stay Pending).
//! The cluster is the test cluster (`scripts/k8s-cluster.sh`: one node, dockershim on the
//! same Docker engine, `hostNetwork` pods, hostPath PVCs).
//!
//! `cargo bench --profile dev -p codex-mcp-e2e --bench kubernetes` (`MCPD_BIN` for another
//! `mcpd` build). `BENCH_NEW_AGENTS` (default 5) new agents and `BENCH_ITERATIONS`
//! (default 15) warm calls per side (3 and 5 with `BENCH_QUICK=1`). Needs dockerd, the
//! agent image and the test cluster (started when needed).

use std::time::Duration;

use anyhow::Context as _;

use codex_mcp_e2e::bench::{
    Table, answer_pong, chat_call, emit, env_or, load_average, median, ms, percentile, quick,
};
use codex_mcp_e2e::{Runtime, Setup};
use serde_json::json;

fn fmt(times: &[Duration]) -> String {
    format!(
        "{:.0} ms (p99 {:.0})",
        ms(median(times)),
        ms(percentile(times, 0.99))
    )
}

async fn start(runtime: Runtime) -> anyhow::Result<Setup> {
    let extra = [
        ("LOG_LEVEL", "info".to_string()),
        ("CONTAINER_CPU_LIMIT", "0.5".to_string()),
        ("CONTAINER_MEMORY_LIMIT", "1g".to_string()),
    ];
    let s = Setup::start(runtime, "suggest", &extra)
        .await
        .ok_or_else(|| anyhow::anyhow!("{runtime:?}: Codex, Docker or the cluster is missing"))?;
    answer_pong(&s.model);
    Ok(s)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let new_agents = env_or("BENCH_NEW_AGENTS", if quick() { 3 } else { 5 });
    let n = env_or("BENCH_ITERATIONS", if quick() { 5 } else { 15 });
    let docker = start(Runtime::Docker).await?;
    let kube = start(Runtime::Kubernetes).await?;
    let sides = [&docker, &kube];

    // First calls of new agents, alternating.
    let mut first = [Vec::new(), Vec::new()];
    for i in 0..new_agents {
        for (side, s) in sides.iter().enumerate() {
            let call = chat_call(&s.mcpd, &format!("new-{i}")).await;
            first[side].push(call.with_context(|| format!("new agent on {:?}", s.runtime))?);
        }
    }
    let load_first = load_average();

    // Warm calls of one agent per side, alternating; its first call and one more unmeasured.
    let mut warm = [Vec::new(), Vec::new()];
    for i in 0..n + 2 {
        for (side, s) in sides.iter().enumerate() {
            let t = chat_call(&s.mcpd, "warm").await;
            let t = t.with_context(|| format!("warm call on {:?}", s.runtime))?;
            if i >= 2 {
                warm[side].push(t);
            }
        }
    }
    let load_warm = load_average();

    let ratio = |v: &[Vec<Duration>; 2]| ms(median(&v[1])) / ms(median(&v[0]));
    let mut table = Table::new(&[
        "call (through mcpd)",
        ">Docker runtime",
        ">Kubernetes runtime",
        ">Kubernetes / Docker (medians)",
        "load (1/5/15 min)",
    ]);
    table.row(&[
        format!("first call of a new agent, median of {new_agents}"),
        fmt(&first[0]),
        fmt(&first[1]),
        format!("{:.2}", ratio(&first)),
        load_first,
    ]);
    table.row(&[
        format!("warm `chat`, median of {n}"),
        fmt(&warm[0]),
        fmt(&warm[1]),
        format!("{:.2}", ratio(&warm)),
        load_warm,
    ]);
    let list = |v: &[Duration]| v.iter().map(|d| ms(*d)).collect::<Vec<_>>();
    emit(
        "kubernetes",
        &table,
        &[format!("mcpd: {}", codex_mcp_e2e::mcpd_bin().display())],
        json!({
            "first_docker_ms": list(&first[0]), "first_kubernetes_ms": list(&first[1]),
            "warm_docker_ms": list(&warm[0]), "warm_kubernetes_ms": list(&warm[1]),
        }),
    )
}
