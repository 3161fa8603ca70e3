//! The load generator: closed-loop clients, one keep-alive HTTP/1.1 connection each
//! (see `conn.rs`), driven by one `mio` event loop per load-generator thread, and the
//! figures of one row (throughput, latency percentiles, CPU per request).
//!
//! On a core of its own (the default placement) the loop polls without sleeping, as a
//! client on another machine would always be ready: then `mcpd`'s writes never have to
//! wake a sleeping load generator, a loopback cost a real network does not charge the
//! server. Sharing cores with `mcpd`, it sleeps in `epoll` like any other client.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use crate::Config;
use crate::conn::Conn;
use crate::server::{cpu_secs, rss_kb};

pub(crate) const MODERN: &str = "2026-07-28";
pub(crate) const LEGACY: &str = "2025-11-25";

/// Which protocol era a row speaks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Era {
    /// An `initialize`d session per connection (`Mcp-Session-Id`).
    Legacy,
    /// Stateless 2026-07-28 requests (`_meta` + mirror headers).
    Modern,
}

impl Era {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Legacy => "2025-11-25 session",
            Self::Modern => "2026-07-28 stateless",
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Scenario {
    pub(crate) method: &'static str,
    pub(crate) era: Era,
}

pub(crate) const SCENARIOS: [Scenario; 4] = [
    Scenario {
        method: "ping",
        era: Era::Legacy,
    },
    Scenario {
        method: "server/discover",
        era: Era::Modern,
    },
    Scenario {
        method: "tools/list",
        era: Era::Modern,
    },
    Scenario {
        method: "tools/list",
        era: Era::Legacy,
    },
];

/// Hands out globally unique JSON-RPC id ranges, one per client connection.
static CLIENT_SEQ: AtomicU64 = AtomicU64::new(1);

#[derive(Default)]
struct ClientOutcome {
    /// Latencies (ns) of requests started and finished inside the measured window.
    samples: Vec<u64>,
    errors: u64,
    first_errors: Vec<String>,
}

impl ClientOutcome {
    fn error(&mut self, why: String) {
        self.errors += 1;
        if self.first_errors.len() < 3 {
            self.first_errors.push(why);
        }
    }
}

/// When a row's requests count, and how the loop waits.
#[derive(Clone, Copy)]
struct Window {
    measure_from: Instant,
    end: Instant,
    spin: bool,
}

fn open(addr: SocketAddr, scenario: Scenario) -> Result<Conn, String> {
    let first_id = CLIENT_SEQ.fetch_add(1, Ordering::Relaxed) * 1_000_000_000;
    Conn::open(addr, scenario, first_id)
}

/// Runs `clients` closed-loop connections until the window ends. A broken connection is
/// counted as an error and replaced (with a new session in the legacy era).
fn drive(addr: SocketAddr, scenario: Scenario, clients: usize, window: Window) -> ClientOutcome {
    let mut out = ClientOutcome::default();
    let poll = Poll::new();
    let (mut poll, mut conns) = match poll {
        Ok(p) => (p, Vec::with_capacity(clients)),
        Err(e) => {
            out.error(format!("poll: {e}"));
            return out;
        }
    };
    // Opens a connection in `slot` and sends its first request.
    let start = |poll: &Poll, slot: usize, out: &mut ClientOutcome| -> Option<Conn> {
        open(addr, scenario)
            .and_then(|mut c| {
                poll.registry()
                    .register(
                        &mut c.stream,
                        Token(slot),
                        Interest::READABLE | Interest::WRITABLE,
                    )
                    .map_err(|e| format!("register: {e}"))?;
                c.send_next()?;
                Ok(c)
            })
            .map_err(|e| out.error(e))
            .ok()
    };
    for slot in 0..clients {
        conns.push(start(&poll, slot, &mut out));
    }
    let mut events = Events::with_capacity(1024);
    loop {
        let now = Instant::now();
        if now >= window.end {
            break;
        }
        let wait = if window.spin {
            Duration::ZERO
        } else {
            (window.end - now).min(Duration::from_millis(50))
        };
        if let Err(e) = poll.poll(&mut events, Some(wait)) {
            out.error(format!("poll: {e}"));
            break;
        }
        for event in &events {
            let slot = event.token().0;
            let Some(conn) = conns[slot].as_mut() else {
                continue;
            };
            let outcome = conn.flush().and_then(|()| conn.receive());
            match outcome {
                Ok(None) => {}
                Ok(Some(verdict)) => {
                    let done = Instant::now();
                    match verdict {
                        Ok(()) if conn.started >= window.measure_from && done <= window.end => {
                            out.samples
                                .push(done.duration_since(conn.started).as_nanos() as u64);
                        }
                        Ok(()) => {}
                        Err(e) => out.error(e),
                    }
                    if done < window.end
                        && let Err(e) = conn.send_next()
                    {
                        out.error(e);
                        conns[slot] = start(&poll, slot, &mut out);
                    }
                }
                Err(e) => {
                    out.error(e);
                    conns[slot] = None;
                    if Instant::now() < window.end {
                        conns[slot] = start(&poll, slot, &mut out);
                    }
                }
            }
        }
    }
    out
}

pub(crate) struct Row {
    pub(crate) scenario: Scenario,
    pub(crate) clients: usize,
    pub(crate) requests: usize,
    pub(crate) rps: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) errors: u64,
    pub(crate) first_errors: Vec<String>,
    pub(crate) server_cpu_us: f64,
    pub(crate) client_cpu_us: f64,
    pub(crate) peak_rss_kb: u64,
}

fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1e6
}

/// Measures one row: `clients` connections spread over the load generator's threads,
/// while this thread samples mcpd's memory and both processes' CPU time.
pub(crate) fn run_row(
    cfg: &Config,
    server_pid: u32,
    tick: f64,
    addr: SocketAddr,
    scenario: Scenario,
    clients: usize,
    spin: bool,
) -> Row {
    let begin = Instant::now();
    let measure_from = begin + Duration::from_secs_f64(cfg.warmup_secs);
    let measured = Duration::from_secs_f64(cfg.secs);
    let window = Window {
        measure_from,
        end: measure_from + measured,
        spin,
    };
    let threads = cfg.client_threads.min(clients).max(1);
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let share = clients / threads + usize::from(t < clients % threads);
            std::thread::spawn(move || drive(addr, scenario, share, window))
        })
        .collect();
    let server_stat = format!("/proc/{server_pid}/stat");
    let mut peak_rss = rss_kb(server_pid);
    let mut cpu_start = None;
    let cpu_end;
    // Sample memory while the load runs; CPU at the edges of the measured window.
    loop {
        let now = Instant::now();
        if cpu_start.is_none() && now >= measure_from {
            cpu_start = Some((
                cpu_secs(&server_stat, tick),
                cpu_secs("/proc/self/stat", tick),
            ));
        }
        if now >= window.end {
            cpu_end = (
                cpu_secs(&server_stat, tick),
                cpu_secs("/proc/self/stat", tick),
            );
            break;
        }
        peak_rss = peak_rss.max(rss_kb(server_pid));
        let next = if cpu_start.is_none() {
            measure_from
        } else {
            window.end
        };
        std::thread::sleep(
            next.saturating_duration_since(now)
                .min(Duration::from_millis(100)),
        );
    }
    let mut samples = Vec::new();
    let mut errors = 0;
    let mut first_errors = Vec::new();
    for worker in workers {
        let outcome = worker.join().expect("load generator thread");
        samples.extend(outcome.samples);
        errors += outcome.errors;
        for e in outcome.first_errors {
            if first_errors.len() < 3 {
                first_errors.push(e);
            }
        }
    }
    peak_rss = peak_rss.max(rss_kb(server_pid));
    samples.sort_unstable();
    let requests = samples.len();
    let ((s0, c0), (s1, c1)) = (cpu_start.unwrap_or_default(), cpu_end);
    let per_request = |secs: f64| {
        if requests == 0 {
            f64::NAN
        } else {
            secs / requests as f64 * 1e6
        }
    };
    Row {
        scenario,
        clients,
        requests,
        rps: requests as f64 / measured.as_secs_f64(),
        p50_ms: percentile(&samples, 0.50),
        p99_ms: percentile(&samples, 0.99),
        errors,
        first_errors,
        server_cpu_us: per_request(s1 - s0),
        client_cpu_us: per_request(c1 - c0),
        peak_rss_kb: peak_rss,
    }
}
