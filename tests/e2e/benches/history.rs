//! Benchmark (not a test): how mcpd's server tools and start-up cost grow with a long
//! history. One store holds `HISTORY_AGENTS` agents (default 1,000) and
//! `HISTORY_CALLS` finished call records (default 500,000), written through the store
//! API (`SqliteStore`: `ensure_agent`, `start_call`, `finish_call`), never by SQL; another
//! is empty (one agent), and a third holds exactly one first page of `list_sessions`
//! (100 agents with 10 calls each, so its sessions look like the big store's). For each,
//! mcpd (local runtime) starts on it and answers `list_sessions` (first page),
//! `get_agent_status`, `list_active_agents` and `get_my_session_info` `HISTORY_REPEATS`
//! times (default 20) each, interleaved; the medians and the big store's ratio to the
//! smaller store that answers the same are printed (target: at most 2x), with mcpd's
//! start-up time (target: under 1 s) and the store's cost of recording one call. The
//! first page is compared with the one-page store (100 sessions on both; the empty store
//! has 1); `list_sessions` is also asked for one agent and for a page of one.
//! `HISTORY_DATA_DIR` keeps the stores there afterwards.
//!
//! `cargo build --release -p mcpd && MCPD_BIN=target/release/mcpd cargo bench --profile
//! dev -p codex-mcp-e2e --bench history`

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use codex_mcp_e2e::Mcpd;
use codex_mcp_e2e::bench::{Table, emit, env_or, median, ms, quick};
use codex_mcp_store::{
    AgentStatus, CallFinish, CallStart, CallStatus, NewAgent, SessionStore, SqliteStore,
};
use codex_mcp_testkit::CodexFixture;
use serde_json::json;

/// The stores compared: empty, one first page of `list_sessions`, the long history.
const STORES: usize = 3;

/// Agents in the one-page store: `list_sessions`' default page.
const PAGE: usize = 100;

/// Fills `data` with `agents` agents and `calls` finished calls spread over them, all
/// within the last day (inside the default 30-day retention, so start-up keeps them).
async fn fill(data: &Path, agents: usize, calls: usize) -> anyhow::Result<Duration> {
    let store = std::sync::Arc::new(SqliteStore::open(data)?);
    let start = Utc::now() - chrono::Duration::hours(20);
    for a in 0..agents {
        store
            .ensure_agent(NewAgent {
                id: format!("agent-{a}"),
                runtime: "local".into(),
                container: None,
                workspace: None,
                status: AgentStatus::Stopped,
                at: start,
            })
            .await?;
    }
    let per_task = calls.div_ceil(8);
    let mut tasks = Vec::new();
    for t in 0..8 {
        let store = std::sync::Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            for i in (t * per_task)..((t + 1) * per_task).min(calls) {
                let at = start + chrono::Duration::milliseconds(i as i64);
                let id = format!("call-{i}");
                store
                    .start_call(CallStart {
                        id: id.clone(),
                        agent_id: format!("agent-{}", i % agents.max(1)),
                        session_id: None,
                        tool: "chat".into(),
                        arguments_digest: "0".repeat(64),
                        thread_id: None,
                        started_at: at,
                    })
                    .await?;
                store
                    .finish_call(
                        &id,
                        CallFinish {
                            status: CallStatus::Succeeded,
                            finished_at: at + chrono::Duration::milliseconds(250),
                            error: None,
                            duration_ms: 250,
                            tokens_in: Some(1200),
                            tokens_out: Some(80),
                            thread_id: None,
                            output: None,
                        },
                    )
                    .await?;
            }
            anyhow::Ok(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    // The cost of recording one more call, on this store.
    let mut record = Vec::new();
    for i in 0..50 {
        let id = format!("timed-{i}");
        let t = Instant::now();
        store
            .start_call(CallStart {
                id: id.clone(),
                agent_id: "agent-0".into(),
                session_id: None,
                tool: "chat".into(),
                arguments_digest: "0".repeat(64),
                thread_id: None,
                started_at: Utc::now(),
            })
            .await?;
        store
            .finish_call(
                &id,
                CallFinish {
                    status: CallStatus::Succeeded,
                    finished_at: Utc::now(),
                    error: None,
                    duration_ms: 1,
                    tokens_in: None,
                    tokens_out: None,
                    thread_id: None,
                    output: None,
                },
            )
            .await?;
        record.push(t.elapsed());
    }
    Ok(median(&record))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let agents = env_or("HISTORY_AGENTS", 1000);
    let calls = env_or("HISTORY_CALLS", if quick() { 100_000 } else { 500_000 });
    let repeats = env_or("HISTORY_REPEATS", 20);
    let Some(fx) = CodexFixture::start().await? else {
        anyhow::bail!("the Codex CLI is not available");
    };
    // HISTORY_DATA_DIR keeps the stores afterwards (to profile them with sqlite3).
    let dir = tempfile::tempdir()?;
    let root = std::env::var_os("HISTORY_DATA_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.path().to_path_buf());
    let mut rows: Vec<(String, [Duration; STORES])> = Vec::new();
    let mut mcpds = Vec::new();
    let sizes = [(1, 0), (PAGE, PAGE * 10), (agents, calls)];
    for (k, (n_agents, n_calls)) in sizes.into_iter().enumerate() {
        let data = root.join(format!("data-{k}"));
        std::fs::create_dir_all(&data)?;
        let t = Instant::now();
        let record = fill(&data, n_agents, n_calls).await?;
        println!(
            "store {k}: {n_agents} agents, {n_calls} calls written through the store API in {:.1} s; file {:.1} MiB",
            t.elapsed().as_secs_f64(),
            std::fs::metadata(data.join("codex-mcp.db"))
                .map_or(0.0, |m| m.len() as f64 / 1048576.0)
        );
        let env = [
            ("CODEX_MCP_RUNTIME", "local".to_string()),
            ("CODEX_BIN", fx.codex.display().to_string()),
            ("CODEX_MCP_DATA_DIR", data.display().to_string()),
            ("OPENAI_API_KEY", "sk-bench".to_string()),
            ("LOG_LEVEL", "info".to_string()),
        ];
        let t = Instant::now();
        let mcpd = Mcpd::start(&env, dir.path()).await?;
        let startup = t.elapsed();
        push(&mut rows, "mcpd start-up (to /health)", k, startup);
        push(&mut rows, "record a call (store API)", k, record);
        mcpds.push(mcpd);
    }
    // Each probe with the store it is compared with: the smaller one that answers the same.
    let probes = [
        (
            "list_sessions (first page: 100 sessions)",
            "list_sessions",
            json!({}),
        ),
        (
            "list_sessions (one agent)",
            "list_sessions",
            json!({"agent_id": "agent-0"}),
        ),
        (
            "list_sessions (page of 1)",
            "list_sessions",
            json!({"limit": 1}),
        ),
        (
            "get_agent_status",
            "get_agent_status",
            json!({"agent_id": "agent-0"}),
        ),
        ("list_active_agents", "list_active_agents", json!({})),
        (
            "get_my_session_info",
            "get_my_session_info",
            json!({"agent_id": "agent-0"}),
        ),
    ];
    // The first page is a like-for-like comparison only if both pages are full.
    for mcpd in &mcpds[1..] {
        let page = mcpd.call_tool("list_sessions", json!({})).await?;
        let shown = page["structuredContent"]["sessions"]
            .as_array()
            .map_or(0, Vec::len);
        anyhow::ensure!(shown == PAGE, "a first page of {shown} sessions: {page}");
    }
    let mut times = vec![[(); STORES].map(|_| Vec::new()); probes.len()];
    for _ in 0..repeats + 2 {
        for (p, (_, tool, args)) in probes.iter().enumerate() {
            for (k, mcpd) in mcpds.iter().enumerate() {
                let t = Instant::now();
                let r = mcpd.call_tool(tool, args.clone()).await?;
                times[p][k].push(t.elapsed());
                anyhow::ensure!(r.get("isError").is_none(), "{tool} failed: {r}");
            }
        }
    }
    for ((name, _, _), per_store) in probes.iter().zip(times) {
        rows.push(((*name).to_string(), per_store.map(|t| median(&t[2..]))));
    }
    let page_header = format!(">{PAGE} agents, {} calls", PAGE * 10);
    let big_header = format!(">{agents} agents, {calls} calls");
    let mut table = Table::new(&[
        "operation",
        ">empty store",
        &page_header,
        &big_header,
        ">ratio (target <= 2)",
    ]);
    let mut figures = Vec::new();
    for (name, [empty, page, big]) in rows {
        // The first page shows 100 sessions only where there are 100 agents.
        let base = if name.contains("first page") {
            page
        } else {
            empty
        };
        let ratio = ms(big) / ms(base).max(1e-6);
        table.row(&[
            name.clone(),
            format!("{:.2} ms", ms(empty)),
            format!("{:.2} ms", ms(page)),
            format!("{:.2} ms", ms(big)),
            format!("{ratio:.2}"),
        ]);
        figures.push(json!({
            "operation": name,
            "empty_ms": ms(empty),
            "page_ms": ms(page),
            "big_ms": ms(big),
            "ratio": ratio,
        }));
    }
    let notes = [format!(
        "Medians of {repeats} calls of each server tool per store, interleaved; start-up \
         is one start (target < 1 s). The ratio is the big store's to the empty store's, \
         but for the first page of `list_sessions`: to the {PAGE}-agent store's, the \
         smallest that answers the same {PAGE} sessions."
    )];
    emit(
        "history",
        &table,
        &notes,
        json!({"agents": agents, "calls": calls, "rows": figures}),
    )
}

fn push(rows: &mut Vec<(String, [Duration; STORES])>, name: &str, k: usize, d: Duration) {
    match rows.iter_mut().find(|(n, _)| n == name) {
        Some((_, v)) => v[k] = d,
        None => {
            let mut v = [Duration::ZERO; STORES];
            v[k] = d;
            rows.push((name.to_string(), v));
        }
    }
}
