//! A closed-loop load for benches: N workers each making calls back to back for a fixed
//! time; throughput, latencies and failures in a [`Row`].

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bench::{load_average, ms, percentile};

/// One measured row: one side at one N.
pub struct Row {
    /// The runtime measured (`local`, `docker`).
    pub runtime: &'static str,
    /// Which side of the comparison (`mcpd`, `raw`, `one replica`, ...).
    pub side: &'static str,
    /// Workers calling at once.
    pub n: usize,
    /// From the start to the end of the last call.
    pub took: Duration,
    /// Each successful call's duration.
    pub times: Vec<Duration>,
    /// Calls that failed.
    pub failures: usize,
    /// The load average at the row's end.
    pub load: String,
}

impl Row {
    /// Calls per second over the row's time.
    pub fn calls_per_s(&self) -> f64 {
        self.times.len() as f64 / self.took.as_secs_f64()
    }

    /// The row for a bench's JSON figures.
    pub fn json(&self) -> Value {
        json!({
            "runtime": self.runtime, "side": self.side, "n": self.n,
            "seconds": self.took.as_secs_f64(), "calls": self.times.len(),
            "failures": self.failures, "calls_per_s": self.calls_per_s(),
            "p50_ms": ms(percentile(&self.times, 0.5)),
            "p99_ms": ms(percentile(&self.times, 0.99)),
            "latencies_ms": self.times.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
            "load": self.load,
        })
    }
}

/// `n` workers, each calling `turn(worker)` back to back until `secs` have passed (a
/// call started before then is finished and counted); the row's time runs to the last.
pub async fn closed_loop<F, Fut>(
    runtime: &'static str,
    side: &'static str,
    n: usize,
    secs: u64,
    turn: F,
) -> Row
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<Duration>>,
{
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let turn = &turn;
    let workers = (0..n).map(|w| async move {
        let (mut times, mut failures) = (Vec::new(), 0);
        while Instant::now() < deadline {
            match turn(w).await {
                Ok(d) => times.push(d),
                Err(e) => {
                    failures += 1;
                    eprintln!("{runtime} {side} worker {w}: {e:#}");
                }
            }
        }
        (times, failures)
    });
    let results = futures::future::join_all(workers).await;
    let took = start.elapsed();
    let mut row = Row {
        runtime,
        side,
        n,
        took,
        times: Vec::new(),
        failures: 0,
        load: load_average(),
    };
    for (times, failures) in results {
        row.times.extend(times);
        row.failures += failures;
    }
    eprintln!(
        "{runtime} {side} N={n}: {} calls in {:.1} s, {:.2}/s, {} failures (load {})",
        row.times.len(),
        took.as_secs_f64(),
        row.calls_per_s(),
        row.failures,
        row.load
    );
    row
}
