//! The optional `wrk` cross-check (`MCPD_BENCH_WRK=1`): the same stateless `tools/list`
//! driven by an independent load generator written in C (its Lua reply check makes it
//! slower than ours; it is there to catch a measuring mistake, not to set records).

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::Config;
use crate::server::{cpu_secs, rss_kb};

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

pub(crate) struct WrkRow {
    pub(crate) rps: f64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) errors: u64,
    pub(crate) server_cpu_us: f64,
    pub(crate) peak_rss_kb: u64,
}

pub(crate) fn run_wrk(
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
