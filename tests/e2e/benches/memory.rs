//! Benchmark (not a test): mcpd's resident memory (`VmRSS` from `/proc/PID/status`) with
//! 0, 100 and 1,000 clients open on each transport, and the memory of an idle agent
//! container.
//!
//! - streamable HTTP 2025-11-25: each client `initialize`s (a session in mcpd's table and
//!   store), sends `notifications/initialized`, and keeps its keep-alive connection;
//! - 2026-07-28: stateless, so there is no session: each client makes one
//!   `server/discover` and keeps its keep-alive connection (what such a client holds);
//! - legacy SSE (2024-11-05): each client holds `GET /sse` open after its `endpoint` event.
//!
//! Each transport gets a fresh mcpd (local runtime, a stand-in Codex: no turn runs); RSS
//! is read 1 s after each step. Idle agent container: `MEMORY_IDLE_AGENTS` agents on the
//! Docker runtime, each created by one `chat` through the real Codex and the scripted
//! model (network `host`, which the turn needs to reach the model; nothing runs on the
//! network afterwards), sampled with `docker stats` 3 s later.
//!
//! `cargo build --release -p mcpd && MCPD_BIN=target/release/mcpd cargo bench --profile
//! dev -p codex-mcp-e2e --bench memory`. `MEMORY_SESSIONS` (default `0,100,1000`),
//! `MEMORY_IDLE_AGENTS` (default 3; 0 skips Docker).

use std::time::Duration;

use codex_mcp_e2e::bench::{
    Table, answer_pong, chat_call, container_memory_mib, emit, env_list, env_or,
};
use codex_mcp_e2e::process_stats::{fd_count, rss_kib};
use codex_mcp_e2e::{Mcpd, Runtime, Setup, install_fake_codex, local_env};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The transports measured, as (key, label).
const TRANSPORTS: [(&str, &str); 3] = [
    ("session-2025-11-25", "streamable HTTP 2025-11-25 sessions"),
    ("stateless-2026-07-28", "2026-07-28 clients (stateless)"),
    ("sse-2024-11-05", "legacy SSE streams held open"),
];

/// Reads from `stream` into `buf` until `done(buf)`; fails after 20 s or at end of stream.
async fn read_until(
    stream: &mut TcpStream,
    buf: &mut Vec<u8>,
    done: impl Fn(&[u8]) -> bool,
) -> anyhow::Result<()> {
    let mut chunk = [0u8; 8192];
    while !done(buf) {
        let n = tokio::time::timeout(Duration::from_secs(20), stream.read(&mut chunk))
            .await
            .map_err(|_| anyhow::anyhow!("no answer within 20 s"))??;
        anyhow::ensure!(n > 0, "connection closed: {}", String::from_utf8_lossy(buf));
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(())
}

/// True once `buf` holds a whole response with a `Content-Length` body.
fn whole_response(buf: &[u8]) -> bool {
    let text = String::from_utf8_lossy(buf);
    let Some(head_end) = text.find("\r\n\r\n") else {
        return false;
    };
    let length = text[..head_end]
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    buf.len() >= head_end + 4 + length
}

/// Sends a POST on `stream` and reads its whole answer; returns the response head and body.
async fn post(
    stream: &mut TcpStream,
    host: &str,
    headers: &str,
    body: &Value,
) -> anyhow::Result<String> {
    let body = body.to_string();
    let req = format!(
        "POST /mcp HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n\
         accept: application/json, text/event-stream\r\n{headers}content-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(req.as_bytes()).await?;
    let mut buf = Vec::new();
    read_until(stream, &mut buf, whole_response).await?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    anyhow::ensure!(
        text.starts_with("HTTP/1.1 2"),
        "mcpd refused the request: {text}"
    );
    Ok(text)
}

/// Opens one client of `transport` on a new connection, which is returned to be held.
async fn open(transport: &str, host: &str) -> anyhow::Result<TcpStream> {
    let mut s = TcpStream::connect(host).await?;
    match transport {
        "session-2025-11-25" => {
            let init = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "bench", "version": "1"}}});
            let head = post(&mut s, host, "", &init).await?;
            let session = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("mcp-session-id")
                        .then(|| v.trim().to_string())
                })
                .ok_or_else(|| anyhow::anyhow!("no Mcp-Session-Id: {head}"))?;
            let headers =
                format!("mcp-session-id: {session}\r\nmcp-protocol-version: 2025-11-25\r\n");
            let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
            post(&mut s, host, &headers, &note).await?;
        }
        "stateless-2026-07-28" => {
            let discover = json!({"jsonrpc": "2.0", "id": 1, "method": "server/discover",
                "params": {"_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities": {}}}});
            let headers = "mcp-protocol-version: 2026-07-28\r\nmcp-method: server/discover\r\n";
            post(&mut s, host, headers, &discover).await?;
        }
        "sse-2024-11-05" => {
            let req =
                format!("GET /sse HTTP/1.1\r\nhost: {host}\r\naccept: text/event-stream\r\n\r\n");
            s.write_all(req.as_bytes()).await?;
            let mut buf = Vec::new();
            read_until(&mut s, &mut buf, |b| {
                let t = String::from_utf8_lossy(b);
                t.find("event: endpoint")
                    .or_else(|| t.find("event:endpoint"))
                    .is_some_and(|at| t[at..].contains("\n\n") || t[at..].contains("\r\n\r\n"))
            })
            .await?;
        }
        other => anyhow::bail!("unknown transport {other}"),
    }
    Ok(s)
}

/// RSS in MiB of `pid` after a second's rest.
async fn settled_rss_mib(pid: u32) -> anyhow::Result<f64> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let kib = rss_kib(pid).ok_or_else(|| anyhow::anyhow!("mcpd is gone"))?;
    Ok(kib as f64 / 1024.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let steps = env_list("MEMORY_SESSIONS", &[0, 100, 1000]);
    let idle_agents = env_or("MEMORY_IDLE_AGENTS", 3);
    let dir = tempfile::tempdir()?;
    let codex = install_fake_codex(dir.path())?;
    let mut table = Table::new(&[
        "transport",
        ">open clients",
        ">mcpd VmRSS MiB",
        ">KiB per client over 0",
        ">mcpd fds",
    ]);
    let mut series = Vec::new();
    for (k, (key, label)) in TRANSPORTS.iter().enumerate() {
        let data = dir.path().join(format!("data-{k}"));
        let env = local_env(
            &codex,
            &data,
            &[
                ("LOG_LEVEL", "info".into()),
                ("MCPD_MAX_SESSIONS", "4096".into()),
            ],
        );
        let mcpd = Mcpd::start(&env, dir.path()).await?;
        let pid = mcpd
            .pid()
            .ok_or_else(|| anyhow::anyhow!("mcpd has no pid"))?;
        let host = mcpd.base.trim_start_matches("http://").to_string();
        let mut held = Vec::new();
        let mut base = None;
        let mut points = Vec::new();
        for &n in &steps {
            while held.len() < n {
                held.push(open(key, &host).await?);
            }
            let rss = settled_rss_mib(pid).await?;
            let zero = *base.get_or_insert(rss);
            let per = if n == 0 {
                String::from("-")
            } else {
                format!("{:.1}", (rss - zero) * 1024.0 / n as f64)
            };
            let fds = fd_count(pid).unwrap_or_default();
            table.row(&[
                label.to_string(),
                n.to_string(),
                format!("{rss:.1}"),
                per,
                fds.to_string(),
            ]);
            points.push(json!({"clients": n, "rss_mib": rss, "fds": fds}));
        }
        series.push(json!({"transport": key, "label": label, "points": points}));
        drop(held);
    }

    let mut notes = Vec::new();
    let mut idle = Vec::new();
    if idle_agents > 0 {
        let s = Setup::start(Runtime::Docker, "suggest", &[("LOG_LEVEL", "info".into())])
            .await
            .ok_or_else(|| anyhow::anyhow!("Docker or the Codex CLI is not available"))?;
        answer_pong(&s.model);
        for i in 0..idle_agents {
            chat_call(&s.mcpd, &format!("idle-{i}")).await?;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
        idle = container_memory_mib(&s.scope().containers())?;
        table.row(&[
            format!(
                "idle agent container (Docker, after one chat), median of {} (min-max)",
                idle.len()
            ),
            "-".into(),
            format!(
                "{:.1} ({:.1}-{:.1})",
                idle[idle.len() / 2],
                idle[0],
                idle[idle.len() - 1]
            ),
            "-".into(),
            "-".into(),
        ]);
        notes.push(
            "Idle container memory is `docker stats` (cgroup usage less inactive file cache), \
             sampled 3 s after each agent's one `chat`."
                .to_string(),
        );
    }
    emit(
        "memory",
        &table,
        &notes,
        json!({"series": series, "idle_container_mib": idle}),
    )
}
