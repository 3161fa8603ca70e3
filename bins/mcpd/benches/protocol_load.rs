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
//! - `MCPD_BENCH_FILTER`: only rows whose `method/era` contains this text.
//! - `MCPD_BENCH_BIN`: benchmark this `mcpd` executable instead of the one just built.
//! - `MCPD_BENCH_WRK=1`: also run `wrk` (modern `tools/list`, 64 connections) as a
//!   lighter-weight cross-check of the Rust load generator.
//!
//! The load generator runs on the same machine as the server and competes with it for
//! the same cores; the output says how many.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::future::Future;
use std::io::{BufRead as _, Read as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use http_body_util::{BodyExt as _, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde::de::IgnoredAny;

const MODERN: &str = "2026-07-28";
const LEGACY: &str = "2025-11-25";

/// Which protocol era a row speaks.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Era {
    /// An `initialize`d session per connection (`Mcp-Session-Id`).
    Legacy,
    /// Stateless 2026-07-28 requests (`_meta` + mirror headers).
    Modern,
}

impl Era {
    fn label(self) -> &'static str {
        match self {
            Self::Legacy => "2025-11-25 session",
            Self::Modern => "2026-07-28 stateless",
        }
    }
}

#[derive(Clone, Copy)]
struct Scenario {
    method: &'static str,
    era: Era,
}

const SCENARIOS: [Scenario; 4] = [
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

struct Config {
    secs: f64,
    warmup_secs: f64,
    clients: Vec<usize>,
    client_threads: usize,
    filter: Option<String>,
    wrk: bool,
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
            filter: std::env::var("MCPD_BENCH_FILTER")
                .ok()
                .filter(|f| !f.is_empty()),
            wrk: std::env::var("MCPD_BENCH_WRK").is_ok_and(|v| v == "1" || v == "true"),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The server process and /proc figures.

struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    _data: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
        let log = data.path().join("mcpd.log");
        let mut command = Command::new(binary());
        // mcpd refuses unknown MCPD_* variables: keep the bench's own knobs away from it.
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("MCPD_") {
                command.env_remove(name);
            }
        }
        let child = command
            .arg("serve")
            .env("MCPD_LISTEN", addr.to_string())
            .env("CODEX_MCP_DATA_DIR", data.path().join("data"))
            .env("CODEX_MCP_RUNTIME", "local")
            .env("LOG_LEVEL", "warn")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start mcpd");
        let mut server = Self {
            child,
            addr,
            log,
            _data: data,
        };
        server.wait_healthy();
        server
    }

    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("mcpd exited early ({status}):\n{}", self.log_tail());
            }
            if health_ok(self.addr) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "mcpd did not answer /health within 30 s:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Asks mcpd to shut down (SIGTERM) and waits for it; `Drop` kills it after that.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    /// Never leaves mcpd running, even when the benchmark panics.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The `mcpd` under test: the one Cargo built, unless `MCPD_BENCH_BIN` names another
/// (to compare builds).
fn binary() -> PathBuf {
    std::env::var_os("MCPD_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_mcpd")))
}

/// A blocking `GET /health` that only checks for a 200.
fn health_ok(addr: SocketAddr) -> bool {
    use std::io::Write as _;
    let Ok(mut s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let request = format!("GET /health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut line = String::new();
    let _ = std::io::BufReader::new(&mut s).read_line(&mut line);
    line.starts_with("HTTP/1.1 200")
}

/// A `/proc/<pid>/status` field in kB (`VmRSS`, `VmHWM`).
fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn rss_kb(pid: u32) -> u64 {
    status_kb(pid, "VmRSS").unwrap_or(0)
}

/// utime + stime of a process, in seconds.
fn cpu_secs(stat_path: &str, tick: f64) -> f64 {
    let mut text = String::new();
    if std::fs::File::open(stat_path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .is_err()
    {
        return 0.0;
    }
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let Some(rest) = text.rfind(')').map(|i| &text[i + 1..]) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let get = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (get(11) + get(12)) / tick
}

fn clock_tick() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

fn mb(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

// ---------------------------------------------------------------------------------------
// The load generator.

/// Hands out globally unique JSON-RPC id ranges, one per client connection.
static CLIENT_SEQ: AtomicU64 = AtomicU64::new(1);

#[derive(Deserialize)]
struct RpcReply {
    id: Option<i64>,
    result: Option<IgnoredAny>,
    error: Option<serde_json::Value>,
}

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

type Connection =
    hyper::client::conn::http1::Connection<TokioIo<tokio::net::TcpStream>, Full<Bytes>>;

/// One client's keep-alive connection; its [`Driver`] is polled by the client's own
/// task (see [`on`]), so a round trip costs no hand-off between tasks.
struct Conn {
    sender: SendRequest<Full<Bytes>>,
    headers: HeaderMap,
}

/// Does a connection's reading and writing while it is polled.
type Driver = Pin<Box<Connection>>;

/// Runs `work` while driving the connection; an error if the connection ends first.
async fn on<T>(driver: &mut Driver, work: impl Future<Output = T>) -> Result<T, String> {
    tokio::select! {
        biased;
        out = work => Ok(out),
        end = driver => Err(match end {
            Ok(()) => "the server closed the connection".to_string(),
            Err(e) => format!("connection: {e}"),
        }),
    }
}

fn base_headers(addr: SocketAddr) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        header::HOST,
        HeaderValue::from_str(&addr.to_string()).expect("host"),
    );
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(
        header::ACCEPT,
        HeaderValue::from_static("application/json, text/event-stream"),
    );
    h
}

fn request(headers: &HeaderMap, body: String) -> http::Request<Full<Bytes>> {
    let mut r = http::Request::new(Full::new(Bytes::from(body)));
    *r.method_mut() = Method::POST;
    *r.uri_mut() = Uri::from_static("/mcp");
    *r.headers_mut() = headers.clone();
    r
}

/// One round trip; returns the reply's status, headers and body.
async fn round_trip(
    sender: &mut SendRequest<Full<Bytes>>,
    req: http::Request<Full<Bytes>>,
) -> Result<(StatusCode, HeaderMap, Bytes), String> {
    sender
        .ready()
        .await
        .map_err(|e| format!("connection: {e}"))?;
    let response = sender
        .send_request(req)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let (parts, body) = response.into_parts();
    let body = body
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok((parts.status, parts.headers, body))
}

/// Opens a keep-alive connection (TCP_NODELAY) and, for the legacy era, initializes a
/// session on it.
async fn connect(addr: SocketAddr, scenario: Scenario) -> Result<(Conn, Driver), String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("nodelay: {e}"))?;
    let (mut sender, driver) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let mut driver = Box::pin(driver);
    let mut headers = base_headers(addr);
    match scenario.era {
        Era::Modern => {
            headers.insert(
                HeaderName::from_static("mcp-protocol-version"),
                HeaderValue::from_static(MODERN),
            );
            headers.insert(
                HeaderName::from_static("mcp-method"),
                HeaderValue::from_static(scenario.method),
            );
        }
        Era::Legacy => {
            let init = format!(
                r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{LEGACY}","capabilities":{{}},"clientInfo":{{"name":"protocol_load","version":"1"}}}}}}"#
            );
            let (status, reply_headers, body) = on(
                &mut driver,
                round_trip(&mut sender, request(&headers, init)),
            )
            .await??;
            if status != StatusCode::OK {
                return Err(format!(
                    "initialize: HTTP {status}: {}",
                    String::from_utf8_lossy(&body)
                ));
            }
            let session = reply_headers
                .get("mcp-session-id")
                .cloned()
                .ok_or("initialize: no Mcp-Session-Id header")?;
            headers.insert(HeaderName::from_static("mcp-session-id"), session);
            headers.insert(
                HeaderName::from_static("mcp-protocol-version"),
                HeaderValue::from_static(LEGACY),
            );
            let initialized =
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#.to_string();
            let (status, _, _) = on(
                &mut driver,
                round_trip(&mut sender, request(&headers, initialized)),
            )
            .await??;
            if status != StatusCode::ACCEPTED {
                return Err(format!("notifications/initialized: HTTP {status}"));
            }
        }
    }
    Ok((Conn { sender, headers }, driver))
}

fn body_for(scenario: Scenario, id: u64) -> String {
    let mut body = String::with_capacity(256);
    let _ = write!(
        body,
        r#"{{"jsonrpc":"2.0","id":{id},"method":"{}""#,
        scenario.method
    );
    if scenario.era == Era::Modern {
        let _ = write!(
            body,
            r#","params":{{"_meta":{{"io.modelcontextprotocol/protocolVersion":"{MODERN}","io.modelcontextprotocol/clientCapabilities":{{}}}}}}"#
        );
    }
    body.push('}');
    body
}

/// Checks a reply: HTTP 200, a JSON-RPC result (not an error) with the request's id.
fn check(status: StatusCode, body: &[u8], id: u64) -> Result<(), String> {
    if status != StatusCode::OK {
        return Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ));
    }
    // Fast path for large results: this server writes `jsonrpc`, `id`, then `result`.
    // Anything else is fully parsed, so a reordered but valid reply still passes.
    let prefix = format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"#);
    if body.starts_with(prefix.as_bytes()) && body.ends_with(b"}") {
        return Ok(());
    }
    let reply: RpcReply =
        serde_json::from_slice(body).map_err(|e| format!("reply is not JSON-RPC: {e}"))?;
    if let Some(error) = reply.error {
        return Err(format!("JSON-RPC error: {error}"));
    }
    if reply.result.is_none() {
        return Err("reply has no result".into());
    }
    if reply.id != i64::try_from(id).ok() {
        return Err(format!("reply id {:?} is not {id}", reply.id));
    }
    Ok(())
}

/// Requests back to back on one connection until `end` or a failed round trip.
async fn requests(
    conn: &mut Conn,
    scenario: Scenario,
    measure_from: Instant,
    end: Instant,
    out: &mut ClientOutcome,
) -> Result<(), String> {
    let base = CLIENT_SEQ.fetch_add(1, Ordering::Relaxed) * 1_000_000_000;
    let mut id = base;
    loop {
        let start = Instant::now();
        if start >= end {
            return Ok(());
        }
        id += 1;
        let req = request(&conn.headers, body_for(scenario, id));
        let (status, _, body) = round_trip(&mut conn.sender, req).await?;
        let done = Instant::now();
        match check(status, &body, id) {
            Ok(()) if start >= measure_from && done <= end => out
                .samples
                .push(done.duration_since(start).as_nanos() as u64),
            Ok(()) => {}
            Err(e) => out.error(e),
        }
    }
}

/// One closed-loop client on its own connection; a broken connection is counted as an
/// error and replaced (with a new session in the legacy era).
async fn client(
    addr: SocketAddr,
    scenario: Scenario,
    measure_from: Instant,
    end: Instant,
) -> ClientOutcome {
    let mut out = ClientOutcome::default();
    while Instant::now() < end {
        let (mut conn, mut driver) = match connect(addr, scenario).await {
            Ok(c) => c,
            Err(e) => {
                out.error(e);
                return out;
            }
        };
        let work = requests(&mut conn, scenario, measure_from, end, &mut out);
        if let Err(e) = on(&mut driver, work).await.and_then(|r| r) {
            out.error(e);
        }
    }
    out
}

struct Row {
    scenario: Scenario,
    clients: usize,
    requests: usize,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    first_errors: Vec<String>,
    server_cpu_us: f64,
    client_cpu_us: f64,
    peak_rss_kb: u64,
}

fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64) * q).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1] as f64 / 1e6
}

async fn run_row(
    cfg: &Config,
    server_pid: u32,
    tick: f64,
    addr: SocketAddr,
    scenario: Scenario,
    clients: usize,
) -> Row {
    let begin = Instant::now();
    let measure_from = begin + Duration::from_secs_f64(cfg.warmup_secs);
    let window = Duration::from_secs_f64(cfg.secs);
    let end = measure_from + window;
    let tasks: Vec<_> = (0..clients)
        .map(|_| tokio::spawn(client(addr, scenario, measure_from, end)))
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
        if now >= end {
            cpu_end = Some((
                cpu_secs(&server_stat, tick),
                cpu_secs("/proc/self/stat", tick),
            ));
            break;
        }
        peak_rss = peak_rss.max(rss_kb(server_pid));
        let next = if cpu_start.is_none() {
            measure_from
        } else {
            end
        };
        tokio::time::sleep(
            next.saturating_duration_since(now)
                .min(Duration::from_millis(100)),
        )
        .await;
    }
    let mut samples = Vec::new();
    let mut errors = 0;
    let mut first_errors = Vec::new();
    for task in tasks {
        let outcome = task.await.expect("client task");
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
    let ((s0, c0), (s1, c1)) = (cpu_start.unwrap_or_default(), cpu_end.unwrap_or_default());
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
        rps: requests as f64 / window.as_secs_f64(),
        p50_ms: percentile(&samples, 0.50),
        p99_ms: percentile(&samples, 0.99),
        errors,
        first_errors,
        server_cpu_us: per_request(s1 - s0),
        client_cpu_us: per_request(c1 - c0),
        peak_rss_kb: peak_rss,
    }
}

// ---------------------------------------------------------------------------------------
// wrk cross-check.

const WRK_SCRIPT: &str = r#"
local threads = {}
local next_tid = 0
function setup(thread)
  thread:set("tid", next_tid)
  next_tid = next_tid + 1
  table.insert(threads, thread)
end
function init(args)
  counter = tid * 1000000000
  errors = 0
end
local prefix = '{"jsonrpc":"2.0","id":'
local suffix = ',"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/list"
function request()
  counter = counter + 1
  return wrk.format(nil, "/mcp", nil, prefix .. counter .. suffix)
end
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"result"', 1, true) then
    errors = errors + 1
  end
end
function done(summary, latency, requests)
  local errs = 0
  for _, t in ipairs(threads) do errs = errs + t:get("errors") end
  errs = errs + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("WRK_RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), errs))
end
"#;

struct WrkRow {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    errors: u64,
    server_cpu_us: f64,
    peak_rss_kb: u64,
}

fn run_wrk(
    cfg: &Config,
    server_pid: u32,
    tick: f64,
    addr: SocketAddr,
    dir: &Path,
) -> Result<WrkRow, String> {
    let script = dir.join("tools_list.lua");
    std::fs::write(&script, WRK_SCRIPT).map_err(|e| e.to_string())?;
    let threads = cfg.client_threads.to_string();
    let url = format!("http://{addr}/mcp");
    let wrk = |secs: f64| {
        Command::new("wrk")
            .args(["-t", &threads, "-c", "64", "-d"])
            .arg(format!("{}s", secs.ceil().max(1.0) as u64))
            .arg("-s")
            .arg(&script)
            .arg(&url)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run wrk ({e}); apt-get install -y wrk"))
    };
    if cfg.warmup_secs > 0.0 {
        let _ = wrk(cfg.warmup_secs)?.wait_with_output();
    }
    let stat = format!("/proc/{server_pid}/stat");
    let cpu0 = cpu_secs(&stat, tick);
    let mut child = wrk(cfg.secs)?;
    let mut peak = rss_kb(server_pid);
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        peak = peak.max(rss_kb(server_pid));
        std::thread::sleep(Duration::from_millis(100));
    }
    let cpu1 = cpu_secs(&stat, tick);
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("WRK_RESULT "))
        .ok_or_else(|| {
            format!(
                "wrk printed no result:\n{stdout}\n{}",
                String::from_utf8_lossy(&output.stderr)
            )
        })?;
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    let requests = field("requests");
    Ok(WrkRow {
        rps: requests / (field("duration_us") / 1e6),
        p50_ms: field("p50_us") / 1e3,
        p99_ms: field("p99_us") / 1e3,
        errors: field("errors") as u64,
        server_cpu_us: (cpu1 - cpu0) / requests * 1e6,
        peak_rss_kb: peak,
    })
}

// ---------------------------------------------------------------------------------------

fn main() -> ExitCode {
    let cfg = Config::from_env();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let tick = clock_tick();
    let server = Server::start();
    let pid = server.pid();
    let addr = server.addr;
    std::thread::sleep(Duration::from_millis(500));
    let idle_rss = rss_kb(pid);

    // One thread: a current-thread runtime, the cheapest way to drive many connections.
    let runtime = if cfg.client_threads == 1 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut b = tokio::runtime::Builder::new_multi_thread();
        b.worker_threads(cfg.client_threads);
        b
    }
    .enable_all()
    .build()
    .expect("client runtime");

    println!(
        "mcpd protocol load: {} (pid {pid}) at http://{addr}/mcp",
        binary().display()
    );
    println!(
        "machine: {cores} CPU cores shared by mcpd AND this load generator ({} client thread(s)); \
         closed loop, one keep-alive HTTP/1.1 connection per client, TCP_NODELAY, unique ids",
        cfg.client_threads
    );
    println!(
        "each row: {:.1} s warm-up, then {:.1} s measured\n",
        cfg.warmup_secs, cfg.secs
    );
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

    let mut rows = Vec::new();
    for scenario in SCENARIOS {
        let name = format!("{}/{:?}", scenario.method, scenario.era).to_ascii_lowercase();
        if cfg
            .filter
            .as_ref()
            .is_some_and(|f| !name.contains(&f.to_ascii_lowercase()))
        {
            continue;
        }
        for &clients in &cfg.clients {
            let row = runtime.block_on(run_row(&cfg, pid, tick, addr, scenario, clients));
            println!(
                "{:<16} | {:<21} | {:>7} | {:>9.0} | {:>7.3} | {:>7.3} | {:>6} | {:>14.1} | {:>14.1}",
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
            rows.push(row);
        }
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
        run_wrk(&cfg, pid, tick, addr, dir.path())
    });
    std::thread::sleep(Duration::from_millis(500));
    let after_rss = rss_kb(pid);
    let hwm = status_kb(pid, "VmHWM").unwrap_or(0);

    println!();
    println!(
        "idle RSS (after /health, before load):     {:>6.1} MB",
        mb(idle_rss)
    );
    println!(
        "loaded RSS (peak sampled, {max_clients}-client rows):  {:>6.1} MB",
        mb(loaded_rss)
    );
    println!(
        "RSS after the load (idle again):           {:>6.1} MB",
        mb(after_rss)
    );
    println!(
        "VmHWM (peak RSS over the whole run):       {:>6.1} MB",
        mb(hwm)
    );
    println!(
        "requests measured: {}",
        rows.iter().map(|r| r.requests).sum::<usize>()
    );

    let mut failed = false;
    if let Some(result) = wrk {
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
                    failed = true;
                }
            }
            Err(e) => {
                println!("!!! wrk cross-check failed: {e}");
                failed = true;
            }
        }
    }

    let errors: u64 = rows.iter().map(|r| r.errors).sum();
    if errors > 0 {
        failed = true;
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
    }
    drop(runtime);
    server.stop();
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
