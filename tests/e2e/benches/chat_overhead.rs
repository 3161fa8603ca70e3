//! Benchmark (not a test): the median time of a `chat` call through `mcpd` against the
//! same `codex exec` run directly, both answered by the same scripted model, and their
//! ratio (target: at most 1.02). The direct side runs Codex exactly as mcpd does (see
//! [`Direct`]), so the ratio is what mcpd adds to a turn.
//!
//! `cargo bench -p codex-mcp-e2e --bench chat_overhead` (builds mcpd first with
//! `cargo build --release -p mcpd`, or set MCPD_BIN). `CHAT_BENCH_ITERATIONS` (default 15);
//! `CHAT_LOG_LEVEL=debug` adds the median of each phase of mcpd's turns (`turn phases`).

use std::time::Duration;

use codex_mcp_e2e::Mcpd;
use codex_mcp_e2e::bench::{
    Table, answer_pong, chat_call, emit, env_or, median, median_pair_difference, ms, percentile,
    phase_medians, ping_chat, quick, turn_phases,
};
use codex_mcp_e2e::direct::{Direct, DirectAgent};
use codex_mcp_testkit::CodexFixture;
use serde_json::json;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n = env_or("CHAT_BENCH_ITERATIONS", if quick() { 5 } else { 15 });
    let Some(fx) = CodexFixture::start().await? else {
        anyhow::bail!("the Codex CLI is not available");
    };
    answer_pong(&fx.model);

    // Outside the system temp dir, as the direct side's agents are (Codex treats a home
    // under it differently) and as a deployed mcpd's data dir is.
    let dir = codex_mcp_testkit::temp_dir("chat-overhead")?;
    let config = dir.path().join("config.toml");
    std::fs::write(&config, fx.home.config_toml())?;
    let data = dir.path().join("data");
    // A home of its own, as a deployed mcpd has: Codex starts a login shell in `HOME`,
    // and the bench's own (a developer's, with a version manager's `init` in its shell
    // start-up files) would add its noise to both sides. `Direct` gets the same one.
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home)?;
    let env = [
        ("HOME", home.display().to_string()),
        ("CODEX_MCP_RUNTIME", "local".to_string()),
        ("CODEX_BIN", fx.codex.display().to_string()),
        ("CODEX_MCP_DATA_DIR", data.display().to_string()),
        ("CODEX_MCP_CODEX_CONFIG", config.display().to_string()),
        ("OPENAI_API_KEY", "sk-bench".to_string()),
        // info at least: the harness reads the listening address from mcpd's startup
        // line. CHAT_LOG_LEVEL=debug: each turn's phases, summed up below the table.
        (
            "LOG_LEVEL",
            std::env::var("CHAT_LOG_LEVEL").unwrap_or_else(|_| "info".into()),
        ),
    ];
    let mcpd = Mcpd::start(&env, dir.path()).await?;

    // The same prompt and schema mcpd gives Codex, run directly.
    let prepared = ping_chat()?;
    let schema = dir.path().join("chat-schema.json");
    std::fs::write(&schema, serde_json::to_vec(&prepared.codex_output_schema)?)?;
    let direct = Direct {
        codex: fx.codex.clone(),
        config_toml: fx.home.config_toml(),
        schema: schema.display().to_string(),
        mcpd_env: env.to_vec(),
    };

    // Two scenarios. "cold": a new agent every call (mcpd creates its folders and writes
    // its Codex home first) against a fresh `codex exec`. "warm": one agent whose chat
    // conversation continues, against `codex exec resume` of one thread; both threads grow
    // alike. Calls alternate, in an order that alternates too, so machine load hits both
    // sides the same.
    let mut cold = (Vec::new(), Vec::new());
    let mut warm = (Vec::new(), Vec::new());
    let warm_agent = direct.agent()?;
    let mut thread: Option<String> = None;
    for i in 0..n + 2 {
        let agent = format!("bench-{i}");
        let cold_agent = direct.agent()?;
        let mcpd_first = i % 2 == 0;
        let (through, done) = pair(
            (&mcpd, &agent),
            (&direct, &cold_agent),
            None,
            &prepared.prompt,
            mcpd_first,
        )
        .await?;
        if i >= 2 {
            cold.0.push(through);
            cold.1.push(done.0);
        }
        let (through, done) = pair(
            (&mcpd, "bench-warm"),
            (&direct, &warm_agent),
            thread.as_deref(),
            &prepared.prompt,
            mcpd_first,
        )
        .await?;
        thread = thread.or(done.1);
        if i >= 2 {
            warm.0.push(through);
            warm.1.push(done.0);
        }
    }
    let mut table = Table::new(&[
        "case (local runtime)",
        ">through mcpd, median (p99)",
        ">direct, median (p99)",
        ">ratio (target <= 1.02)",
        ">median pair difference",
    ]);
    let mut figures = serde_json::Map::new();
    for (key, name, (through, direct)) in [
        ("cold", "cold (new agent per call)", cold),
        ("warm", "warm (one continuing chat)", warm),
    ] {
        let (m_through, m_direct) = (median(&through), median(&direct));
        let ratio = ms(m_through) / ms(m_direct);
        table.row(&[
            format!("{name}, {n} pairs"),
            format!(
                "{:.1} ms ({:.1})",
                ms(m_through),
                ms(percentile(&through, 0.99))
            ),
            format!(
                "{:.1} ms ({:.1})",
                ms(m_direct),
                ms(percentile(&direct, 0.99))
            ),
            format!("{ratio:.3}"),
            format!("{:+.1} ms", median_pair_difference(&through, &direct)),
        ]);
        figures.insert(
            key.into(),
            json!({
                "mcpd_ms": through.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
                "direct_ms": direct.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
                "ratio": ratio,
                "median_pair_difference_ms": median_pair_difference(&through, &direct),
            }),
        );
    }
    let turns = turn_phases(&mcpd.log());
    let notes: Vec<String> = [("cold", false), ("warm", true)]
        .into_iter()
        .filter_map(|(case, warm)| {
            let of_case: Vec<_> = turns
                .iter()
                .filter(|t| (t.agent == "bench-warm") == warm)
                .cloned()
                .collect();
            phase_medians(&of_case).map(|m| format!("mcpd's phases, {case}, medians: {m}"))
        })
        .collect();
    emit("chat_overhead", &table, &notes, figures.into())
}

/// One chat through mcpd and the same turn run directly (a fresh `codex exec` when
/// `resume` is `None`, else a resume of its thread), mcpd first when `mcpd_first`: the
/// order alternates, so whatever the first or second turn of a pair meets (a model
/// server just woken, caches warmed by the other) falls on both sides alike.
/// Returns both times and the direct run's thread id.
async fn pair(
    (mcpd, agent): (&Mcpd, &str),
    (direct, direct_agent): (&Direct, &DirectAgent),
    resume: Option<&str>,
    prompt: &str,
    mcpd_first: bool,
) -> anyhow::Result<(Duration, (Duration, Option<String>))> {
    if mcpd_first {
        let through = chat_call(mcpd, agent).await?;
        Ok((through, direct.turn(direct_agent, resume, prompt).await?))
    } else {
        let done = direct.turn(direct_agent, resume, prompt).await?;
        Ok((chat_call(mcpd, agent).await?, done))
    }
}
