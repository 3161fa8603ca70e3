//! The `mcpd` process under test and the figures read from `/proc`.

use std::io::{BufRead as _, Read as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct Server {
    child: Child,
    pub(crate) addr: SocketAddr,
    log: PathBuf,
    _data: tempfile::TempDir,
}

impl Server {
    pub(crate) fn start() -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("address");
        let log = data.path().join("mcpd.log");
        let mut command = Command::new(binary());
        // mcpd refuses unknown MCPD_* and CODEX_MCP_* variables: keep the bench's own
        // knobs (and the test harness's, e.g. scripts/bench-report.sh's
        // CODEX_MCP_TEST_CACHE) away from it; what mcpd needs is set below.
        for (name, _) in std::env::vars_os() {
            let name_text = name.to_string_lossy();
            if name_text.starts_with("MCPD_") || name_text.starts_with("CODEX_MCP_") {
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

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Asks mcpd to shut down (SIGTERM) and waits for it; `Drop` kills it after that.
    pub(crate) fn stop(mut self) {
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
pub(crate) fn binary() -> PathBuf {
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
pub(crate) fn status_kb(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

pub(crate) fn rss_kb(pid: u32) -> u64 {
    status_kb(pid, "VmRSS").unwrap_or(0)
}

/// utime + stime of a process, in seconds.
pub(crate) fn cpu_secs(stat_path: &str, tick: f64) -> f64 {
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

pub(crate) fn clock_tick() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}
