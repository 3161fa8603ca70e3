//! Benchmark (not a test): the median time of a `chat` call through `mcpd` against the
//! same `codex exec` run directly, both answered by the same scripted model, and their
//! ratio (target: at most 1.02). The direct side runs Codex exactly as mcpd does (see
//! [`Direct`]), so the ratio is what mcpd adds to a turn.
//!
//! Two threads of one model run at the speed the machine gives them, and a Codex
//! process's own time varies by several milliseconds from run to run. So the bench also
//! takes each side's time *outside* the Codex process: the call minus mcpd's `codex`
//! phase (spawn to exit, from mcpd's `turn phases` debug line), against the direct turn
//! minus its own spawn-to-exit. Their median pair difference is what mcpd adds, without
//! Codex's own spread (target: at most 3 ms). Each median pair difference comes with its
//! 95% interval, which says whether one run can judge a target at all.
//!
//! `cargo bench -p codex-mcp-e2e --bench chat_overhead` (builds mcpd first with
//! `cargo build --release -p mcpd`, or set MCPD_BIN). `CHAT_BENCH_ITERATIONS` (default 15);
//! mcpd logs at `info`, with debug for the turn service only (its `turn phases` line);
//! `CHAT_LOG_LEVEL` replaces that filter.

use std::time::Duration;

use codex_mcp_e2e::Mcpd;
use codex_mcp_e2e::bench::{
    Table, TurnPhases, answer_pong, chat_call, emit, env_or, median, median_f64, median_interval,
    median_pair_difference, ms, order_balanced_difference, pair_differences, percentile,
    phase_medians, ping_chat, quick, turn_phases, with_interval,
};
use codex_mcp_e2e::direct::{Direct, DirectAgent, DirectTurn};
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
        // line; debug for the turn service only: its `turn phases` line per turn.
        (
            "RUST_LOG",
            std::env::var("CHAT_LOG_LEVEL")
                .unwrap_or_else(|_| "info,codex_mcp_core::agents::turn=debug".into()),
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
            cold.1.push(done);
        }
        let (through, done) = pair(
            (&mcpd, "bench-warm"),
            (&direct, &warm_agent),
            thread.as_deref(),
            &prepared.prompt,
            mcpd_first,
        )
        .await?;
        thread = thread.or(done.thread.clone());
        if i >= 2 {
            warm.0.push(through);
            warm.1.push(done);
        }
    }
    // mcpd's `codex` phase of each measured turn, in call order: the cold turns by
    // their agents, the warm ones in the order they ran (the first two warmed up).
    let turns = turn_phases(&mcpd.log());
    let codex_phase = |t: &TurnPhases| {
        t.phases
            .iter()
            .find(|(name, _)| name == "codex")
            .map(|(_, ms)| *ms)
    };
    let cold_codex: Vec<Option<f64>> = (2..n + 2)
        .map(|i| {
            let agent = format!("bench-{i}");
            turns
                .iter()
                .find(|t| t.agent == agent)
                .and_then(codex_phase)
        })
        .collect();
    let warm_codex: Vec<Option<f64>> = turns
        .iter()
        .filter(|t| t.agent == "bench-warm")
        .skip(2)
        .map(codex_phase)
        .collect();

    let mut table = Table::new(&[
        "case (local runtime)",
        ">through mcpd, median (p99)",
        ">direct, median (p99)",
        ">ratio (target <= 1.02)",
        ">median pair difference (95% interval)",
        ">order-balanced",
        ">outside Codex: mcpd / direct",
        ">added by mcpd (target <= 3 ms; 95% interval)",
    ]);
    let mut figures = serde_json::Map::new();
    for (key, name, (through, direct), codex) in [
        ("cold", "cold (new agent per call)", cold, cold_codex),
        ("warm", "warm (one continuing chat)", warm, warm_codex),
    ] {
        let took: Vec<Duration> = direct.iter().map(|d| d.took).collect();
        let (m_through, m_direct) = (median(&through), median(&took));
        let ratio = ms(m_through) / ms(m_direct);
        let outside = Outside::of(&through, &codex, &direct);
        let difference = median_pair_difference(&through, &took);
        let interval = median_interval(pair_differences(&through, &took));
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
                ms(percentile(&took, 0.99))
            ),
            format!("{ratio:.3}"),
            with_interval(difference, interval),
            format!("{:+.1} ms", order_balanced_difference(&through, &took)),
            outside.as_ref().map_or("-".into(), |o| {
                format!("{:.1} / {:.1} ms", o.mcpd_median, o.direct_median)
            }),
            outside
                .as_ref()
                .map_or("-".into(), |o| with_interval(o.added, o.added_interval)),
        ]);
        figures.insert(
            key.into(),
            json!({
                "mcpd_ms": through.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
                "direct_ms": took.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
                "ratio": ratio,
                "median_pair_difference_ms": difference,
                "median_pair_difference_interval_ms": interval,
                "order_balanced_difference_ms": order_balanced_difference(&through, &took),
                "mcpd_codex_process_ms": codex,
                "direct_codex_process_ms": direct.iter().map(|d| ms(d.process)).collect::<Vec<_>>(),
                "added_outside_codex_ms": outside.as_ref().map(|o| o.added),
                "added_outside_codex_interval_ms": outside.as_ref().and_then(|o| o.added_interval),
            }),
        );
    }
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

/// Each side's time outside the Codex process: the call (or direct turn) minus its
/// process's spawn-to-exit.
struct Outside {
    /// Median of mcpd's, in ms.
    mcpd_median: f64,
    /// Median of the direct side's, in ms.
    direct_median: f64,
    /// Median pair difference (mcpd's minus the direct side's), in ms.
    added: f64,
    /// Its 95% interval ([`median_interval`]).
    added_interval: Option<(f64, f64)>,
}

impl Outside {
    /// `None` when mcpd's log lacks a turn's `codex` phase (a `CHAT_LOG_LEVEL` without
    /// the turn service's debug lines).
    fn of(through: &[Duration], codex: &[Option<f64>], direct: &[DirectTurn]) -> Option<Self> {
        if codex.len() != through.len() {
            return None;
        }
        let mcpd: Vec<f64> = through
            .iter()
            .zip(codex)
            .map(|(t, c)| c.map(|c| ms(*t) - c))
            .collect::<Option<_>>()?;
        let floor: Vec<f64> = direct.iter().map(|d| ms(d.took - d.process)).collect();
        let pairs: Vec<f64> = mcpd.iter().zip(&floor).map(|(a, b)| a - b).collect();
        Some(Self {
            mcpd_median: median_f64(mcpd),
            direct_median: median_f64(floor),
            added_interval: median_interval(pairs.clone()),
            added: median_f64(pairs),
        })
    }
}

/// One chat through mcpd and the same turn run directly (a fresh `codex exec` when
/// `resume` is `None`, else a resume of its thread), mcpd first when `mcpd_first`: the
/// order alternates, so whatever the first or second turn of a pair meets (a model
/// server just woken, caches warmed by the other) falls on both sides alike.
/// Returns the call's time and the direct turn.
async fn pair(
    (mcpd, agent): (&Mcpd, &str),
    (direct, direct_agent): (&Direct, &DirectAgent),
    resume: Option<&str>,
    prompt: &str,
    mcpd_first: bool,
) -> anyhow::Result<(Duration, DirectTurn)> {
    if mcpd_first {
        let through = chat_call(mcpd, agent).await?;
        Ok((through, direct.turn(direct_agent, resume, prompt).await?))
    } else {
        let done = direct.turn(direct_agent, resume, prompt).await?;
        Ok((chat_call(mcpd, agent).await?, done))
    }
}
