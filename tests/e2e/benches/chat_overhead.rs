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
    fx.model.set_fallback(Reply::json(answer));

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
        ("LOG_LEVEL", "warn".to_string()),
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

    let mut through = Vec::new();
    let mut direct = Vec::new();
    for i in 0..n + 2 {
        // Alternate so load on the machine hits both sides alike; a new agent each time
        // so neither side carries a growing thread.
        let t = Instant::now();
        let r = mcpd
            .call_tool(
                "chat",
                json!({"message": "ping", "agent_id": format!("bench-{i}")}),
            )
            .await?;
        let elapsed = t.elapsed();
        anyhow::ensure!(r.get("isError").is_none(), "mcpd call failed: {r}");
        let mut cmd = fx.exec_command("read-only");
        cmd.args(["--output-schema", &schema_arg, "-"]);
        let t = Instant::now();
        let out = run_codex(cmd, &prepared.prompt, Duration::from_secs(60)).await?;
        let direct_elapsed = t.elapsed();
        anyhow::ensure!(out.code == Some(0), "direct codex failed: {}", out.stderr);
        if i >= 2 {
            through.push(elapsed);
            direct.push(direct_elapsed);
        }
    }
    let (m_through, m_direct) = (median(through), median(direct));
    println!(
        "chat through mcpd (local runtime), median of {n}: {:.1} ms",
        m_through.as_secs_f64() * 1e3
    );
    println!(
        "same codex exec run directly,     median of {n}: {:.1} ms",
        m_direct.as_secs_f64() * 1e3
    );
    println!(
        "ratio: {:.3} (target <= 1.05)",
        m_through.as_secs_f64() / m_direct.as_secs_f64()
    );
    Ok(())
}
