//! The legacy (2025-11-25 and earlier) half of `/mcp`: sessions created by `initialize`,
//! requests answered as JSON or as SSE streams logged for `Last-Event-ID` resumption, the
//! standalone GET stream, and DELETE. A client disconnect does not cancel a legacy request.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use codex_mcp_protocol::jsonrpc::{Message, Request};
use codex_mcp_protocol::notifications::methods;
use codex_mcp_protocol::{Era, ErrorCode, ErrorObject, ProtocolVersion};
use futures::StreamExt as _;
use http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use tokio::sync::mpsc;

use super::headers::{SESSION_HEADER, accepts, header_str, names};
use super::{
    HttpState, STREAM_IDS, accepted, caller, grace_after, reply_response, rpc_error, sse,
    too_many_streams,
};
use crate::server::{Call, Connection, Identity, Step, TransportKind};
use crate::session::{STANDALONE_STREAM, Session};

/// The refusal for a session id that names no session this caller may use. An unknown
/// id and another token's session get the same answer, so it tells nothing; a session
/// another replica holds (replicas sharing a PostgreSQL record) is named as such, since a
/// load balancer without session affinity is the likely fault.
async fn no_such_session(state: &HttpState, id: &str) -> Response {
    let message = match state.server.sessions().opened_elsewhere(id).await {
        Some(replica) => format!(
            "session {id:?} is open on the mcpd replica {replica:?}, not on this one: a \
             2025-era session stays on the replica that opened it, so route its requests \
             there (session affinity on Mcp-Session-Id), use protocol 2026-07-28 (no \
             sessions), or initialize again"
        ),
        None => format!(
            "session {id:?} not found: it expired, was deleted, or was opened with another \
             bearer token; initialize again"
        ),
    };
    rpc_error(
        StatusCode::NOT_FOUND,
        None,
        ErrorObject::invalid_request(message),
    )
}

/// The session `id` if it exists and the request's bearer token is the one that opened
/// it.
fn owned_session(state: &HttpState, extensions: &Extensions, id: &str) -> Option<Arc<Session>> {
    let token = caller::owner(extensions);
    state
        .server
        .sessions()
        .get(id)
        .filter(|s| s.admits(token.as_ref()))
}

/// Finds the legacy session named by the request's header, or the error response.
// The error is the finished HTTP response; these run once per request, off the hot path.
#[allow(clippy::result_large_err)]
async fn find_session(
    state: &HttpState,
    headers: &HeaderMap,
    extensions: &Extensions,
) -> Result<Arc<Session>, Response> {
    let Some(id) = header_str(headers, names::SESSION) else {
        return Err(rpc_error(
            StatusCode::BAD_REQUEST,
            None,
            ErrorObject::invalid_request(
                "the Mcp-Session-Id header is required: send initialize first",
            ),
        ));
    };
    match owned_session(state, extensions, id) {
        Some(session) => Ok(session),
        None => Err(no_such_session(state, id).await),
    }
}

#[allow(clippy::result_large_err)]
fn check_legacy_version(headers: &HeaderMap) -> Result<(), Response> {
    match header_str(headers, names::VERSION) {
        None => Ok(()),
        Some(v) if ProtocolVersion::parse(v).is_some_and(|p| p.era() == Era::Legacy) => Ok(()),
        Some(v) => Err(rpc_error(
            StatusCode::BAD_REQUEST,
            None,
            ErrorObject::unsupported_version(v, &ProtocolVersion::supported_strings()),
        )),
    }
}

pub(super) async fn legacy(
    state: HttpState,
    parts: &http::request::Parts,
    query: &HashMap<String, String>,
    message: Message,
) -> Response {
    let caller = caller::identity(&parts.extensions, &parts.headers, query);
    let connection = Connection::new(
        state.server.clone(),
        TransportKind::StreamableHttp,
        caller.clone(),
    );
    let message = match message {
        Message::Request(request) if request.method == methods::INITIALIZE => {
            return initialize(&connection, request, caller).await;
        }
        other => other,
    };
    if let Err(r) = check_legacy_version(&parts.headers) {
        return r;
    }
    let session = match find_session(&state, &parts.headers, &parts.extensions).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let connection = connection.in_session(Arc::clone(&session));
    match connection.handle(message, caller).await {
        Step::Quiet => accepted(),
        Step::Reply(reply) => reply_response(StatusCode::OK, reply),
        Step::Run(call) => legacy_request(state, &parts.headers, session, *call).await,
    }
}

async fn initialize(connection: &Connection, request: Request, caller: Identity) -> Response {
    let Step::Reply(reply) = connection.request(request, None, caller).await else {
        return rpc_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            None,
            ErrorObject::internal("initialize was not answered"),
        );
    };
    let status = match reply.error().map(|e| e.code) {
        None => StatusCode::OK,
        Some(ErrorCode::INTERNAL_ERROR) => StatusCode::SERVICE_UNAVAILABLE,
        Some(_) => StatusCode::BAD_REQUEST,
    };
    let mut response = reply_response(status, reply);
    if status == StatusCode::OK
        && let Some(session) = connection.session()
        && let Ok(v) = HeaderValue::from_str(session.id())
    {
        response.headers_mut().insert(SESSION_HEADER, v);
    }
    response
}

async fn legacy_request(
    state: HttpState,
    headers: &HeaderMap,
    session: Arc<Session>,
    call: Call,
) -> Response {
    let wants_stream =
        call.method() == methods::TOOLS_CALL && accepts(headers, "text/event-stream");
    if !wants_stream {
        return match call.run().await {
            Some(reply) => reply_response(StatusCode::OK, reply),
            None => accepted(),
        };
    }
    let Ok(permit) = Arc::clone(&state.streams).try_acquire_owned() else {
        return too_many_streams(Some(call.id().clone()));
    };
    let stream_name = format!("p{}", STREAM_IDS.fetch_add(1, Ordering::Relaxed));
    let priming_seq = session.log_event(&stream_name, None);
    let (tx, mut rx) = mpsc::channel::<Message>(64);
    let call = call.with_outbound(tx);
    // The request runs to completion even if the client disconnects (legacy rule);
    // everything it sends is logged so a reconnect can resume.
    let log_session = Arc::clone(&session);
    let log_name = stream_name.clone();
    tokio::spawn(async move {
        let forward_session = Arc::clone(&log_session);
        let forward_name = log_name.clone();
        let forwarder = tokio::spawn(async move {
            while let Some(message) = rx.recv().await {
                forward_session.log_event(&forward_name, Some(message));
            }
        });
        let reply = call.run().await;
        let _ = forwarder.await;
        if let Some(reply) = reply {
            log_session.log_event(&log_name, Some(reply.into_message()));
        }
        log_session.finish_stream(&log_name);
    });
    let body = tail_stream(state.clone(), session, stream_name.clone(), None, permit);
    let priming = sse::priming_event(
        &format!("{stream_name}:{priming_seq}"),
        state.options.sse_retry,
    );
    let stream = futures::stream::once(async move { priming }).chain(body);
    sse::stream_response(stream, &[])
}

/// Streams a session's logged events for `stream` after `after`, live, until the stream
/// finishes, the session closes or the server shuts down.
fn tail_stream(
    state: HttpState,
    session: Arc<Session>,
    stream: String,
    after: Option<u64>,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> impl futures::Stream<Item = Bytes> + Send + 'static {
    let keep_alive = state.options.keep_alive;
    // The standalone stream carries no request: it closes as soon as shutdown begins.
    // A request's stream stays until its response is out or the grace period is over.
    let grace = if stream == STANDALONE_STREAM {
        Duration::ZERO
    } else {
        state.options.shutdown_grace
    };
    let mut closing = Box::pin(grace_after(state.shutdown.clone(), grace));
    async_stream::stream! {
        let _permit = permit;
        let mut cursor = after;
        loop {
            let notified = session.changed();
            let Some((events, finished)) = session.replay(&stream, cursor) else { break };
            for event in events {
                cursor = Some(event.seq);
                if let Some(message) = &event.message {
                    yield sse::message_event(Some(&format!("{stream}:{}", event.seq)), message);
                }
            }
            if finished || session.is_closed() {
                break;
            }
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep(keep_alive) => yield sse::keep_alive(),
                () = &mut closing => break,
            }
        }
    }
}

/// `GET /mcp`: the legacy standalone stream, or a resumption with `Last-Event-ID`.
pub async fn get(State(state): State<HttpState>, request: axum::extract::Request) -> Response {
    let (parts, _) = request.into_parts();
    let headers = parts.headers;
    if header_str(&headers, names::VERSION)
        .and_then(ProtocolVersion::parse)
        .is_some_and(|v| v.era() == Era::Modern)
    {
        return method_not_allowed("protocol 2026-07-28 has no GET stream; POST requests to /mcp");
    }
    if !accepts(&headers, "text/event-stream") {
        return rpc_error(
            StatusCode::NOT_ACCEPTABLE,
            None,
            ErrorObject::invalid_request(
                "GET /mcp opens an SSE stream: Accept must include text/event-stream",
            ),
        );
    }
    if let Err(r) = check_legacy_version(&headers) {
        return r;
    }
    let session = match find_session(&state, &headers, &parts.extensions).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Ok(permit) = Arc::clone(&state.streams).try_acquire_owned() else {
        return too_many_streams(None);
    };
    if let Some(last) = header_str(&headers, names::LAST_EVENT_ID) {
        let Some((stream, seq)) = last
            .rsplit_once(':')
            .and_then(|(s, n)| Some((s.to_string(), n.parse::<u64>().ok()?)))
        else {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                None,
                ErrorObject::invalid_request(format!(
                    "Last-Event-ID {last:?} was not issued by this server"
                )),
            );
        };
        if session.replay(&stream, Some(seq)).is_none() {
            return rpc_error(
                StatusCode::NOT_FOUND,
                None,
                ErrorObject::invalid_request(format!(
                    "no stream to resume for Last-Event-ID {last:?}"
                )),
            );
        }
        let body = tail_stream(state.clone(), session, stream, Some(seq), permit);
        return sse::stream_response(body, &[]);
    }
    let Some(claim) = session.claim_standalone() else {
        return rpc_error(
            StatusCode::CONFLICT,
            None,
            ErrorObject::invalid_request("this session already has an open GET stream"),
        );
    };
    let priming_seq = session.log_event(STANDALONE_STREAM, None);
    let priming = sse::priming_event(
        &format!("{STANDALONE_STREAM}:{priming_seq}"),
        state.options.sse_retry,
    );
    let body = tail_stream(
        state.clone(),
        session,
        STANDALONE_STREAM.to_string(),
        Some(priming_seq),
        permit,
    );
    let stream = futures::stream::once(async move { priming })
        .chain(body)
        .map(move |b| {
            let _hold = &claim;
            b
        });
    sse::stream_response(stream, &[])
}

/// `DELETE /mcp`: ends a legacy session.
pub async fn delete(State(state): State<HttpState>, request: axum::extract::Request) -> Response {
    let (parts, _) = request.into_parts();
    let headers = parts.headers;
    if header_str(&headers, names::VERSION)
        .and_then(ProtocolVersion::parse)
        .is_some_and(|v| v.era() == Era::Modern)
    {
        return method_not_allowed("protocol 2026-07-28 has no sessions to delete");
    }
    let Some(id) = header_str(&headers, names::SESSION) else {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            None,
            ErrorObject::invalid_request("the Mcp-Session-Id header is required"),
        );
    };
    if owned_session(&state, &parts.extensions, id).is_some() && state.server.sessions().remove(id)
    {
        let mut r = Response::new(Body::empty());
        *r.status_mut() = StatusCode::OK;
        r
    } else {
        no_such_session(&state, id).await
    }
}

fn method_not_allowed(why: &str) -> Response {
    let mut r = rpc_error(
        StatusCode::METHOD_NOT_ALLOWED,
        None,
        ErrorObject::invalid_request(why),
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("POST"));
    r
}
