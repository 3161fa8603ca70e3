//! Benchmark (not a test): the first call of a new agent on the Docker runtime (volumes,
//! container create and start, the Codex home files, then the turn) against its floor,
//! `docker run` of the agent image doing the same Codex turn (its Codex home bind-mounted
//! with the same `config.toml`, `auth.json` and schema). Target: at most the floor +
//! 0.6 s. Then N new agents at once against N such `docker run`s at once.
//!
//! One at a time, the two sides alternate; at once, the two batches run one after the
//! other. Every model request goes to one scripted model; containers use network `host`
//! (to reach it on 127.0.0.1) and one CPU each, as mcpd's.
//!
//! `cargo build --release -p mcpd && MCPD_BIN=target/release/mcpd cargo bench --profile
//! dev -p codex-mcp-e2e --bench cold_start`. `COLD_ITERATIONS` (default 6; quick 3),
//! `COLD_AT_ONCE` (default 10; quick 5), `COLD_LOG_LEVEL=debug` (prints mcpd's per-turn
//! phases).

use std::path::Path;
use std::time::{Duration, Instant};

use codex_mcp_e2e::bench::{
    Table, answer_pong, chat_call, emit, env_or, load_average, median, ms, ping_chat, quick,
    timed_with_stdin,
};
use codex_mcp_e2e::docker::{AGENT_IMAGE, docker_ready_or_skip};
use codex_mcp_e2e::{Runtime, Setup};
use serde_json::json;

/// The floor's Codex home: what mcpd puts in an agent's, in a host folder the agent user
/// (uid 1000) can write.
fn floor_home(dir: &Path, config_toml: &str, schema: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("config.toml"), config_toml)?;
    std::fs::write(dir.join("auth.json"), br#"{"OPENAI_API_KEY":"sk-bench"}"#)?;
    std::fs::write(dir.join("schema.json"), schema)?;
    for f in ["config.toml", "auth.json", "schema.json"] {
        std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o666))?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777))?;
    Ok(())
}

/// `docker run --rm -i` of the agent image running the Codex turn with `home` as its
/// Codex home; its duration.
async fn docker_run_turn(home: &Path, label: &str, prompt: &str) -> anyhow::Result<Duration> {
    let mount = format!("{}:/home/agent/.codex", home.display());
    let mut cmd = tokio::process::Command::new("docker");
    cmd.args([
        "run",
        "--rm",
        "-i",
        "--network",
        "host",
        "--cpus",
        "1",
        "--memory",
        "1g",
        "--label",
        label,
        "-e",
        "CODEX_HOME=/home/agent/.codex",
        "-v",
        &mount,
        AGENT_IMAGE,
        "codex",
        "exec",
        "--json",
        "--skip-git-repo-check",
        "--output-schema",
        "/home/agent/.codex/schema.json",
        "--dangerously-bypass-approvals-and-sandbox",
        "-C",
        "/workspace",
        "-",
    ]);
    Ok(timed_with_stdin(&mut cmd, prompt).await?.0)
}

fn fmt(times: &[Duration]) -> String {
    let max = times.iter().copied().max().unwrap_or_default();
    format!("{:.0} ms (max {:.0})", ms(median(times)), ms(max))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let iterations = env_or("COLD_ITERATIONS", if quick() { 3 } else { 6 });
    let at_once = env_or("COLD_AT_ONCE", if quick() { 5 } else { 10 });
    anyhow::ensure!(
        docker_ready_or_skip(),
        "Docker or the agent image is missing"
    );
    let s = Setup::start(
        Runtime::Docker,
        "suggest",
        &[
            // COLD_LOG_LEVEL=debug: mcpd logs each turn's phases (`turn phases`), printed
            // at the end, to see where a first call's time goes.
            (
                "LOG_LEVEL",
                std::env::var("COLD_LOG_LEVEL").unwrap_or_else(|_| "info".into()),
            ),
            (
                "MAX_CONCURRENT_SESSIONS",
                (at_once + iterations + 1).to_string(),
            ),
        ],
    )
    .await
    .ok_or_else(|| anyhow::anyhow!("the Codex CLI is not available"))?;
    answer_pong(&s.model);
    let prepared = ping_chat()?;
    let config = std::fs::read_to_string(s.home.join("server-config.toml"))?;
    let schema = serde_json::to_vec(&prepared.codex_output_schema)?;
    let dir = tempfile::tempdir()?;
    // The floor's containers carry the run's label, so the scope removes any left over.
    let label = format!("codex-mcp.instance={}", s.scope().instance);

    // Warm the engine and the page cache for both sides.
    chat_call(&s.mcpd, "warmup").await?;
    floor_home(&dir.path().join("warmup"), &config, &schema)?;
    docker_run_turn(&dir.path().join("warmup"), &label, &prepared.prompt).await?;

    let (mut through, mut floor) = (Vec::new(), Vec::new());
    for i in 0..iterations {
        through.push(chat_call(&s.mcpd, &format!("new-{i}")).await?);
        let home = dir.path().join(format!("floor-{i}"));
        floor_home(&home, &config, &schema)?;
        floor.push(docker_run_turn(&home, &label, &prepared.prompt).await?);
    }
    let load_one = load_average();

    // N at once: wall time of the whole batch, and each call's time.
    let t = Instant::now();
    let calls = (0..at_once).map(|i| {
        let s = &s;
        async move { chat_call(&s.mcpd, &format!("burst-{i}")).await }
    });
    let burst: Vec<Duration> = futures::future::join_all(calls)
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let burst_wall = t.elapsed();
    for i in 0..at_once {
        floor_home(&dir.path().join(format!("burst-{i}")), &config, &schema)?;
    }
    let t = Instant::now();
    let runs = (0..at_once).map(|i| {
        let home = dir.path().join(format!("burst-{i}"));
        let (label, prompt) = (&label, prepared.prompt.as_str());
        async move { docker_run_turn(&home, label, prompt).await }
    });
    let floor_burst: Vec<Duration> = futures::future::join_all(runs)
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let floor_wall = t.elapsed();
    let load_burst = load_average();

    for line in s.mcpd.log().lines().filter(|l| l.contains("turn phases")) {
        eprintln!("{line}");
    }
    let one_extra = ms(median(&through)) - ms(median(&floor));
    let mut table = Table::new(&[
        "case (Docker runtime)",
        ">new agent through mcpd",
        ">`docker run` + the turn",
        ">mcpd - floor (target <= 600 ms)",
        "load (1/5/15 min)",
    ]);
    table.row(&[
        format!("one at a time, median of {iterations}"),
        fmt(&through),
        fmt(&floor),
        format!("{one_extra:+.0} ms"),
        load_one,
    ]);
    table.row(&[
        format!("{at_once} at once, each call's median"),
        fmt(&burst),
        fmt(&floor_burst),
        format!("{:+.0} ms", ms(median(&burst)) - ms(median(&floor_burst))),
        load_burst.clone(),
    ]);
    table.row(&[
        format!("{at_once} at once, until the last answered"),
        format!("{:.0} ms", ms(burst_wall)),
        format!("{:.0} ms", ms(floor_wall)),
        format!("{:+.0} ms", ms(burst_wall) - ms(floor_wall)),
        load_burst,
    ]);
    let list = |v: &[Duration]| v.iter().map(|d| ms(*d)).collect::<Vec<_>>();
    emit(
        "cold_start",
        &table,
        &[],
        json!({
            "one_mcpd_ms": list(&through), "one_floor_ms": list(&floor),
            "burst_mcpd_ms": list(&burst), "burst_floor_ms": list(&floor_burst),
            "burst_mcpd_wall_ms": ms(burst_wall), "burst_floor_wall_ms": ms(floor_wall),
        }),
    )
}
