//! MCP over stdin/stdout: one JSON message per line, logs on stderr, exit on EOF.
//!
//! Both eras work here too: a line whose `_meta` names 2026-07-28 is handled
//! statelessly; anything else belongs to the single session that `initialize` opens.
//! Requests run concurrently so `notifications/cancelled` can stop them.

use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::jsonrpc::{Message, Response};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::server::{Connection, Identity, McpServer, TransportKind};

/// Options of the stdio transport.
#[derive(Debug, Clone)]
pub struct StdioOptions {
    /// Longest accepted line, in bytes.
    pub max_line_bytes: usize,
    /// Agent id for every call on this connection (the `--agent-id` flag).
    pub agent: Option<String>,
}

impl Default for StdioOptions {
    fn default() -> Self {
        Self {
            max_line_bytes: 16 * 1024 * 1024,
            agent: None,
        }
    }
}

/// Serves one client on the given reader and writer until EOF or `shutdown`.
pub async fn serve<R, W>(
    server: McpServer,
    reader: R,
    writer: W,
    options: StdioOptions,
    shutdown: CancellationToken,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (tx, mut rx) = mpsc::channel::<Message>(256);
    let writer_task = tokio::spawn(async move {
        let mut writer = writer;
        while let Some(message) = rx.recv().await {
            let mut line = message.to_json();
            line.push('\n');
            if writer.write_all(line.as_bytes()).await.is_err() || writer.flush().await.is_err() {
                break;
            }
        }
    });
    let mut reader = BufReader::new(reader);
    let identity = Identity {
        connection_agent: options.agent.clone(),
        token: None,
        session_id: None,
    };
    let connection =
        Connection::new(server, TransportKind::Stdio, identity.clone()).detecting_era();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let read = tokio::select! {
            r = read_line(&mut reader, &mut buf, options.max_line_bytes) => r?,
            () = shutdown.cancelled() => break,
        };
        match read {
            Line::Eof => break,
            Line::TooLong => {
                let error = ErrorObject::invalid_request(format!(
                    "message exceeds the limit of {} bytes",
                    options.max_line_bytes
                ));
                let _ = tx
                    .send(Message::Response(Response::error(None, error)))
                    .await;
                continue;
            }
            Line::Data => {}
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let message = match Message::decode(&buf) {
            Ok(m) => m,
            Err(e) => {
                let _ = tx.send(Message::Response(e.into_response())).await;
                continue;
            }
        };
        connection.handle_into(message, identity.clone(), &tx).await;
    }
    connection.close();
    drop(tx);
    let _ = writer_task.await;
    Ok(())
}

enum Line {
    Data,
    TooLong,
    Eof,
}

async fn read_line<R: AsyncBufReadExt + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Line> {
    let mut too_long = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if buf.is_empty() && !too_long {
                Line::Eof
            } else if too_long {
                Line::TooLong
            } else {
                Line::Data
            });
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        if !too_long {
            if buf.len() + chunk.len() > max {
                too_long = true;
                buf.clear();
            } else {
                buf.extend_from_slice(chunk);
            }
        }
        let consumed = done.unwrap_or(available.len());
        reader.consume(consumed);
        if done.is_some() {
            return Ok(if too_long { Line::TooLong } else { Line::Data });
        }
    }
}
