//! Prints the figures quoted in docs/runtime.md: how long a new agent takes to come up, the
//! round trip of running `true` in one, the idle memory of an agent container, and the same
//! round trip for the local backend.
//!
//! Run: `cargo bench -p codex-mcp-runtime --bench figures` with a Docker engine
//! (scripts/docker-setup.sh) and the agent image (scripts/build-agent-image.sh);
//! `BENCH_IMAGE` picks another image. Everything created is removed at the end.
// A benchmark is a measuring program, not library code: a failed setup step stops the run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use codex_mcp_runtime::docker::{DockerConfig, DockerRuntime};
use codex_mcp_runtime::local::{LocalConfig, LocalRuntime};
use codex_mcp_runtime::{AgentId, AgentRuntime, AgentSpec, ExecSpec};

fn summary(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "{name:<44} n={:<4} median {:>8.2} ms  p90 {:>8.2} ms  mean {:>8.2} ms  min {:>8.2} ms",
        samples.len(),
        ms(p(0.5)),
        ms(p(0.9)),
        ms(mean),
        ms(samples[0])
    );
}

async fn exec_true(rt: &dyn AgentRuntime, agent: &AgentId, n: usize) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let o = rt
            .exec(agent, ExecSpec::new(["true"]))
            .await
            .unwrap()
            .collect()
            .await;
        assert_eq!(o.code, Some(0));
        out.push(t.elapsed());
    }
    out
}

fn cleanup(run: &str) {
    let label = format!("label=codex-mcp.bench-run={run}");
    let ids = Command::new("docker")
        .args(["ps", "-aq", "--filter", &label])
        .output()
        .unwrap()
        .stdout;
    let ids: Vec<String> = String::from_utf8_lossy(&ids)
        .split_whitespace()
        .map(String::from)
        .collect();
    if !ids.is_empty() {
        Command::new("docker")
            .args(["rm", "-f"])
            .args(&ids)
            .output()
            .unwrap();
    }
    let vols = Command::new("docker")
        .args(["volume", "ls", "-q", "--filter", &label])
        .output()
        .unwrap()
        .stdout;
    let vols: Vec<String> = String::from_utf8_lossy(&vols)
        .split_whitespace()
        .map(String::from)
        .collect();
    if !vols.is_empty() {
        Command::new("docker")
            .args(["volume", "rm", "-f"])
            .args(&vols)
            .output()
            .unwrap();
    }
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // cargo bench --list
    }
    println!(
        "codex-mcp-runtime figures ({} CPUs)",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );

    // Local backend.
    let dir = std::env::temp_dir().join(format!("codex-mcp-bench-{}", std::process::id()));
    let local = LocalRuntime::new(LocalConfig::new(&dir));
    let a = AgentId::new("bench").unwrap();
    let t = Instant::now();
    local.ensure(&a, &AgentSpec::new()).await.unwrap();
    println!(
        "{:<44} {:>8.2} ms",
        "local: ensure (fresh agent)",
        t.elapsed().as_secs_f64() * 1000.0
    );
    summary(
        "local: exec `true` round trip",
        exec_true(&local, &a, 100).await,
    );
    std::fs::remove_dir_all(&dir).ok();

    // Docker backend.
    let image = std::env::var("BENCH_IMAGE").unwrap_or_else(|_| "codex-mcp-agent:latest".into());
    let run = format!("b{}", std::process::id());
    let cfg = DockerConfig::default()
        .with_image(&image)
        .with_network_mode("none")
        .with_name_prefix(format!("cmb-{run}-"))
        .with_label("codex-mcp.bench-run", &run);
    let _cleanup = Cleanup(run.clone());
    let rt = match DockerRuntime::connect(cfg).await {
        Ok(rt) => rt,
        Err(e) => {
            println!("docker: skipped: {e}");
            return;
        }
    };
    if let Err(e) = rt.probe().await {
        println!("docker: skipped: {e}");
        return;
    }
    println!("docker: image {image}");
    let agents: Vec<AgentId> = (0..5)
        .map(|i| AgentId::new(format!("bench-{i}")).unwrap())
        .collect();
    let mut fresh = Vec::new();
    for agent in &agents {
        let t = Instant::now();
        rt.ensure(agent, &AgentSpec::new()).await.unwrap();
        fresh.push(t.elapsed());
    }
    summary("docker: ensure, fresh agent (create+start)", fresh);
    let mut again = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        rt.ensure(&agents[0], &AgentSpec::new()).await.unwrap();
        again.push(t.elapsed());
    }
    summary("docker: ensure, running agent (check only)", again);
    summary(
        "docker: exec `true` round trip",
        exec_true(&rt, &agents[0], 50).await,
    );
    let mut writes = Vec::new();
    for i in 0..20 {
        let t = Instant::now();
        rt.write_file(
            &agents[0],
            &format!("/home/agent/.codex/f{i}"),
            b"{}",
            0o600,
        )
        .await
        .unwrap();
        writes.push(t.elapsed());
    }
    summary("docker: write_file (small file)", writes);
    let mut kills = Vec::new();
    for _ in 0..5 {
        let mut h = rt
            .exec(
                &agents[0],
                ExecSpec::new(["sh", "-c", "echo up; sleep 1000"]),
            )
            .await
            .unwrap();
        h.events.recv().await;
        let t = Instant::now();
        h.kill().await;
        kills.push(t.elapsed());
    }
    summary("docker: kill (SIGTERM honoured)", kills);

    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut status = Vec::new();
    let mut mem = Vec::new();
    for agent in &agents {
        let t = Instant::now();
        let st = rt.status(agent).await.unwrap().unwrap();
        status.push(t.elapsed());
        mem.push(st.memory_bytes.unwrap_or(0));
    }
    summary("docker: status with stats", status);
    mem.sort();
    println!(
        "{:<44} median {:.2} MiB (min {:.2}, max {:.2}) over {} idle containers",
        "docker: idle memory per container",
        mem[mem.len() / 2] as f64 / 1048576.0,
        mem[0] as f64 / 1048576.0,
        mem[mem.len() - 1] as f64 / 1048576.0,
        mem.len()
    );
    let mut removes = Vec::new();
    for agent in &agents {
        let t = Instant::now();
        rt.remove(agent, true).await.unwrap();
        removes.push(t.elapsed());
    }
    summary("docker: remove with purge", removes);
}

/// Removes what the run created, also when it panics.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        cleanup(&self.0);
    }
}
