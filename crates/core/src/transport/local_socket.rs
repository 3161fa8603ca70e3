//! The data dir's Unix socket (`mcpd.sock`): how a second `mcpd serve --stdio` on a data
//! dir another mcpd owns serves its client through that owner.
//!
//! Each connection is a stdio session of the owner, byte for byte: the connecting mcpd
//! sends one hello line (its `--agent-id`), then pipes its client's stdin and stdout
//! through. So a bridged client gets exactly what a local stdio client gets (same
//! identity rules, both protocol eras, cancellation, server-to-client requests) and
//! nothing more. The socket is created mode 0600 in the private (0700) data dir, and the
//! owner only serves peers running as the user who owns the socket: file permissions
//! are the authentication, as for the database.

use std::io;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio_util::sync::CancellationToken;

use crate::server::McpServer;
use crate::transport::stdio::{self, StdioOptions};

/// The socket's file name in the data dir.
pub const SOCKET_FILE: &str = "mcpd.sock";

/// Longest hello line accepted.
const MAX_HELLO_BYTES: u64 = 4096;

/// How long a new connection may take to send its hello line.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);

/// The first line a bridging mcpd sends: what its own stdio session would have been
/// started with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Hello {
    /// Its `--agent-id`, if any.
    pub agent: Option<String>,
}

impl Hello {
    /// The hello as one JSON line, newline included.
    pub fn to_line(&self) -> String {
        let mut line = serde_json::json!({ "codexMcpBridge": self }).to_string();
        line.push('\n');
        line
    }

    fn parse(line: &str) -> Option<Self> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase", deny_unknown_fields)]
        struct Envelope {
            codex_mcp_bridge: Hello,
        }
        serde_json::from_str::<Envelope>(line)
            .ok()
            .map(|e| e.codex_mcp_bridge)
    }
}

/// The owner's listening socket; the file is removed when this is dropped.
pub struct LocalSocket {
    listener: UnixListener,
    path: PathBuf,
    owner_uid: u32,
}

impl LocalSocket {
    /// Binds `path` (normally `<data dir>/mcpd.sock`) owner-only. The caller must own
    /// the data dir (hold the store's lock): a file already there is then a socket a
    /// dead owner left behind, and is replaced.
    pub fn bind(path: &Path) -> io::Result<Self> {
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_dir() => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} is a directory; remove it", path.display()),
                ));
            }
            Ok(_) => {
                tracing::info!(path = %path.display(), "removing a stale mcpd socket");
                std::fs::remove_file(path)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let listener = UnixListener::bind(path)?;
        let owner_only = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .and_then(|()| std::fs::metadata(path));
        match owner_only {
            Ok(meta) => Ok(Self {
                listener,
                path: path.to_path_buf(),
                owner_uid: meta.uid(),
            }),
            Err(e) => {
                let _ = std::fs::remove_file(path);
                Err(e)
            }
        }
    }

    /// Where the socket is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves every connection as a stdio session of `server` until `shutdown` is
    /// cancelled (then open sessions end and the file is removed).
    pub async fn serve(self, server: McpServer, shutdown: CancellationToken) {
        let sessions = tokio_util::task::TaskTracker::new();
        loop {
            let accepted = tokio::select! {
                a = self.listener.accept() => a,
                () = shutdown.cancelled() => break,
            };
            let stream = match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, path = %self.path.display(), "accepting on the mcpd socket failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let server = server.clone();
            let shutdown = shutdown.child_token();
            let owner_uid = self.owner_uid;
            sessions.spawn(async move {
                if let Err(e) = serve_connection(stream, server, owner_uid, shutdown).await {
                    tracing::warn!(error = %e, "a bridged stdio session ended with an error");
                }
            });
        }
        sessions.close();
        sessions.wait().await;
    }
}

impl Drop for LocalSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

async fn serve_connection(
    stream: UnixStream,
    server: McpServer,
    owner_uid: u32,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let peer_uid = stream.peer_cred()?.uid();
    if peer_uid != owner_uid {
        tracing::warn!(
            peer_uid,
            owner_uid,
            "refused a connection to the mcpd socket from another user"
        );
        return Ok(());
    }
    let (read, write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = String::new();
    let hello = tokio::time::timeout(
        HELLO_TIMEOUT,
        (&mut reader).take(MAX_HELLO_BYTES).read_line(&mut line),
    )
    .await;
    let Some(hello) = matches!(hello, Ok(Ok(_)))
        .then(|| Hello::parse(line.trim_end()))
        .flatten()
    else {
        tracing::warn!("closed a connection to the mcpd socket that sent no valid hello line");
        return Ok(());
    };
    tracing::info!(agent = ?hello.agent, "serving a bridged stdio client");
    let options = StdioOptions {
        agent: hello.agent,
        ..StdioOptions::default()
    };
    stdio::serve(server, reader, write, options, shutdown).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_round_trips_and_rejects_other_lines() {
        let hello = Hello {
            agent: Some("alice".into()),
        };
        let line = hello.to_line();
        assert_eq!(line, "{\"codexMcpBridge\":{\"agent\":\"alice\"}}\n");
        assert_eq!(Hello::parse(line.trim_end()), Some(hello));
        assert_eq!(
            Hello::parse(r#"{"jsonrpc":"2.0","id":1,"method":"initialize"}"#),
            None
        );
    }

    #[tokio::test]
    async fn bind_replaces_a_stale_file_and_is_owner_only() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let path = dir.path().join(SOCKET_FILE);
        std::fs::write(&path, b"left behind").unwrap_or_else(|e| panic!("write: {e}"));
        let socket = LocalSocket::bind(&path).unwrap_or_else(|e| panic!("bind: {e}"));
        let meta = std::fs::symlink_metadata(&path).unwrap_or_else(|e| panic!("stat: {e}"));
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        drop(socket);
        assert!(!path.exists(), "the socket file is removed on drop");
    }
}
