//! `/mcp`: streamable HTTP, serving both protocol eras on one endpoint.
//!
//! A request is modern (2026-07-28) when its `MCP-Protocol-Version` header or its
//! `_meta` protocol version says so; otherwise it belongs to a legacy session created
//! by `initialize`. Modern requests are validated against their mirror headers and
//! answered with JSON or a request-scoped SSE stream whose closing cancels the request.
//! Legacy requests may stream too; their events are logged in the session so a client
//! can resume with `Last-Event-ID`, and a disconnect does not cancel them.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use codex_mcp_protocol::jsonrpc::{Message, Request};
use codex_mcp_protocol::meta::{self, ModernMeta, VersionHeader};
use codex_mcp_protocol::notifications::methods;
use codex_mcp_protocol::{Era, ErrorCode, ErrorObject, ProtocolVersion};
use http::header::AsHeaderName;
use http::{HeaderMap, StatusCode, Uri, header};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::bearer::TokenGrant;
use super::{HttpState, encoded_response, json_response, read_body, rpc_error, sse};
use crate::server::{CtxParts, Identity, TransportKind};

/// Header carrying the legacy session id.
pub const SESSION_HEADER: &str = "mcp-session-id";
/// Header carrying the protocol version.
pub const VERSION_HEADER: &str = "mcp-protocol-version";
/// Header mirroring the JSON-RPC method (modern era).
pub const METHOD_HEADER: &str = "mcp-method";
/// Header mirroring the tool/prompt name or resource URI (modern era).
pub const NAME_HEADER: &str = "mcp-name";
/// Header naming the calling agent.
pub const AGENT_HEADER: &str = "x-agent-id";

pub(super) static STREAM_IDS: AtomicU64 = AtomicU64::new(1);

/// The header names above as [`HeaderName`]s: a lookup by `HeaderName` skips parsing and
/// lower-casing the name, which a lookup by `&str` repeats every time.
pub(super) mod names {
    use http::HeaderName;

    pub const SESSION: HeaderName = HeaderName::from_static(super::SESSION_HEADER);
    pub const VERSION: HeaderName = HeaderName::from_static(super::VERSION_HEADER);
    pub const METHOD: HeaderName = HeaderName::from_static(super::METHOD_HEADER);
    pub const NAME: HeaderName = HeaderName::from_static(super::NAME_HEADER);
    pub const AGENT: HeaderName = HeaderName::from_static(super::AGENT_HEADER);
    pub const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
}

pub(super) fn header_str<K: AsHeaderName>(headers: &HeaderMap, name: K) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(super) fn accepts(headers: &HeaderMap, mime: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|part| part.split(';').next().unwrap_or("").trim())
        .any(|m| {
            m == mime || m == "*/*" || (m.ends_with("/*") && mime.starts_with(&m[..m.len() - 1]))
        })
}

/// Identity hints carried by the connection, including the bearer token's agents when
/// tokens are configured (the guard has already refused requests without a valid one).
pub fn identity(
    state: &HttpState,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    session: Option<&str>,
) -> Identity {
    Identity {
        connection_agent: header_str(headers, names::AGENT)
            .map(str::to_string)
            .or_else(|| query.get("agent_id").cloned()),
        token: caller_token(state, headers),
        session_id: session.map(str::to_string),
    }
}

/// The grant of the request's bearer token, when the server requires tokens (the guard
/// has already refused requests without a valid one).
pub fn caller_token(state: &HttpState, headers: &HeaderMap) -> Option<Arc<TokenGrant>> {
    state
        .options
        .tokens
        .as_ref()
        .and_then(|t| t.check(headers).ok())
}

/// HTTP status for a JSON-RPC error in the modern era.
fn modern_status(error: &ErrorObject) -> StatusCode {
    match error.code {
        ErrorCode::METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        ErrorCode::HEADER_MISMATCH
        | ErrorCode::UNSUPPORTED_PROTOCOL_VERSION
        | ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY
        | ErrorCode::PARSE_ERROR
        | ErrorCode::INVALID_REQUEST => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    }
}

/// The query parameters of a request, as the `Query` extractor reads them (parsed only
/// when there is a query string).
fn query_map(uri: &Uri) -> Result<HashMap<String, String>, QueryRejection> {
    if uri.query().is_none() {
        return Ok(HashMap::new());
    }
    Query::<HashMap<String, String>>::try_from_uri(uri).map(|Query(q)| q)
}

/// `POST /mcp`. Takes the request whole so its headers are moved, not copied.
pub async fn post(State(state): State<HttpState>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let query = match query_map(&parts.uri) {
        Ok(q) => q,
        Err(rejection) => return rejection.into_response(),
    };
    let headers = parts.headers;
    if let Err(why) = super::require_json(&headers) {
        return rpc_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            ErrorObject::invalid_request(why),
        );
    }
    let bytes = match read_body(body, state.options.max_body_bytes).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let message = match Message::decode(&bytes) {
        Ok(m) => m,
        Err(e) => return rpc_error(StatusCode::BAD_REQUEST, e.id.clone(), e.error),
    };
    if is_modern_request(&headers, &message) {
        modern(state, headers, query, message).await
    } else {
        super::legacy_session::legacy(state, headers, query, message).await
    }
}

/// Decides the era of a POST: a session header or a handshake-era version header (with
/// no `_meta`) means legacy, as does a request with neither header nor `_meta`;
/// everything else is handled statelessly.
fn is_modern_request(headers: &HeaderMap, message: &Message) -> bool {
    if headers.contains_key(names::SESSION) {
        return false;
    }
    let has_meta = match message {
        Message::Request(r) => meta::meta_of(r.params.as_ref()).is_some(),
        Message::Notification(n) => meta::meta_of(n.params.as_ref()).is_some(),
        Message::Response(_) => false,
    };
    match header_str(headers, names::VERSION).map(str::trim) {
        None => has_meta,
        Some(v) => has_meta || ProtocolVersion::parse(v).is_none_or(|p| p.era() == Era::Modern),
    }
}

async fn modern(
    state: HttpState,
    headers: HeaderMap,
    query: HashMap<String, String>,
    message: Message,
) -> Response {
    let request = match message {
        Message::Request(r) => r,
        Message::Notification(_) => return accepted(),
        Message::Response(_) => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                None,
                ErrorObject::invalid_request(
                    "clients must not send JSON-RPC responses in protocol 2026-07-28",
                ),
            );
        }
    };
    let id = request.id.clone();
    let fail = |error: ErrorObject| {
        let status = match error.code {
            ErrorCode::INVALID_PARAMS => StatusCode::BAD_REQUEST,
            _ => modern_status(&error),
        };
        rpc_error(status, Some(id.clone()), error)
    };
    let header = VersionHeader::Http(header_str(&headers, names::VERSION));
    let modern_meta = match ModernMeta::from_params(request.params.as_ref(), header) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    if let Err(e) = check_mirror_headers(&state, &headers, &request) {
        return fail(e);
    }
    if let Some(encoded) = state
        .server
        .precomputed_response(&request, modern_meta.version)
    {
        return encoded_response(encoded);
    }
    let cancel = CancellationToken::new();
    let guard = state.server.in_flight().register_unnamed(cancel.clone());
    let wants_stream =
        request.method == methods::TOOLS_CALL && accepts(&headers, "text/event-stream");
    let parts = |outbound| CtxParts {
        version: Some(modern_meta.version),
        request_id: Some(id.clone()),
        modern: Some(modern_meta.clone()),
        session: None,
        outbound,
        cancel: Some(cancel.clone()),
        identity: identity(&state, &headers, &query, None),
        transport: Some(TransportKind::StreamableHttp),
    };
    if !wants_stream {
        let response = state.server.handle_request(request, parts(None)).await;
        drop(guard);
        let status = response
            .error
            .as_ref()
            .map_or(StatusCode::OK, modern_status);
        return json_response(status, &response);
    }
    let Ok(permit) = Arc::clone(&state.streams).try_acquire_owned() else {
        return too_many_streams(Some(id));
    };
    let (tx, mut rx) = mpsc::channel::<Message>(64);
    let server = state.server.clone();
    let ctx_parts = parts(Some(tx.clone()));
    let task = AbortOnDrop(Some(tokio::spawn(async move {
        let response = server.handle_request(request, ctx_parts).await;
        let _ = tx.send(Message::Response(response)).await;
        drop(guard);
    })));
    // Closing the stream (or dropping this response before it starts) cancels the
    // request.
    let drop_cancel = cancel.clone().drop_guard();
    // Answer with plain JSON when the response comes before any notification: the
    // status code can then carry the error class (400 for a missing capability).
    let grace = state.options.shutdown_grace;
    let mut closing = Box::pin(grace_after(state.shutdown.clone(), grace));
    let first = tokio::select! {
        first = rx.recv() => first,
        () = &mut closing => None,
    };
    let first = match first {
        Some(Message::Response(response)) => {
            drop(drop_cancel.disarm());
            drop(task);
            let status = response
                .error
                .as_ref()
                .map_or(StatusCode::OK, modern_status);
            return json_response(status, &response);
        }
        Some(other) => other,
        None => {
            return rpc_error(
                StatusCode::SERVICE_UNAVAILABLE,
                Some(id),
                ErrorObject::internal("the server is shutting down"),
            );
        }
    };
    let stream = async_stream::stream! {
        let _permit = permit;
        let _cancel_on_drop = drop_cancel;
        let _task = task;
        yield sse::message_event(None, &first);
        loop {
            tokio::select! {
                message = rx.recv() => match message {
                    Some(message) => {
                        let last = matches!(message, Message::Response(_));
                        yield sse::message_event(None, &message);
                        if last { break; }
                    }
                    None => break,
                },
                () = &mut closing => break,
            }
        }
    };
    sse::stream_response(stream, &[])
}

/// How long a request whose stream was dropped may take to honour its (already
/// cancelled) token before its task is aborted.
const CANCEL_GRACE: Duration = Duration::from_secs(5);

/// Aborts a spawned request task when its stream is dropped, unless the task ends by
/// itself within [`CANCEL_GRACE`]. Dropping the stream also cancels the request's token;
/// aborting at once would drop the handler before it could observe that and clean up.
struct AbortOnDrop(Option<tokio::task::JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        let Some(mut handle) = self.0.take() else {
            return;
        };
        if handle.is_finished() {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if tokio::time::timeout(CANCEL_GRACE, &mut handle)
                        .await
                        .is_err()
                    {
                        handle.abort();
                    }
                });
            }
            Err(_) => handle.abort(),
        }
    }
}

/// Resolves when a stream carrying a request's response must close for shutdown: once
/// the grace period after shutdown has passed, so calls in flight can still deliver
/// their responses (the server cancels what is left at the same moment).
pub(super) async fn grace_after(shutdown: CancellationToken, grace: Duration) {
    shutdown.cancelled().await;
    tokio::time::sleep(grace).await;
}

/// Decodes a mirrored header value that may use the `=?base64?...?=` sentinel; `None`
/// for characters a header value may not hold or for invalid (strict) base64.
pub(super) fn decode_header_value(raw: &str) -> Option<String> {
    if raw
        .bytes()
        .any(|b| !(b == b'\t' || (0x20..=0x7e).contains(&b)))
    {
        return None;
    }
    match raw
        .strip_prefix("=?base64?")
        .and_then(|r| r.strip_suffix("?="))
    {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|b| String::from_utf8(b).ok()),
        None => Some(raw.to_string()),
    }
}

fn check_mirror_headers(
    state: &HttpState,
    headers: &HeaderMap,
    request: &Request,
) -> Result<(), ErrorObject> {
    let method = header_str(headers, names::METHOD)
        .map(str::trim)
        .ok_or_else(|| ErrorObject::header_mismatch("the Mcp-Method header is required"))?;
    if method != request.method {
        return Err(ErrorObject::header_mismatch(format!(
            "Mcp-Method header {method:?} does not match the body method {:?}",
            request.method
        )));
    }
    let name_field = match request.method.as_str() {
        methods::TOOLS_CALL | methods::PROMPTS_GET => Some("name"),
        methods::RESOURCES_READ => Some("uri"),
        _ => None,
    };
    if let Some(field) = name_field {
        let body_name = request
            .params
            .as_ref()
            .and_then(|p| p.get(field))
            .and_then(Value::as_str);
        let raw = header_str(headers, names::NAME)
            .map(str::trim)
            .ok_or_else(|| {
                ErrorObject::header_mismatch(format!(
                    "the Mcp-Name header is required for {}",
                    request.method
                ))
            })?;
        let decoded = decode_header_value(raw).ok_or_else(|| {
            ErrorObject::header_mismatch("the Mcp-Name header has invalid base64")
        })?;
        if Some(decoded.as_str()) != body_name {
            return Err(ErrorObject::header_mismatch(format!(
                "Mcp-Name header {decoded:?} does not match params.{field} {:?}",
                body_name.unwrap_or_default()
            )));
        }
    }
    if request.method == methods::TOOLS_CALL {
        super::param_headers::check(state, headers, request)?;
    }
    Ok(())
}

pub(super) fn accepted() -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::ACCEPTED;
    r
}

pub(super) fn too_many_streams(id: Option<codex_mcp_protocol::RequestId>) -> Response {
    rpc_error(
        StatusCode::SERVICE_UNAVAILABLE,
        id,
        ErrorObject::internal("too many open streams; retry shortly"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn base64_sentinel_decodes() {
        assert_eq!(
            decode_header_value("=?base64?SGVsbG8sIOS4lueVjA==?="),
            Some("Hello, 世界".into())
        );
        assert_eq!(decode_header_value("plain"), Some("plain".into()));
        assert_eq!(decode_header_value("=?base64?!!?="), None);
    }

    #[test]
    fn accept_matching_handles_lists_and_wildcards() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream;q=0.9"),
        );
        assert!(accepts(&h, "text/event-stream"));
        h.insert(header::ACCEPT, HeaderValue::from_static("text/*"));
        assert!(accepts(&h, "text/event-stream"));
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!accepts(&h, "text/event-stream"));
    }
}
