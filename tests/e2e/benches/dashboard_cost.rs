//! Benchmark (not a test): what the dashboard costs `mcpd`. With two agents on the local
//! runtime (one chat call each), it reads mcpd's resident memory (`VmRSS`) and CPU time
//! (`utime + stime` from `/proc/<pid>/stat`) over `DASHBOARD_BENCH_SECONDS` (default 60)
//! idle before any page opened, the same span with one page's feed open
//! (`GET /dashboard/events`), and again after it closed. Targets (issue 15): RSS after a
//! page came and went within 1 MiB of the idle figure; no CPU time without a watcher.
//!
//! `cargo build --release -p mcpd && MCPD_BIN=target/release/mcpd cargo bench --profile
//! dev -p codex-mcp-e2e --bench dashboard_cost`

use std::time::{Duration, Instant};

use codex_mcp_e2e::dashboard_feed::Feed;
use codex_mcp_e2e::process_stats::rss_kib;
use codex_mcp_e2e::scripted::chat_answer;
use codex_mcp_e2e::{Runtime, Setup};
use serde_json::json;

/// CPU time (user + system) of `pid` so far, in clock ticks (10 ms on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    fields.iter().sum()
}

/// CPU time of `pid` over `span`, in milliseconds.
async fn cpu_ms_over(pid: u32, span: Duration) -> u64 {
    let before = cpu_ticks(pid);
    tokio::time::sleep(span).await;
    (cpu_ticks(pid) - before) * 10
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let secs: u64 = std::env::var("DASHBOARD_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let span = Duration::from_secs(secs);
    let Some(s) = Setup::start(Runtime::Local, "suggest", &[]).await else {
        anyhow::bail!("needs the pinned Codex CLI (crates/testkit fetches it)");
    };
    let pid = s
        .mcpd
        .pid()
        .ok_or_else(|| anyhow::anyhow!("mcpd has no pid"))?;
    for agent in ["bench-a", "bench-b"] {
        s.model.push(chat_answer("ok"));
        let reply = s
            .mcpd
            .call_tool("chat", json!({"message": "hello", "agent_id": agent}))
            .await?;
        anyhow::ensure!(reply.get("isError").is_none(), "{reply}");
    }
    tokio::time::sleep(Duration::from_secs(5)).await;

    let rss_idle = rss_kib(pid).unwrap_or(0);
    let cpu_idle = cpu_ms_over(pid, span).await;

    let mut feed = Feed::open(&s.mcpd.base, None).await?;
    let cpu_watched = cpu_ms_over(pid, span).await;
    let rss_watched = rss_kib(pid).unwrap_or(0);
    // How soon a call shows: from sending it to its `started` event, and from its reply
    // to its `finished` event (negative: the event came first).
    s.model.push(chat_answer("ok"));
    let sent = Instant::now();
    let reply = s
        .mcpd
        .call_tool("chat", json!({"message": "watched", "agent_id": "bench-a"}))
        .await?;
    let replied = Instant::now();
    anyhow::ensure!(reply.get("isError").is_none(), "{reply}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let events: Vec<(Instant, String)> = feed
        .received()
        .into_iter()
        .map(|e| {
            let label = match e.data["kind"].as_str() {
                Some(kind) if e.name == "call" => format!("call {kind}"),
                _ => e.name,
            };
            (e.at, label)
        })
        .collect();
    drop(feed);
    let at = |label: &str| events.iter().find(|(_, l)| l == label).map(|(t, _)| *t);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let started_ms = at("call started").map(|t| ms(t.duration_since(sent)));
    let finished_ms = at("call finished").map(|t| {
        if t >= replied {
            ms(t - replied)
        } else {
            -ms(replied - t)
        }
    });
    let samples: Vec<Instant> = events
        .iter()
        .filter(|(_, l)| l == "sample")
        .map(|(t, _)| *t)
        .collect();
    let mut gaps: Vec<f64> = samples.windows(2).map(|w| ms(w[1] - w[0])).collect();
    gaps.sort_by(f64::total_cmp);
    // The sampler stops within one interval (1 s) of the last page closing.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let rss_after = rss_kib(pid).unwrap_or(0);
    let cpu_after = cpu_ms_over(pid, span).await;
    let rss_end = rss_kib(pid).unwrap_or(0);

    println!("mcpd (local runtime, 2 agents), {secs} s per phase:");
    println!("  phase                         RSS (KiB)   CPU time (ms)");
    println!("  idle, no page yet             {rss_idle:>9}   {cpu_idle:>13}");
    println!("  one page watching             {rss_watched:>9}   {cpu_watched:>13}");
    println!("  after the page closed         {rss_after:>9}   {cpu_after:>13}");
    println!("  end of the idle phase after   {rss_end:>9}");
    println!(
        "  feed: {} samples, gap median {:.0} ms, max {:.0} ms; call started {:.1?} ms after it was sent, finished {:.1?} ms after its reply",
        samples.len(),
        gaps.get(gaps.len() / 2).copied().unwrap_or(f64::NAN),
        gaps.last().copied().unwrap_or(f64::NAN),
        started_ms,
        finished_ms
    );
    println!(
        "  RSS left by the page: {} KiB (target under 1024); CPU without a watcher: {cpu_idle} ms before, {cpu_after} ms after",
        i64::try_from(rss_after).unwrap_or(0) - i64::try_from(rss_idle).unwrap_or(0)
    );
    Ok(())
}
