//! The 2024-11-05 HTTP+SSE transport: `GET /sse` opens a stream whose first event
//! names the URL to POST messages to (`/messages?sessionId=...`); every reply travels
//! back on the stream. Claude Desktop and many older clients still use it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{OriginalUri, State};
use axum::response::{IntoResponse, Response};
use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::jsonrpc::Message;
use http::StatusCode;
use parking_lot::Mutex;
use rand::RngCore;
use tokio::sync::mpsc;

use super::{HttpState, caller, read_body, rpc_error, sse};
use crate::server::{Connection, TransportKind};

/// One open `/sse` connection.
pub(crate) struct SseConnection {
    tx: mpsc::Sender<Message>,
    conn: Connection,
    /// SHA-256 of the bearer token that opened the stream: only it may post here.
    owner: Option<[u8; 32]>,
}

/// Open `/sse` connections by id.
#[derive(Default)]
pub struct Connections {
    map: Mutex<HashMap<String, Arc<SseConnection>>>,
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
        if let Some(sse) = self.state.sse.map.lock().remove(&self.id) {
            sse.conn.close();
        }
    }
}

fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `GET /sse`.
pub async fn open(State(state): State<HttpState>, request: axum::extract::Request) -> Response {
    let (parts, _) = request.into_parts();
    let query = match caller::query_map(&parts.uri) {
        Ok(q) => q,
        Err(rejection) => return rejection.into_response(),
    };
    let Ok(permit) = Arc::clone(&state.streams).try_acquire_owned() else {
        return rpc_error(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            ErrorObject::internal("too many open streams"),
        );
    };
    let id = new_id();
    let (tx, mut rx) = mpsc::channel::<Message>(64);
    let opener = caller::identity(&parts.extensions, &parts.headers, &query);
    state.sse.map.lock().insert(
        id.clone(),
        Arc::new(SseConnection {
            tx,
            owner: caller::owner(&parts.extensions),
            conn: Connection::new(state.server.clone(), TransportKind::LegacySse, opener),
        }),
    );
    // Where this router is mounted (nested under a prefix, the path seen here is cut).
    let sse_path = parts
        .extensions
        .get::<OriginalUri>()
        .map_or(parts.uri.path(), |original| original.0.path());
    let endpoint = format!("{}?sessionId={id}", messages_path(sse_path));
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
pub async fn post(State(state): State<HttpState>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let query = match caller::query_map(&parts.uri) {
        Ok(q) => q,
        Err(rejection) => return rejection.into_response(),
    };
    let Some(conn_id) = query.get("sessionId").or_else(|| query.get("session_id")) else {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            None,
            ErrorObject::invalid_request(
                "the sessionId query parameter is required: open GET /sse first",
            ),
        );
    };
    let token = caller::owner(&parts.extensions);
    let sse = state.sse.map.lock().get(conn_id).cloned();
    // Another token's stream is refused exactly like an unknown one.
    let Some(sse) = sse.filter(|c| c.owner == token) else {
        return rpc_error(
            StatusCode::NOT_FOUND,
            None,
            ErrorObject::invalid_request(format!("no open /sse stream with sessionId {conn_id:?}")),
        );
    };
    if let Err(why) = super::require_json(&parts.headers) {
        return rpc_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            ErrorObject::invalid_request(why.to_string()),
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
            let _ = sse.tx.send(Message::Response(e.into_response())).await;
            return rpc_error(StatusCode::BAD_REQUEST, None, error);
        }
    };
    let caller = caller::identity(&parts.extensions, &parts.headers, &query);
    sse.conn.handle_into(message, caller, &sse.tx).await;
    accepted()
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
