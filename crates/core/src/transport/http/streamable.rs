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

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use codex_mcp_protocol::jsonrpc::{Message, Request};
use codex_mcp_protocol::meta::{self, ModernMeta, VersionHeader};
use codex_mcp_protocol::notifications::methods;
use codex_mcp_protocol::tasks_ext;
use codex_mcp_protocol::{Era, ErrorCode, ErrorObject, ProtocolVersion};
use http::{HeaderMap, StatusCode};
use serde_json::Value;
use tokio::sync::mpsc;

use super::detached::{AbortOnDrop, until_done_or_cancelled};
use super::headers::{accepts, decode_header_value, header_str, names};
use super::{
    HttpState, accepted, caller, grace_after, read_body, reply_response, rpc_error, sse,
    too_many_streams,
};
use crate::server::{Connection, Identity, Reply, Step, TransportKind};

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

/// `POST /mcp`. Takes the request whole so its headers are moved, not copied.
pub async fn post(State(state): State<HttpState>, request: axum::extract::Request) -> Response {
    let (parts, body) = request.into_parts();
    let query = match caller::query_map(&parts.uri) {
        Ok(q) => q,
        Err(rejection) => return rejection.into_response(),
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
        Err(response) => return response,
    };
    let message = match Message::decode(&bytes) {
        Ok(m) => m,
        Err(e) => return rpc_error(StatusCode::BAD_REQUEST, e.id.clone(), e.error),
    };
    if is_modern_request(&parts.headers, &message) {
        modern(state, &parts, &query, message).await
    } else {
        super::legacy_session::legacy(state, &parts, &query, message).await
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
    parts: &http::request::Parts,
    query: &HashMap<String, String>,
    message: Message,
) -> Response {
    let headers = &parts.headers;
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
    let header = VersionHeader::Http(header_str(headers, names::VERSION));
    let modern_meta = match ModernMeta::from_params(request.params.as_ref(), header) {
        Ok(m) => m,
        Err(e) => return fail(e),
    };
    if let Err(e) = check_mirror_headers(&state, headers, &request) {
        return fail(e);
    }
    let caller = caller::identity(&parts.extensions, headers, query);
    // A stateless request opens no session, so the connection needs no opener.
    let connection = Connection::new(
        state.server.clone(),
        TransportKind::StreamableHttp,
        Identity::default(),
    )
    .answering_cancelled();
    let call = match connection.request(request, Some(modern_meta), caller).await {
        Step::Run(call) => *call,
        Step::Reply(reply) => return modern_reply(reply),
        Step::Quiet => return accepted(),
    };
    let wants_stream =
        call.method() == methods::TOOLS_CALL && accepts(headers, "text/event-stream");
    if !wants_stream {
        // Closing the connection before the answer cancels the request (and lets it
        // clean up) rather than dropping it half-way.
        let cancel = call.cancellation().clone();
        return match until_done_or_cancelled(cancel, call.run()).await {
            Some(Some(reply)) => modern_reply(reply),
            Some(None) => accepted(),
            None => rpc_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                Some(id),
                ErrorObject::internal("the request stopped before it was answered"),
            ),
        };
    }
    let Ok(permit) = Arc::clone(&state.streams).try_acquire_owned() else {
        return too_many_streams(Some(id));
    };
    let (tx, mut rx) = mpsc::channel::<Message>(64);
    let cancel = call.cancellation().clone();
    let call = call.with_outbound(tx.clone());
    let task = AbortOnDrop(Some(tokio::spawn(async move {
        if let Some(reply) = call.run().await {
            let _ = tx.send(reply.into_message()).await;
        }
    })));
    // Closing the stream (or dropping this response before it starts) cancels the
    // request.
    let drop_cancel = cancel.drop_guard();
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
            return modern_reply(Reply::Rpc(response));
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

/// A modern-era reply as HTTP, its status carrying the error class.
fn modern_reply(reply: Reply) -> Response {
    let status = reply.error().map_or(StatusCode::OK, modern_status);
    reply_response(status, reply)
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
        m if tasks_ext::methods::is_task_method(m) => Some("taskId"),
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
