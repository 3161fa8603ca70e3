//! The printed tables: one line per measured row, the per-row medians over several
//! rounds, memory, the `wrk` cross-check and any errors (which invalidate the run).

use crate::Config;
use crate::client::Row;
use crate::wrk::WrkRow;

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

pub(crate) fn header() {
    println!(
        "{:<16} | {:<21} | {:>7} | {:>9} | {:>7} | {:>7} | {:>6} | {:>14} | {:>14}",
        "method",
        "era",
        "clients",
        "req/s",
        "p50 ms",
        "p99 ms",
        "errors",
        "server µs/req",
        "client µs/req"
    );
    println!("{}", "-".repeat(130));
}

/// One measured row, marked with its round when there are several.
pub(crate) fn row(row: &Row, round: Option<usize>) {
    let round = round.map(|r| format!("  (round {r})")).unwrap_or_default();
    println!(
        "{:<16} | {:<21} | {:>7} | {:>9.0} | {:>7.3} | {:>7.3} | {:>6} | {:>14.1} | {:>14.1}{round}",
        row.scenario.method,
        row.scenario.era.label(),
        row.clients,
        row.rps,
        row.p50_ms,
        row.p99_ms,
        row.errors,
        row.server_cpu_us,
        row.client_cpu_us,
    );
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => values[n / 2],
        n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

fn range(values: &[f64]) -> (f64, f64) {
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo, hi)
}

/// Each row's median over the rounds, with the range of throughput and p99.
pub(crate) fn medians(rows: &[Row], rounds: usize) {
    println!("\nmedians of {rounds} rounds (min-max):");
    println!(
        "{:<16} | {:<21} | {:>7} | {:>21} | {:>7} | {:>19} | {:>14} | {:>14}",
        "method", "era", "clients", "req/s", "p50 ms", "p99 ms", "server µs/req", "client µs/req"
    );
    println!("{}", "-".repeat(140));
    let mut seen: Vec<(&str, &str, usize)> = Vec::new();
    for first in rows {
        let key = (
            first.scenario.method,
            first.scenario.era.label(),
            first.clients,
        );
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let same: Vec<&Row> = rows
            .iter()
            .filter(|r| (r.scenario.method, r.scenario.era.label(), r.clients) == key)
            .collect();
        let col = |f: fn(&Row) -> f64| same.iter().map(|r| f(r)).collect::<Vec<f64>>();
        let (rps, p99) = (col(|r| r.rps), col(|r| r.p99_ms));
        let ((rps_lo, rps_hi), (p99_lo, p99_hi)) = (range(&rps), range(&p99));
        println!(
            "{:<16} | {:<21} | {:>7} | {:>6.0} ({:>6.0}-{:>6.0}) | {:>7.3} | {:>6.3} ({:.2}-{:.2}) | {:>14.1} | {:>14.1}",
            key.0,
            key.1,
            key.2,
            median(rps),
            rps_lo,
            rps_hi,
            median(col(|r| r.p50_ms)),
            median(p99),
            p99_lo,
            p99_hi,
            median(col(|r| r.server_cpu_us)),
            median(col(|r| r.client_cpu_us)),
        );
    }
}

/// Resident memory of `mcpd` over the run.
pub(crate) struct Memory {
    pub(crate) idle_kb: u64,
    pub(crate) loaded_kb: u64,
    pub(crate) max_clients: usize,
    pub(crate) after_kb: u64,
    pub(crate) hwm_kb: u64,
    pub(crate) requests: usize,
}

impl Memory {
    pub(crate) fn print(&self) {
        println!();
        println!(
            "idle RSS (after /health, before load):     {:>6.1} MB",
            mb(self.idle_kb)
        );
        println!(
            "loaded RSS (peak sampled, {}-client rows):  {:>6.1} MB",
            self.max_clients,
            mb(self.loaded_kb)
        );
        println!(
            "RSS after the load (idle again):           {:>6.1} MB",
            mb(self.after_kb)
        );
        println!(
            "VmHWM (peak RSS over the whole run):       {:>6.1} MB",
            mb(self.hwm_kb)
        );
        println!("requests measured: {}", self.requests);
    }
}

/// Prints the `wrk` cross-check; false when it failed or saw errors.
pub(crate) fn wrk(cfg: &Config, result: Result<WrkRow, String>) -> bool {
    println!();
    match result {
        Ok(w) => {
            println!(
                "wrk cross-check (tools/list, 2026-07-28 stateless, 64 connections, {} thread(s)): \
                 {:.0} req/s, p50 {:.3} ms, p99 {:.3} ms, errors {}, server {:.1} µs/req, peak RSS {:.1} MB",
                cfg.client_threads,
                w.rps,
                w.p50_ms,
                w.p99_ms,
                w.errors,
                w.server_cpu_us,
                mb(w.peak_rss_kb)
            );
            if w.errors > 0 {
                println!("!!! wrk saw {} ERRORS !!!", w.errors);
                return false;
            }
            true
        }
        Err(e) => {
            println!("!!! wrk cross-check failed: {e}");
            false
        }
    }
}

/// Prints a banner for failed requests; false when there were any (the figures are
/// then not valid).
pub(crate) fn errors(rows: &[Row]) -> bool {
    let errors: u64 = rows.iter().map(|r| r.errors).sum();
    if errors == 0 {
        return true;
    }
    println!();
    println!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
    println!("!!! {errors} REQUEST(S) FAILED: the figures above are not valid !!!");
    for r in rows.iter().filter(|r| r.errors > 0) {
        println!(
            "!!! {} ({}) x{}: {} errors, e.g. {:?}",
            r.scenario.method,
            r.scenario.era.label(),
            r.clients,
            r.errors,
            r.first_errors
        );
    }
    println!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
    false
}
