//! A recording proxy in front of the Docker engine's socket: `mcpd` started with
//! `DOCKER_HOST` at [`DockerProxy::docker_host`] reaches the engine through it, and the
//! test reads which API calls it made ([`DockerProxy::take`]), in order, with when each
//! was sent and when its answer began. So a test can pin how many engine round trips a
//! turn makes, and a measurement can say where they go.
//!
//! It parses only the requests (head, then a body by `Content-Length` or chunked); the
//! answers are copied as they come. A request that upgrades the connection (an attached
//! exec start) turns the rest of that connection into a plain copy both ways.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

/// One API call as the proxy saw it.
#[derive(Debug, Clone)]
pub struct ApiCall {
    /// `GET /containers/NAME/json`: the method and the path without the API version
    /// prefix and the query; an exec id is written `{exec}`.
    pub call: String,
    /// When its head reached the proxy.
    pub sent: Instant,
    /// When the first byte of its answer came back (`None`: not yet).
    pub answered: Option<Instant>,
}

type Log = Arc<Mutex<Vec<ApiCall>>>;

/// The proxy: listening until dropped.
pub struct DockerProxy {
    socket: PathBuf,
    log: Log,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl DockerProxy {
    /// Listens on a fresh socket and forwards to the engine the tests use
    /// (`DOCKER_HOST` when it names a unix socket, else `/var/run/docker.sock`).
    pub fn start() -> anyhow::Result<Self> {
        let upstream = std::env::var("DOCKER_HOST")
            .ok()
            .and_then(|h| h.strip_prefix("unix://").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("/var/run/docker.sock"));
        let dir = tempfile::Builder::new().prefix("e2e-dproxy").tempdir()?;
        let socket = dir.path().join("docker.sock");
        let listener = UnixListener::bind(&socket)?;
        let log = Log::default();
        let task = tokio::spawn(accept(listener, upstream, Arc::clone(&log)));
        Ok(Self {
            socket,
            log,
            task,
            _dir: dir,
        })
    }

    /// The `DOCKER_HOST` value that reaches the engine through this proxy.
    pub fn docker_host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The calls seen since the last `take`, in the order they were sent; forgets them.
    pub fn take(&self) -> Vec<ApiCall> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for DockerProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(listener: UnixListener, upstream: PathBuf, log: Log) {
    while let Ok((client, _)) = listener.accept().await {
        let (upstream, log) = (upstream.clone(), Arc::clone(&log));
        tokio::spawn(async move {
            if let Ok(engine) = UnixStream::connect(&upstream).await {
                let _ = relay(client, engine, log).await;
            }
        });
    }
}

/// Forwards one connection; records each request it carries.
async fn relay(client: UnixStream, engine: UnixStream, log: Log) -> std::io::Result<()> {
    let (client_r, mut client_w) = client.into_split();
    let (mut engine_r, mut engine_w) = engine.into_split();
    // The request waiting for the first byte of its answer, by its index in the log.
    let waiting: Arc<Mutex<Option<usize>>> = Arc::default();
    let answers = {
        let (waiting, log) = (Arc::clone(&waiting), Arc::clone(&log));
        tokio::spawn(async move {
            let mut buf = vec![0u8; 64 << 10];
            loop {
                let n = match engine_r.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let pending = waiting
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .take();
                if let Some(i) = pending
                    && let Some(c) = log
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .get_mut(i)
                {
                    c.answered = Some(Instant::now());
                }
                if client_w.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
            let _ = client_w.shutdown().await;
        })
    };
    let mut reader = BufReader::new(client_r);
    loop {
        let mut head = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).await? == 0 {
                let _ = engine_w.shutdown().await;
                let _ = answers.await;
                return Ok(());
            }
            head.extend_from_slice(line.as_bytes());
            if line == "\r\n" {
                break;
            }
        }
        let text = String::from_utf8_lossy(&head).to_string();
        {
            let mut log = log.lock().unwrap_or_else(PoisonError::into_inner);
            log.push(ApiCall {
                call: call_of(&text),
                sent: Instant::now(),
                answered: None,
            });
            *waiting.lock().unwrap_or_else(PoisonError::into_inner) = Some(log.len() - 1);
        }
        engine_w.write_all(&head).await?;
        let header = |name: &str| {
            text.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_ascii_lowercase())
            })
        };
        if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            copy_chunked(&mut reader, &mut engine_w).await?;
        } else if let Some(n) = header("content-length").and_then(|v| v.parse::<u64>().ok()) {
            let mut body = (&mut reader).take(n);
            tokio::io::copy(&mut body, &mut engine_w).await?;
        }
        if header("upgrade").is_some() {
            // An attached exec: a plain byte stream from here on.
            tokio::io::copy(&mut reader, &mut engine_w).await?;
            let _ = engine_w.shutdown().await;
            let _ = answers.await;
            return Ok(());
        }
    }
}

/// Copies one chunked body, through its last (empty) chunk and trailer.
async fn copy_chunked<R, W>(reader: &mut R, to: &mut W) -> std::io::Result<()>
where
    R: tokio::io::AsyncBufRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut line = String::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await?;
        to.write_all(line.as_bytes()).await?;
        let size = u64::from_str_radix(line.trim().split(';').next().unwrap_or("0"), 16)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        if size == 0 {
            // The trailer, up to its empty line.
            loop {
                line.clear();
                if reader.read_line(&mut line).await? == 0 || line == "\r\n" {
                    to.write_all(line.as_bytes()).await?;
                    return Ok(());
                }
                to.write_all(line.as_bytes()).await?;
            }
        }
        // The chunk and its line end.
        let mut chunk = (&mut *reader).take(size + 2);
        tokio::io::copy(&mut chunk, to).await?;
    }
}

/// `GET /containers/NAME/json` from a request head (see [`ApiCall::call`]).
fn call_of(head: &str) -> String {
    let first = head.lines().next().unwrap_or_default();
    let mut parts = first.split(' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default();
    let mut segments: Vec<&str> = path.split('/').collect();
    // "", "v1.47", ...: the version prefix goes.
    if segments
        .get(1)
        .and_then(|s| s.strip_prefix('v'))
        .is_some_and(|v| v.starts_with(|c: char| c.is_ascii_digit()))
    {
        segments.remove(1);
    }
    if let Some(i) = segments.iter().position(|s| *s == "exec")
        && segments.len() > i + 2
    {
        segments[i + 1] = "{exec}";
    }
    format!("{method} {}", segments.join("/"))
}

#[cfg(test)]
mod tests {
    use super::call_of;

    #[test]
    fn calls_are_named_without_version_query_or_exec_id() {
        let cases = [
            (
                "GET /v1.47/containers/c1/json HTTP/1.1\r\n",
                "GET /containers/c1/json",
            ),
            (
                "PUT /v1.41/containers/c1/archive?path=%2Fx HTTP/1.1\r\n",
                "PUT /containers/c1/archive",
            ),
            (
                "POST /v1.47/exec/abc123/start HTTP/1.1\r\n",
                "POST /exec/{exec}/start",
            ),
            (
                "POST /v1.47/containers/c1/exec HTTP/1.1\r\n",
                "POST /containers/c1/exec",
            ),
            ("GET /_ping HTTP/1.1\r\n", "GET /_ping"),
            ("GET /version HTTP/1.1\r\n", "GET /version"),
        ];
        for (head, want) in cases {
            assert_eq!(call_of(head), want);
        }
    }
}
