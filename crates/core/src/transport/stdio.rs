//! MCP over stdin/stdout: one JSON message per line, logs on stderr, exit on EOF.
//!
//! Both eras work here too: a line whose `_meta` names 2026-07-28 is handled
//! statelessly; anything else belongs to the single session that `initialize` opens.
//! Requests run concurrently so `notifications/cancelled` can stop them.

use std::sync::Arc;

use codex_mcp_protocol::jsonrpc::{Message, Request, Response};
use codex_mcp_protocol::meta::{self, ModernMeta};
use codex_mcp_protocol::notifications::methods;
use codex_mcp_protocol::{Era, ErrorObject, ProtocolVersion};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::server::{CtxParts, Identity, InFlight, McpServer, TransportKind};
use crate::session::Session;

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
    let mut session: Option<Arc<Session>> = None;
    // This connection's requests outside a session: only this client may cancel them.
    let connection = Arc::new(InFlight::default());
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
        match message {
            Message::Request(request) => {
                handle_request(&server, &options, &mut session, &connection, request, &tx).await;
            }
            Message::Notification(n) => {
                server.handle_notification(&n, session.as_ref(), Some(&connection));
            }
            Message::Response(r) => {
                if let (Some(s), Some(id)) = (&session, &r.id) {
                    let answer = match (r.result, r.error) {
                        (_, Some(e)) => Err(e),
                        (Some(v), None) => Ok(v),
                        (None, None) => Ok(Value::Null),
                    };
                    s.deliver_response(id, answer);
                }
            }
        }
    }
    if let Some(s) = &session {
        s.in_flight.cancel_all();
        server.sessions().remove(s.id());
    }
    connection.cancel_all();
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

async fn handle_request(
    server: &McpServer,
    options: &StdioOptions,
    session: &mut Option<Arc<Session>>,
    connection: &Arc<InFlight>,
    request: Request,
    tx: &mpsc::Sender<Message>,
) {
    let identity = Identity {
        connection_agent: options.agent.clone(),
        token: None,
        session_id: None,
    };
    let modern_claim = meta::requested_version(request.params.as_ref())
        .is_some_and(|v| ProtocolVersion::parse(v).is_none_or(|p| p.era() == Era::Modern));
    if modern_claim {
        let modern = match ModernMeta::from_params(
            request.params.as_ref(),
            meta::VersionHeader::NotApplicable,
        ) {
            Ok(m) => m,
            Err(e) => {
                let _ = tx
                    .send(Message::Response(Response::error(Some(request.id), e)))
                    .await;
                return;
            }
        };
        let cancel = CancellationToken::new();
        let guard = (
            server.in_flight().register_unnamed(cancel.clone()),
            connection.register(request.id.clone(), cancel.clone()),
        );
        let parts = CtxParts {
            version: Some(modern.version),
            request_id: Some(request.id.clone()),
            modern: Some(modern),
            outbound: Some(tx.clone()),
            cancel: Some(cancel.clone()),
            identity,
            transport: Some(TransportKind::Stdio),
            ..CtxParts::default()
        };
        spawn_request(server.clone(), request, parts, guard, cancel, tx.clone());
        return;
    }
    if request.method == methods::INITIALIZE {
        let response = match server.initialize(request.params.as_ref()) {
            Ok((result, init)) => {
                match server
                    .sessions()
                    .open(init, TransportKind::Stdio, options.agent.clone())
                    .await
                {
                    Ok(s) => {
                        if let Some(old) = session.replace(s) {
                            server.sessions().remove(old.id());
                        }
                        Response::success(request.id, result)
                    }
                    Err(e) => Response::error(Some(request.id), ErrorObject::internal(e)),
                }
            }
            Err(e) => Response::error(Some(request.id), e),
        };
        let _ = tx.send(Message::Response(response)).await;
        return;
    }
    let Some(s) = session.clone() else {
        let _ = tx
            .send(Message::Response(crate::server::not_initialized(Some(
                request.id,
            ))))
            .await;
        return;
    };
    let cancel = CancellationToken::new();
    let guard = s.in_flight.register(request.id.clone(), cancel.clone());
    let parts = CtxParts {
        version: Some(s.version()),
        request_id: Some(request.id.clone()),
        session: Some(Arc::clone(&s)),
        outbound: Some(tx.clone()),
        cancel: Some(cancel.clone()),
        identity: Identity {
            session_id: Some(s.id().to_string()),
            ..identity
        },
        transport: Some(TransportKind::Stdio),
        ..CtxParts::default()
    };
    spawn_request(server.clone(), request, parts, guard, cancel, tx.clone());
}

fn spawn_request(
    server: McpServer,
    request: Request,
    parts: CtxParts,
    guard: impl Send + 'static,
    cancel: CancellationToken,
    tx: mpsc::Sender<Message>,
) {
    tokio::spawn(async move {
        let response = server.handle_request(request, parts).await;
        drop(guard);
        if !cancel.is_cancelled() {
            let _ = tx.send(Message::Response(response)).await;
        }
    });
}
