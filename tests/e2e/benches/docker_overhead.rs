//! Benchmark (not a test) of agents on the Docker runtime, through `mcpd`:
//! - the median of a warm `chat` call (a continuing conversation in a running container)
//!   against the same Codex turn run by `docker exec` directly in that container (target
//!   ratio at most 1.05);
//! - the first-call time of a new agent, container creation included (target < 1.5 s);
//! - the memory of an idle agent container (`docker stats`).
//!
//! `cargo build --release -p mcpd && MCPD_BIN=target/release/mcpd cargo bench -p
//! codex-mcp-e2e --bench docker_overhead`. `BENCH_ITERATIONS` (default 15) warm pairs,
//! `BENCH_NEW_AGENTS` (default 8) new agents. Needs dockerd and `codex-mcp-agent:latest`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use codex_mcp_e2e::docker::{docker_ok, docker_ready_or_skip};
use codex_mcp_e2e::{Runtime, Setup};
use codex_mcp_testkit::Reply;
use serde_json::json;
use tokio::io::AsyncWriteExt as _;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = env_number("BENCH_ITERATIONS", 15);
    let new_agents = env_number("BENCH_NEW_AGENTS", 8);
    anyhow::ensure!(
        docker_ready_or_skip(),
        "Docker or the agent image is missing"
    );
    let s = Setup::start(Runtime::Docker, "suggest", &[("LOG_LEVEL", "warn".into())])
        .await
        .ok_or_else(|| anyhow::anyhow!("the Codex CLI is not available"))?;
    let answer = json!({"reply": "pong", "follow_up_suggestions": [], "referenced_files": []});
    s.model.set_fallback(Reply::json(answer));

    // First calls of new agents: container, volumes, Codex home files, then the turn.
    let mut first = Vec::new();
    for i in 0..new_agents {
        first.push(chat(&s, &format!("new-{i}")).await?);
    }

    // Warm: one agent's continuing chat against `codex exec resume` of a thread of its
    // own in the same container, alternating.
    chat(&s, "warm").await?;
    let container = s.scope().container("warm");
    let prepared = codex_mcp_tools::prepare(
        "chat",
        json!({"message": "ping"})
            .as_object()
            .ok_or_else(|| anyhow::anyhow!("args"))?,
    )?;
    let (_, thread) = direct(&container, None, &prepared.prompt).await?;
    let thread = thread.ok_or_else(|| anyhow::anyhow!("no thread from the direct run"))?;
    let (mut through, mut straight) = (Vec::new(), Vec::new());
    for i in 0..n + 2 {
        let t = chat(&s, "warm").await?;
        let (d, _) = direct(&container, Some(&thread), &prepared.prompt).await?;
        if i >= 2 {
            through.push(t);
            straight.push(d);
        }
    }

    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = idle_memory(&s)?;

    let (m_through, m_direct) = (median(through), median(straight));
    println!("Docker runtime, {} CPU cores:", num_cpus());
    println!(
        "  first call of a new agent (container included), median of {new_agents}: {} (max {}; target < 1.5 s)",
        ms(median(first.clone())),
        ms(first.iter().copied().max().unwrap_or_default())
    );
    println!("  warm chat through mcpd, median of {n}: {}", ms(m_through));
    println!(
        "  same turn by docker exec, median of {n}: {}",
        ms(m_direct)
    );
    println!(
        "  ratio: {:.3} (target <= 1.05)",
        m_through.as_secs_f64() / m_direct.as_secs_f64()
    );
    println!(
        "  idle agent container memory, median of {}: {:.1} MiB (min {:.1}, max {:.1})",
        idle.len(),
        idle[idle.len() / 2],
        idle[0],
        idle[idle.len() - 1]
    );
    Ok(())
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// One `chat` call through mcpd; its duration.
async fn chat(s: &Setup, agent: &str) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let r = s
        .mcpd
        .call_tool("chat", json!({"message": "ping", "agent_id": agent}))
        .await?;
    let took = t.elapsed();
    anyhow::ensure!(r.get("isError").is_none(), "mcpd call failed: {r}");
    Ok(took)
}

/// The turn mcpd runs, by `docker exec` in `container`: a new thread, or a resume of
/// `thread`. Returns its duration and the thread id.
async fn direct(
    container: &str,
    thread: Option<&str>,
    prompt: &str,
) -> anyhow::Result<(Duration, Option<String>)> {
    let mut args = vec!["exec", "-i", container, "codex", "exec"];
    if let Some(t) = thread {
        args.extend(["resume", t]);
    }
    args.extend([
        "--json",
        "--skip-git-repo-check",
        "--output-schema",
        "/home/agent/.codex/codex-mcp/schemas/chat.json",
        "--dangerously-bypass-approvals-and-sandbox",
    ]);
    if thread.is_none() {
        args.extend(["-C", "/workspace"]);
    }
    args.push("-");
    let t = Instant::now();
    let mut child = tokio::process::Command::new("docker")
        .args(&args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(prompt.as_bytes()).await?;
    }
    let out = child.wait_with_output().await?;
    let took = t.elapsed();
    anyhow::ensure!(
        out.status.success(),
        "direct run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let thread = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|e| e["type"] == "thread.started")
        .and_then(|e| e["thread_id"].as_str().map(str::to_string));
    Ok((took, thread))
}

/// Memory in use (MiB) of every agent container of this run, sorted, from one
/// `docker stats` sample.
fn idle_memory(s: &Setup) -> anyhow::Result<Vec<f64>> {
    let ids = s.scope().containers();
    let mut args = vec!["stats", "--no-stream", "--format", "{{.MemUsage}}"];
    args.extend(ids.iter().map(String::as_str));
    let out = docker_ok(&args)?;
    let mut mib: Vec<f64> = out
        .lines()
        .filter_map(|l| l.split('/').next())
        .filter_map(|used| {
            let used = used.trim();
            let (num, unit) = used.split_at(used.find(|c: char| c.is_ascii_alphabetic())?);
            let n: f64 = num.parse().ok()?;
            Some(match unit {
                "GiB" => n * 1024.0,
                "MiB" => n,
                "KiB" => n / 1024.0,
                _ => n / (1024.0 * 1024.0),
            })
        })
        .collect();
    anyhow::ensure!(!mib.is_empty(), "no docker stats: {out}");
    mib.sort_by(f64::total_cmp);
    Ok(mib)
}
