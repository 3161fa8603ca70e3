//! Benchmark (not a test): the median time of a `chat` call through `mcpd` against the
//! same `codex exec` run directly, both answered by the same scripted model, and their
//! ratio (target: at most 1.05).
//!
//! `cargo bench -p codex-mcp-e2e --bench chat_overhead` (builds mcpd first with
//! `cargo build --release -p mcpd`, or set MCPD_BIN). `CHAT_BENCH_ITERATIONS` (default 15).

use std::time::{Duration, Instant};

use codex_mcp_e2e::Mcpd;
use codex_mcp_testkit::{CodexFixture, Reply, run_codex};
use serde_json::json;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("CHAT_BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let Some(fx) = CodexFixture::start().await? else {
        anyhow::bail!("the Codex CLI is not available");
    };
    let answer = json!({"reply": "pong", "follow_up_suggestions": [], "referenced_files": []});
    fx.model.set_fallback(Reply::json(answer.clone()));

    let dir = tempfile::tempdir()?;
    let config = dir.path().join("config.toml");
    std::fs::write(&config, fx.home.config_toml())?;
    let data = dir.path().join("data");
    let env = [
        ("CODEX_MCP_RUNTIME", "local".to_string()),
        ("CODEX_BIN", fx.codex.display().to_string()),
        ("CODEX_MCP_DATA_DIR", data.display().to_string()),
        ("CODEX_MCP_CODEX_CONFIG", config.display().to_string()),
        ("OPENAI_API_KEY", "sk-bench".to_string()),
        // info: the harness reads the listening address from mcpd's startup line.
        ("LOG_LEVEL", "info".to_string()),
    ];
    let mcpd = Mcpd::start(&env, dir.path()).await?;

    // The same prompt and schema mcpd gives Codex, run directly.
    let args = json!({"message": "ping"});
    let prepared = codex_mcp_tools::prepare(
        "chat",
        args.as_object().ok_or_else(|| anyhow::anyhow!("args"))?,
    )?;
    let schema = dir.path().join("chat-schema.json");
    std::fs::write(&schema, serde_json::to_vec(&prepared.codex_output_schema)?)?;
    let schema_arg = schema.display().to_string();

    // Two scenarios. "cold": a new agent every call (mcpd creates its folders and writes
    // its Codex home first) against a fresh `codex exec`. "warm": one agent whose chat
    // conversation continues, against `codex exec resume` of one thread; both threads grow
    // alike. Calls alternate so machine load hits both sides the same.
    let mut cold = (Vec::new(), Vec::new());
    let mut warm = (Vec::new(), Vec::new());
    let warm_fx = fresh_fixture(&answer).await?;
    let mut thread: Option<String> = None;
    for i in 0..n + 2 {
        let agent = format!("bench-{i}");
        let cold_fx = fresh_fixture(&answer).await?;
        let (through, direct) =
            pair(&mcpd, &cold_fx, &agent, None, &schema_arg, &prepared.prompt).await?;
        if i >= 2 {
            cold.0.push(through);
            cold.1.push(direct.0);
        }
        let (through, direct) = pair(
            &mcpd,
            &warm_fx,
            "bench-warm",
            Some(thread.as_deref()),
            &schema_arg,
            &prepared.prompt,
        )
        .await?;
        thread = thread.or(direct.1);
        if i >= 2 {
            warm.0.push(through);
            warm.1.push(direct.0);
        }
    }
    for (name, (through, direct)) in [
        ("cold (new agent per call)", cold),
        ("warm (one continuing chat)", warm),
    ] {
        let (m_through, m_direct) = (median(through), median(direct));
        println!("{name}:");
        println!(
            "  chat through mcpd (local runtime), median of {n}: {:.1} ms",
            m_through.as_secs_f64() * 1e3
        );
        println!(
            "  same codex exec run directly,      median of {n}: {:.1} ms",
            m_direct.as_secs_f64() * 1e3
        );
        println!(
            "  ratio: {:.3} (target <= 1.05)",
            m_through.as_secs_f64() / m_direct.as_secs_f64()
        );
    }
    Ok(())
}

/// One chat through mcpd, then the same turn run directly: a fresh `codex exec`
/// (`resume == None`), or a resume of `resume`'s thread (a new one on its first call).
/// Returns both times and the direct run's thread id.
async fn pair(
    mcpd: &Mcpd,
    fx: &CodexFixture,
    agent: &str,
    resume: Option<Option<&str>>,
    schema: &str,
    prompt: &str,
) -> anyhow::Result<(Duration, (Duration, Option<String>))> {
    let t = Instant::now();
    let r = mcpd
        .call_tool("chat", json!({"message": "ping", "agent_id": agent}))
        .await?;
    let through = t.elapsed();
    anyhow::ensure!(r.get("isError").is_none(), "mcpd call failed: {r}");
    let mut cmd = match resume {
        Some(Some(thread)) => fx.resume_command(thread, "read-only"),
        _ => fx.exec_command("read-only"),
    };
    cmd.args(["--output-schema", schema, "-"]);
    let t = Instant::now();
    let out = run_codex(cmd, prompt, Duration::from_secs(60)).await?;
    let direct = t.elapsed();
    anyhow::ensure!(out.code == Some(0), "direct codex failed: {}", out.stderr);
    Ok((through, (direct, out.thread_id().map(str::to_string))))
}

/// A Codex home of its own (and a scripted model answering `answer`) for the direct
/// runs, so the direct side, like each mcpd agent, does not share a home with other runs.
async fn fresh_fixture(answer: &serde_json::Value) -> anyhow::Result<CodexFixture> {
    let fx = CodexFixture::start()
        .await?
        .ok_or_else(|| anyhow::anyhow!("the Codex CLI is not available"))?;
    fx.model.set_fallback(Reply::json(answer.clone()));
    Ok(fx)
}
