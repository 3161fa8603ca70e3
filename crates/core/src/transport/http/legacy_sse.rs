//! The 2024-11-05 HTTP+SSE transport: `GET /sse` opens a stream whose first event
//! names the URL to POST messages to (`/messages?sessionId=...`); every reply travels
//! back on the stream. Claude Desktop and many older clients still use it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{OriginalUri, Query, State};
use axum::response::Response;
use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::jsonrpc::{Message, Response as RpcResponse};
use codex_mcp_protocol::notifications::methods;
use http::{HeaderMap, StatusCode};
use parking_lot::Mutex;
use rand::RngCore;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::streamable::{caller_token, identity};
use super::{HttpState, read_body, rpc_error, sse};
use crate::server::{CtxParts, TransportKind};
use crate::session::Session;

/// One open `/sse` connection.
pub struct Connection {
    tx: mpsc::Sender<Message>,
    session: Mutex<Option<Arc<Session>>>,
    agent: Option<String>,
    /// SHA-256 of the bearer token that opened the stream: only it may post here.
    owner: Option<[u8; 32]>,
}

/// Open `/sse` connections by id.
#[derive(Default)]
pub struct Connections {
    map: Mutex<HashMap<String, Arc<Connection>>>,
}

impl Connections {
    /// How many `/sse` connections are open.
    pub fn len(&self) -> usize {
        self.map.lock().len()
    }

    /// Whether none is open.
    pub fn is_empty(&self) -> bool {
        self.map.lock().is_empty()
    }
}

/// Removes the connection (and closes its session) when its stream ends.
struct ConnectionGuard {
    state: HttpState,
    id: String,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let conn = self.state.sse.map.lock().remove(&self.id);
        if let Some(session) = conn.and_then(|c| c.session.lock().take()) {
            self.state.server.sessions().remove(session.id());
        }
    }
}

fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `GET /sse`.
pub async fn open(
    State(state): State<HttpState>,
    OriginalUri(uri): OriginalUri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let Ok(permit) = Arc::clone(&state.streams).try_acquire_owned() else {
        return rpc_error(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            ErrorObject::internal("too many open streams"),
        );
    };
    let id = new_id();
    let (tx, mut rx) = mpsc::channel::<Message>(64);
    let agent = identity(&state, &headers, &query, None).connection_agent;
    state.sse.map.lock().insert(
        id.clone(),
        Arc::new(Connection {
            tx,
            session: Mutex::new(None),
            agent,
            owner: caller_token(&state, &headers).map(|g| g.sha256),
        }),
    );
    let endpoint = format!("{}?sessionId={id}", messages_path(uri.path()));
    let guard = ConnectionGuard {
        state: state.clone(),
        id,
    };
    let shutdown = state.shutdown.clone();
    let keep_alive = state.options.keep_alive;
    let stream = async_stream::stream! {
        let _permit = permit;
        let _guard = guard;
        yield sse::named_event("endpoint", &endpoint);
        loop {
            tokio::select! {
                message = rx.recv() => match message {
                    Some(m) => yield sse::message_event(None, &m),
                    None => break,
                },
                () = tokio::time::sleep(keep_alive) => yield sse::keep_alive(),
                () = shutdown.cancelled() => break,
            }
        }
    };
    sse::stream_response(stream, &[])
}

/// Where to POST messages for a stream opened at `sse_path` (the path as the client
/// sent it): `/messages` beside it, so the transport works with the router nested under
/// a prefix (`/ai/mcp/sse` -> `/ai/mcp/messages`).
fn messages_path(sse_path: &str) -> String {
    let trimmed = sse_path.trim_end_matches('/');
    let prefix = trimmed.strip_suffix("/sse").unwrap_or("");
    format!("{prefix}/messages")
}

fn accepted() -> Response {
    let mut r = Response::new(Body::from("Accepted"));
    *r.status_mut() = StatusCode::ACCEPTED;
    r
}

/// `POST /messages?sessionId=...`.
pub async fn post(
    State(state): State<HttpState>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Some(conn_id) = query.get("sessionId").or_else(|| query.get("session_id")) else {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            None,
            ErrorObject::invalid_request(
                "the sessionId query parameter is required: open GET /sse first",
            ),
        );
    };
    let token = caller_token(&state, &headers).map(|g| g.sha256);
    let conn = state.sse.map.lock().get(conn_id).cloned();
    // Another token's stream is refused exactly like an unknown one.
    let Some(conn) = conn.filter(|c| c.owner == token) else {
        return rpc_error(
            StatusCode::NOT_FOUND,
            None,
            ErrorObject::invalid_request(format!("no open /sse stream with sessionId {conn_id:?}")),
        );
    };
    if let Err(why) = super::require_json(&headers) {
        return rpc_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            ErrorObject::invalid_request(why),
        );
    }
    let bytes = match read_body(body, state.options.max_body_bytes).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let message = match Message::decode(&bytes) {
        Ok(m) => m,
        Err(e) => {
            let error = e.error.clone();
            let _ = conn.tx.send(Message::Response(e.into_response())).await;
            return rpc_error(StatusCode::BAD_REQUEST, None, error);
        }
    };
    let session = conn.session.lock().clone();
    match message {
        Message::Request(request) if request.method == methods::INITIALIZE => {
            let response = match state.server.initialize(request.params.as_ref()) {
                Ok((result, mut init)) => {
                    init.owner = conn.owner;
                    match state
                        .server
                        .sessions()
                        .open(init, TransportKind::LegacySse, conn.agent.clone())
                        .await
                    {
                        Ok(s) => {
                            *conn.session.lock() = Some(s);
                            RpcResponse::success(request.id, result)
                        }
                        Err(e) => RpcResponse::error(Some(request.id), ErrorObject::internal(e)),
                    }
                }
                Err(e) => RpcResponse::error(Some(request.id), e),
            };
            let _ = conn.tx.send(Message::Response(response)).await;
            accepted()
        }
        Message::Request(request) => {
            let Some(session) = session else {
                let _ = conn
                    .tx
                    .send(Message::Response(crate::server::not_initialized(Some(
                        request.id,
                    ))))
                    .await;
                return accepted();
            };
            let cancel = CancellationToken::new();
            let guard = session
                .in_flight
                .register(request.id.clone(), cancel.clone());
            let parts = CtxParts {
                version: Some(session.version()),
                request_id: Some(request.id.clone()),
                modern: None,
                session: Some(Arc::clone(&session)),
                outbound: Some(conn.tx.clone()),
                cancel: Some(cancel.clone()),
                identity: identity(&state, &headers, &query, Some(session.id())),
                transport: Some(TransportKind::LegacySse),
            };
            let server = state.server.clone();
            tokio::spawn(async move {
                let response = server.handle_request(request, parts).await;
                drop(guard);
                if !cancel.is_cancelled() {
                    let _ = conn.tx.send(Message::Response(response)).await;
                }
            });
            accepted()
        }
        Message::Notification(n) => {
            state.server.handle_notification(&n, session.as_ref(), None);
            accepted()
        }
        Message::Response(r) => {
            if let (Some(session), Some(id)) = (session, &r.id) {
                let answer = match (r.result, r.error) {
                    (_, Some(e)) => Err(e),
                    (Some(v), None) => Ok(v),
                    (None, None) => Ok(Value::Null),
                };
                session.deliver_response(id, answer);
            }
            accepted()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::messages_path;

    #[test]
    fn messages_sit_beside_the_stream_under_any_prefix() {
        let cases = [
            ("/sse", "/messages"),
            ("/sse/", "/messages"),
            ("/ai/mcp/sse", "/ai/mcp/messages"),
        ];
        for (sse, messages) in cases {
            assert_eq!(messages_path(sse), messages, "{sse}");
        }
    }
}
