//! `mcpd serve --stdio` on a data dir another mcpd owns: connect to that owner's socket
//! (`<data dir>/mcpd.sock`, see `codex_mcp_core::transport::local_socket`) and pipe this
//! process's stdin and stdout through it, so the client is served by the owner as one of
//! its own stdio sessions without noticing.

use std::io;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use codex_mcp_core::transport::local_socket::{Hello, SOCKET_FILE};
use tokio::io::AsyncWriteExt as _;
use tokio::net::UnixStream;

/// Why this process could not serve its client through the owner.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The socket file is not one the owning mcpd made for this user alone.
    #[error(
        "{} {why}: refusing to send this client's messages through it. The mcpd owning \
         CODEX_MCP_DATA_DIR creates it as a socket of yours with mode 0600; stop that \
         process, remove the file, or point CODEX_MCP_DATA_DIR elsewhere",
        path.display()
    )]
    Untrusted {
        /// The socket file.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// The socket could not be used.
    #[error("cannot use {} to reach the mcpd owning the data dir: {source}", path.display())]
    Io {
        /// The socket file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The owner closed the connection while the client was still talking.
    #[error(
        "the mcpd that owns the data dir (reached through {}) exited; this stdio session \
         has ended. Restart this MCP server in the client to continue",
        path.display()
    )]
    OwnerGone {
        /// The socket file.
        path: PathBuf,
    },
}

/// The socket of the mcpd owning `data_dir`, connected; `None` when no mcpd owns it
/// (no socket, or one a dead owner left behind).
pub async fn connect(data_dir: &Path) -> Result<Option<UnixStream>, BridgeError> {
    let path = data_dir.join(SOCKET_FILE);
    let io_error = |source| BridgeError::Io {
        path: path.clone(),
        source,
    };
    let meta = match std::fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error(e)),
    };
    let problem = untrusted(&meta);
    match UnixStream::connect(&path).await {
        Ok(stream) => match problem {
            None => Ok(Some(stream)),
            Some(why) => Err(BridgeError::Untrusted { path, why }),
        },
        // Nobody listens: a socket a dead owner left behind (the new owner replaces it).
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::ConnectionRefused | io::ErrorKind::NotFound
            ) =>
        {
            Ok(None)
        }
        Err(e) => Err(problem.map_or_else(
            || io_error(e),
            |why| BridgeError::Untrusted {
                path: path.clone(),
                why,
            },
        )),
    }
}

/// What makes this socket file one not to trust, if anything.
fn untrusted(meta: &std::fs::Metadata) -> Option<String> {
    let me = nix::unistd::geteuid().as_raw();
    let mode = meta.permissions().mode() & 0o777;
    if !meta.file_type().is_socket() {
        Some("is not a socket".to_string())
    } else if meta.uid() != me {
        Some(format!(
            "belongs to uid {}, not to you (uid {me})",
            meta.uid()
        ))
    } else if mode & 0o077 != 0 {
        Some(format!(
            "has mode {mode:04o}, which lets other users connect (want 0600)"
        ))
    } else {
        None
    }
}

/// Waits up to `patience` for the mcpd that just took the data dir to open its socket.
pub async fn wait_for_owner(
    data_dir: &Path,
    patience: Duration,
) -> Result<Option<UnixStream>, BridgeError> {
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        if let Some(stream) = connect(data_dir).await? {
            return Ok(Some(stream));
        }
        if tokio::time::Instant::now() > deadline {
            return Ok(None);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Serves this process's stdio client through the owner until the client closes stdin
/// (then the owner's answers are let through to the end) or `shutdown` resolves; the
/// owner going away first is an error.
pub async fn run(
    stream: UnixStream,
    data_dir: &Path,
    agent: Option<String>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), BridgeError> {
    let path = data_dir.join(SOCKET_FILE);
    pipe(
        stream,
        &path,
        agent,
        (stdin_chunks(), tokio::io::stdout()),
        shutdown,
    )
    .await
}

/// [`run`] with the client's side given: its messages as chunks, and where the owner's
/// answers go.
async fn pipe(
    stream: UnixStream,
    path: &Path,
    agent: Option<String>,
    (mut from_client, mut to_client): (
        tokio::sync::mpsc::Receiver<Vec<u8>>,
        impl tokio::io::AsyncWrite + Unpin,
    ),
    shutdown: impl Future<Output = ()>,
) -> Result<(), BridgeError> {
    let io_error = |source| BridgeError::Io {
        path: path.to_path_buf(),
        source,
    };
    let gone = || BridgeError::OwnerGone {
        path: path.to_path_buf(),
    };
    let (mut from_owner, mut to_owner) = stream.into_split();
    to_owner
        .write_all(Hello { agent }.to_line().as_bytes())
        .await
        .map_err(io_error)?;
    // True when the client ended its input; false when the owner stopped taking it.
    let client_to_owner = async {
        while let Some(chunk) = from_client.recv().await {
            if to_owner.write_all(&chunk).await.is_err() {
                return false;
            }
        }
        let _ = to_owner.shutdown().await;
        true
    };
    let owner_to_client = async {
        let copied = tokio::io::copy(&mut from_owner, &mut to_client).await;
        let _ = to_client.flush().await;
        copied
    };
    tokio::pin!(owner_to_client);
    tokio::select! {
        client_done = client_to_owner => {
            if !client_done {
                // The owner went away while a message was on its way to it.
                return Err(gone());
            }
            let _ = (&mut owner_to_client).await;
            Ok(())
        }
        copied = &mut owner_to_client => match copied {
            // The client stopped reading: it is going away.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            _ => Err(gone()),
        },
        () = shutdown => Ok(()),
    }
}

/// This process's stdin, read on a plain thread: a Tokio stdin read would keep the
/// runtime (and so the process) from ending while the client keeps stdin open after the
/// owner has gone. Ends at EOF or on a read error.
fn stdin_chunks() -> tokio::sync::mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    std::thread::spawn(move || {
        use std::io::Read as _;
        let mut stdin = std::io::stdin().lock();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::io::{BufRead as _, BufReader, Read as _};
    use std::net::Shutdown;
    use std::os::unix::net::UnixStream as StdStream;

    /// What the owner does after reading the hello line.
    #[derive(Clone, Copy)]
    enum Owner {
        /// Stops reading (it is exiting) but has not closed its end yet.
        StopsReading,
        /// Reads to the end, then closes.
        ReadsToTheEnd,
        /// Closes its end.
        Closes,
    }

    /// `pipe` between a client that sends `message` (then ends its input when
    /// `then_eof`) and an owner doing `owner`: the bridge's result, or "still running"
    /// after 5 s; and the hello line the owner read.
    async fn bridge(owner: Owner, message: &[u8], then_eof: bool) -> (String, String) {
        let (bridge_end, owner_end) = StdStream::pair().unwrap();
        bridge_end.set_nonblocking(true).unwrap();
        let bridge_end = UnixStream::from_std(bridge_end).unwrap();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let run = tokio::spawn(async move {
            let path = PathBuf::from("/data/mcpd.sock");
            pipe(
                bridge_end,
                &path,
                None,
                (rx, tokio::io::sink()),
                std::future::pending(),
            )
            .await
        });
        let owner_side = tokio::task::spawn_blocking(move || {
            let mut reader = BufReader::new(owner_end.try_clone().unwrap());
            let mut hello = String::new();
            reader.read_line(&mut hello).unwrap();
            // What stays open of the owner's end until the bridge has ended.
            let kept = match owner {
                Owner::StopsReading => {
                    owner_end.shutdown(Shutdown::Read).unwrap();
                    Some(reader)
                }
                Owner::ReadsToTheEnd => {
                    let mut rest = Vec::new();
                    reader.read_to_end(&mut rest).unwrap();
                    None
                }
                Owner::Closes => None,
            };
            (hello, kept)
        });
        if matches!(owner, Owner::StopsReading | Owner::Closes) {
            // The client's message goes out after the owner has stopped reading.
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // The bridge may have ended already (the owner closed): nothing to send to then.
        let _ = tx.send(message.to_vec()).await;
        if then_eof {
            drop(tx);
        }
        let result = tokio::time::timeout(std::time::Duration::from_secs(5), run).await;
        let (hello, _owner_kept_open) = owner_side.await.unwrap();
        let said = match result {
            Err(_) => "still running".to_string(),
            Ok(Ok(Ok(()))) => "ok".to_string(),
            Ok(Ok(Err(e))) => e.to_string(),
            Ok(Err(join)) => panic!("{join}"),
        };
        (said, hello)
    }

    #[tokio::test]
    async fn the_owner_going_away_is_said_whichever_side_notices_first() {
        let gone = "the mcpd that owns the data dir (reached through /data/mcpd.sock) exited; \
                    this stdio session has ended. Restart this MCP server in the client to \
                    continue";
        let message = b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n";
        let mut got = Vec::new();
        for (case, owner, then_eof) in [
            (
                "owner stopped reading, message refused",
                Owner::StopsReading,
                false,
            ),
            ("owner closed, its end read", Owner::Closes, false),
            ("client done, owner read it all", Owner::ReadsToTheEnd, true),
        ] {
            let (said, hello) = bridge(owner, message, then_eof).await;
            got.push((case, said, hello));
        }
        let hello = Hello { agent: None }.to_line();
        assert_eq!(
            got,
            vec![
                (
                    "owner stopped reading, message refused",
                    gone.into(),
                    hello.clone()
                ),
                ("owner closed, its end read", gone.into(), hello.clone()),
                ("client done, owner read it all", "ok".into(), hello),
            ]
        );
    }
}
