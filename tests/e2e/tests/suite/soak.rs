//! Soak: many agents calling at once through one `mcpd` (local runtime, the real Codex,
//! the scripted model), with calls abandoned by their client (the HTTP stream closed
//! mid-call) and invalid calls mixed in. Afterwards the store holds exactly the calls
//! made (by status), and nothing is left behind: no Codex process, no request in flight,
//! no extra file descriptor, and mcpd's RSS flat (the curve is printed).
//!
//! `SOAK_AGENTS` (default 20) agents each make `SOAK_CALLS` (default 5) calls; CI runs
//! the default. The long run: `SOAK_CALLS=100 cargo nextest run -p codex-mcp-e2e --test
//! soak --no-capture` (figures in docs/benchmarks.md).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use codex_mcp_e2e::process_stats::{Sampler, curve, fd_count, rss_kib};
use codex_mcp_e2e::scripted::chat_answer;
use codex_mcp_e2e::setup::host_codex_processes;
use codex_mcp_e2e::{Mcpd, Runtime, Setup};
use codex_mcp_store::{SessionStore as _, SqliteStore};
use codex_mcp_testkit::Reply;
use pretty_assertions::assert_eq;
use serde_json::json;

/// A whole-number setting from the environment, or `default`.
fn setting(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?}: expected a whole number")),
        Err(_) => default,
    }
}

/// What one call of the mix is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A chat that succeeds.
    Chat,
    /// A chat whose model never answers; the client closes the stream once Codex asked.
    Abandoned,
    /// A chat without its required `message`: refused before anything runs.
    Invalid,
}

fn kind_of(i: usize) -> Kind {
    match i % 5 {
        1 => Kind::Abandoned,
        3 => Kind::Invalid,
        _ => Kind::Chat,
    }
}

/// Makes call `i` of `agent` on its own connection pool; returns its kind when it ended
/// as that kind should.
async fn one_call(s: &Setup, http: &reqwest::Client, agent: &str, i: usize) -> Kind {
    let kind = kind_of(i);
    match kind {
        Kind::Chat => {
            let r = s
                .mcpd
                .call_tool_via(
                    http,
                    "chat",
                    json!({"message": format!("call {i} of {agent}"), "agent_id": agent}),
                    None,
                )
                .await
                .unwrap_or_else(|e| panic!("{agent} call {i}: {e}"));
            assert_eq!(r.get("isError"), None, "{agent} call {i}: {r}");
        }
        Kind::Invalid => {
            let r = s
                .mcpd
                .call_tool_via(http, "chat", json!({"agent_id": agent}), None)
                .await;
            let text = match r {
                Ok(r) => r.to_string(),
                Err(e) => e.to_string(),
            };
            assert!(
                text.contains("message"),
                "the missing argument is named: {text}"
            );
        }
        Kind::Abandoned => {
            let tag = format!("HANG {agent} {i}");
            let call = s.mcpd.call_tool_via(
                http,
                "chat",
                json!({"message": tag, "agent_id": agent}),
                None,
            );
            let asked = async {
                loop {
                    let seen = s
                        .model
                        .responses_requests()
                        .iter()
                        .any(|r| r.last_user_text().is_some_and(|t| t.contains(&tag)));
                    if seen {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            };
            tokio::select! {
                r = call => panic!("{agent} call {i} should hang: {r:?}"),
                () = asked => {} // dropping `call` closes its stream
            }
        }
    }
    kind
}

/// Waits up to `within` for `check` to hold, then asserts it with `what`.
async fn eventually(within: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `mcpd_requests_in_flight` and `mcpd_streams_open` from `/metrics`.
async fn in_flight(mcpd: &Mcpd) -> (u64, u64) {
    let text = reqwest::get(format!("{}/metrics", mcpd.base))
        .await
        .and_then(|r| r.error_for_status())
        .unwrap()
        .text()
        .await
        .unwrap();
    let gauge = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(u64::MAX)
    };
    (gauge("mcpd_requests_in_flight"), gauge("mcpd_streams_open"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_agents_with_abandoned_and_invalid_calls_leave_nothing_behind() {
    let agents = setting("SOAK_AGENTS", 20);
    let calls = setting("SOAK_CALLS", 5);
    let Some(mut s) = Setup::start(Runtime::Local, "suggest", &[]).await else {
        return;
    };
    s.model.set_fallback(Reply::from_fn(|r| {
        // Only the newest prompt: a resumed thread repeats the earlier ones.
        if r.last_user_text().is_some_and(|t| t.contains("HANG")) {
            Reply::hang()
        } else {
            chat_answer("ok")
        }
    }));
    let pid = s.mcpd.pid().unwrap();
    let names: Vec<String> = (0..agents).map(|a| format!("soak{a:02}")).collect();

    // Warm-up: every agent exists and mcpd's pools are filled; then the baseline.
    {
        let http = reqwest::Client::new();
        let warm = names.iter().map(|a| one_call(&s, &http, a, 0));
        futures::future::join_all(warm).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let base_fds = fd_count(pid).unwrap();
    let base_rss = rss_kib(pid).unwrap();
    let sampler = Sampler::start(pid, Duration::from_millis(250));

    let started = Instant::now();
    let runs = names.iter().map(|agent| {
        let s = &s;
        async move {
            let http = reqwest::Client::new();
            let mut made = Vec::new();
            for i in 1..=calls {
                made.push(one_call(s, &http, agent, i).await);
            }
            made
        }
    });
    let made: Vec<Kind> = futures::future::join_all(runs)
        .await
        .into_iter()
        .flatten()
        .collect();
    let took = started.elapsed();

    // Nothing left running: requests, streams, Codex processes, descriptors.
    let mut left = (u64::MAX, u64::MAX);
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        left = in_flight(&s.mcpd).await;
        if left == (0, 0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(left, (0, 0), "requests in flight, streams open");
    let data = s.data.clone();
    eventually(Duration::from_secs(15), "Codex processes left", || {
        host_codex_processes(&data).is_empty()
    })
    .await;
    eventually(
        Duration::from_secs(15),
        "mcpd's file descriptors back to the baseline",
        || fd_count(pid).is_some_and(|n| n <= base_fds + 2),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let samples = sampler.samples();
    drop(sampler);
    let end_rss = rss_kib(pid).unwrap();
    let peak_rss = samples.iter().map(|x| x.rss_kib).max().unwrap_or(end_rss);
    let peak_fds = samples.iter().map(|x| x.fds).max().unwrap_or(base_fds);
    println!(
        "soak: {agents} agents x {calls} calls = {} calls in {:.1} s; RSS start {} KiB, \
         peak {peak_rss} KiB, end {end_rss} KiB; fds start {base_fds}, peak {peak_fds}, end {}\n{}",
        made.len(),
        took.as_secs_f64(),
        base_rss,
        fd_count(pid).unwrap_or_default(),
        curve(&samples, 30)
    );
    assert!(
        end_rss < base_rss + 32 * 1024,
        "mcpd's RSS grew from {base_rss} KiB to {end_rss} KiB"
    );

    // The store: exactly the calls made, by status, none running.
    s.mcpd.terminate().await.unwrap();
    let store = tokio::task::spawn_blocking(move || SqliteStore::open(&data))
        .await
        .unwrap()
        .unwrap();
    let mut stored: BTreeMap<String, usize> = BTreeMap::new();
    for agent in &names {
        for call in store.list_calls(agent, 100_000).await.unwrap() {
            *stored.entry(call.status.as_str().to_string()).or_default() += 1;
        }
    }
    let count = |k: Kind| made.iter().filter(|m| **m == k).count();
    let expected: BTreeMap<String, usize> = [
        // The warm-up call of each agent is a chat too.
        ("succeeded", count(Kind::Chat) + agents),
        ("cancelled", count(Kind::Abandoned)),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(k, n)| (k.to_string(), n))
    .collect();
    assert_eq!(stored, expected, "calls in the store by status");
}
