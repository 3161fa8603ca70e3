//! Protocol throughput of `mcpd` over streamable HTTP: requests per second and p50/p99
//! latency of `ping`, `server/discover` and `tools/list` at 1, 16 and 64 concurrent
//! clients, the server's CPU time per request, and its idle and loaded resident memory.
//! The figures are quoted in docs/benchmarks.md.
//!
//! Run: `cargo bench -p mcpd --bench protocol_load` (builds `mcpd` in release, starts it
//! on a free loopback port with a temporary data directory, and drives it with one
//! keep-alive HTTP/1.1 connection per client, closed loop, unique JSON-RPC ids).
//!
//! Knobs (environment):
//! - `MCPD_BENCH_SECS` (default 5): measured seconds per row.
//! - `MCPD_BENCH_WARMUP_SECS` (default 1): unmeasured seconds before each row.
//! - `MCPD_BENCH_CLIENTS` (default `1,16,64`): concurrency levels.
//! - `MCPD_BENCH_CLIENT_THREADS` (default 1): worker threads of the load generator.
//! - `MCPD_BENCH_ROUNDS` (default 1): run every row this many times, interleaved, and
//!   print each row's median and range; one round on a noisy machine proves little.
//! - `MCPD_BENCH_PIN` (default 1): the load generator on its own core(s), `mcpd` on the
//!   others (see `pin.rs`); `0` lets both share every core.
//! - `MCPD_BENCH_FILTER`: only rows whose `method/era` contains this text.
//! - `MCPD_BENCH_BIN`: benchmark this `mcpd` executable instead of the one just built.
//! - `MCPD_BENCH_WRK=1`: also run `wrk` (modern `tools/list`, 64 connections) as an
//!   independent cross-check of this load generator.
//!
//! The load generator runs on the same machine as the server; the output says which
//! cores each side had.
// A benchmark is a measuring program, not library code: a failed setup step stops the run.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod client;
mod conn;
mod pin;
mod report;
mod server;
mod wrk;

use std::process::ExitCode;
use std::time::Duration;

use client::{Row, SCENARIOS, run_row};
use pin::Placement;
use server::{Server, binary, clock_tick, rss_kb, status_kb};

/// The knobs, read once from the environment.
pub(crate) struct Config {
    pub(crate) secs: f64,
    pub(crate) warmup_secs: f64,
    pub(crate) clients: Vec<usize>,
    pub(crate) client_threads: usize,
    pub(crate) rounds: usize,
    pub(crate) pin: bool,
    pub(crate) filter: Option<String>,
    pub(crate) wrk: bool,
}

impl Config {
    fn from_env() -> Self {
        let num = |name: &str, default: f64| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.trim().parse::<f64>().ok())
                .filter(|v| *v >= 0.0)
                .unwrap_or(default)
        };
        let clients = std::env::var("MCPD_BENCH_CLIENTS")
            .ok()
            .map(|v| {
                v.split(',')
                    .filter_map(|c| c.trim().parse::<usize>().ok())
                    .filter(|c| *c > 0)
                    .collect::<Vec<_>>()
            })
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| vec![1, 16, 64]);
        Self {
            secs: num("MCPD_BENCH_SECS", 5.0).max(0.1),
            warmup_secs: num("MCPD_BENCH_WARMUP_SECS", 1.0),
            clients,
            client_threads: num("MCPD_BENCH_CLIENT_THREADS", 1.0).max(1.0) as usize,
            rounds: num("MCPD_BENCH_ROUNDS", 1.0).max(1.0) as usize,
            pin: std::env::var("MCPD_BENCH_PIN").map_or(true, |v| v.trim() != "0"),
            filter: std::env::var("MCPD_BENCH_FILTER")
                .ok()
                .filter(|f| !f.is_empty()),
            wrk: std::env::var("MCPD_BENCH_WRK").is_ok_and(|v| v == "1"),
        }
    }
}

fn main() -> ExitCode {
    let cfg = Config::from_env();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let tick = clock_tick();
    let placement = if cfg.pin {
        Placement::split(cfg.client_threads).expect("CPU placement")
    } else {
        None
    };
    // mcpd inherits the affinity of the thread that starts it; the load generator's
    // threads inherit the one set after.
    if let Some(p) = &placement {
        pin::pin_current_thread(&p.server).expect("pin mcpd's cores");
    }
    let server = Server::start();
    if let Some(p) = &placement {
        pin::pin_current_thread(&p.client).expect("pin the load generator's cores");
    }
    // A load generator with a core per thread polls without sleeping (see client.rs).
    let spin = placement
        .as_ref()
        .is_some_and(|p| cfg.client_threads <= p.client.len());
    let pid = server.pid();
    let addr = server.addr;
    std::thread::sleep(Duration::from_millis(500));
    let idle_rss = rss_kb(pid);

    println!(
        "mcpd protocol load: {} (pid {pid}) at http://{addr}/mcp",
        binary().display()
    );
    match &placement {
        Some(p) => println!(
            "machine: {cores} CPU cores; load generator ({} thread(s){}) on CPU {}, mcpd on \
             CPU {} (MCPD_BENCH_PIN=0 shares them all)",
            cfg.client_threads,
            if spin { ", polling without sleep" } else { "" },
            pin::describe(&p.client),
            pin::describe(&p.server)
        ),
        None => println!(
            "machine: {cores} CPU cores shared by mcpd AND this load generator ({} thread(s))",
            cfg.client_threads
        ),
    }
    println!(
        "closed loop, one keep-alive HTTP/1.1 connection per client, TCP_NODELAY, unique ids; \
         each row: {:.1} s warm-up, then {:.1} s measured, {} round(s)\n",
        cfg.warmup_secs, cfg.secs, cfg.rounds
    );

    let scenarios: Vec<_> = SCENARIOS
        .into_iter()
        .filter(|s| {
            let name = format!("{}/{:?}", s.method, s.era).to_ascii_lowercase();
            cfg.filter
                .as_ref()
                .is_none_or(|f| name.contains(&f.to_ascii_lowercase()))
        })
        .collect();
    report::header();
    let mut rows: Vec<Row> = Vec::new();
    for round in 1..=cfg.rounds {
        for &scenario in &scenarios {
            for &clients in &cfg.clients {
                let row = run_row(&cfg, pid, tick, addr, scenario, clients, spin);
                report::row(&row, (cfg.rounds > 1).then_some(round));
                rows.push(row);
            }
        }
    }
    if cfg.rounds > 1 {
        report::medians(&rows, cfg.rounds);
    }

    let max_clients = cfg.clients.iter().copied().max().unwrap_or(0);
    let loaded_rss = rows
        .iter()
        .filter(|r| r.clients == max_clients)
        .map(|r| r.peak_rss_kb)
        .max()
        .unwrap_or(0);
    let wrk = cfg.wrk.then(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        wrk::run_wrk(&cfg, pid, tick, addr, dir.path())
    });
    std::thread::sleep(Duration::from_millis(500));
    let memory = report::Memory {
        idle_kb: idle_rss,
        loaded_kb: loaded_rss,
        max_clients,
        after_kb: rss_kb(pid),
        hwm_kb: status_kb(pid, "VmHWM").unwrap_or(0),
        requests: rows.iter().map(|r| r.requests).sum(),
    };
    memory.print();

    let mut failed = wrk.is_some_and(|result| !report::wrk(&cfg, result));
    failed |= !report::errors(&rows);
    server.stop();
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
