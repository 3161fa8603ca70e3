//! The HTTP face of the engine: every route on one listener.
//!
//! - `/mcp`: streamable HTTP for both protocol eras (`streamable.rs`).
//! - `/sse` + `/messages`: the 2024-11-05 HTTP+SSE transport (`legacy_sse.rs`).
//! - `/tools/{name}`: plain REST for scripts and curl (`rest.rs`).
//! - `/health`: liveness and a summary (`health.rs`).
//!
//! Every route sits behind the DNS-rebinding guard and a body size limit; every route but
//! `/health` and `/metrics` also behind a bound on concurrent requests (so probes answer
//! while long calls hold every permit); streams are bounded separately and all close on
//! shutdown.

pub mod bearer;
mod caller;
mod detached;
mod gate;
pub mod guard;
mod headers;
pub mod health;
mod legacy_session;
mod legacy_sse;
pub mod metrics;
mod param_headers;
mod rest;
pub(crate) mod sse;
mod streamable;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::Bytes;
use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::jsonrpc::{RequestId, Response as RpcResponse};
use http::{HeaderValue, StatusCode, header};
use http_body_util::BodyExt as _;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::server::{EncodedResponse, McpServer, Reply};
pub use caller::Caller;
pub use guard::{HostPolicy, Refusal};
pub use headers::{AGENT_HEADER, METHOD_HEADER, NAME_HEADER, SESSION_HEADER, VERSION_HEADER};
pub use health::HealthReporter;
pub use legacy_sse::Connections;

/// Limits and policies of the HTTP transports.
#[derive(Clone)]
pub struct HttpOptions {
    /// Which `Host`/`Origin` values are accepted.
    pub host_policy: HostPolicy,
    /// Largest request body accepted, in bytes (larger: 413).
    pub max_body_bytes: usize,
    /// Most requests handled at once; more wait their turn.
    pub max_concurrent_requests: usize,
    /// Most SSE streams open at once; more get 503.
    pub max_streams: usize,
    /// Reconnection delay suggested to SSE clients.
    pub sse_retry: Duration,
    /// Interval of keep-alive comments on idle streams.
    pub keep_alive: Duration,
    /// How long in-flight calls may run after shutdown begins before they are cancelled.
    pub shutdown_grace: Duration,
    /// Extra JSON for `/health` (runtime, credentials, ...), supplied by the embedder.
    pub health: Option<Arc<dyn HealthReporter>>,
    /// Bearer tokens every request except `/health` must carry; `None`: no tokens.
    pub tokens: Option<Arc<bearer::TokenTable>>,
    /// Extra metrics for `/metrics` (tool calls, agents), supplied by the embedder.
    pub metrics: Option<Arc<dyn metrics::MetricsReporter>>,
    /// Paths of routes added with [`router_with`] that authenticate callers themselves
    /// and so skip the bearer check (mcpd's token broker: agents hold a ticket, not a
    /// bearer token). The `Host`/`Origin` check still applies to them.
    pub bearer_exempt_paths: Vec<String>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            host_policy: HostPolicy::loopback(),
            max_body_bytes: 16 * 1024 * 1024,
            max_concurrent_requests: 512,
            max_streams: 4096,
            sse_retry: Duration::from_millis(1000),
            keep_alive: Duration::from_secs(15),
            shutdown_grace: Duration::from_secs(10),
            health: None,
            tokens: None,
            metrics: None,
            bearer_exempt_paths: Vec::new(),
        }
    }
}

/// Shared by every route; its fields are those of [`HttpShared`]. Cloning it (which
/// the router does for every request) only counts a reference.
#[derive(Clone)]
pub struct HttpState(Arc<HttpShared>);

/// What [`HttpState`] shares.
pub struct HttpShared {
    /// The engine.
    pub server: McpServer,
    /// Limits and policies.
    pub options: HttpOptions,
    /// Permits for open streams.
    pub streams: Arc<Semaphore>,
    /// Cancelled when the server shuts down: every stream ends.
    pub shutdown: CancellationToken,
    /// Legacy `/sse` connections.
    pub sse: Arc<legacy_sse::Connections>,
    /// The port [`serve_router`] listens on: an `Origin` must name it (see [`guard`]).
    pub listen_port: std::sync::OnceLock<u16>,
}

impl std::ops::Deref for HttpState {
    type Target = HttpShared;

    fn deref(&self) -> &HttpShared {
        &self.0
    }
}

impl HttpState {
    /// State for a server with options.
    pub fn new(server: McpServer, options: HttpOptions) -> Self {
        Self(Arc::new(HttpShared {
            streams: Arc::new(Semaphore::new(options.max_streams)),
            server,
            options,
            shutdown: CancellationToken::new(),
            sse: Arc::new(legacy_sse::Connections::default()),
            listen_port: std::sync::OnceLock::new(),
        }))
    }

    /// Open streams right now (for health and tests).
    pub fn open_streams(&self) -> usize {
        self.options.max_streams - self.streams.available_permits()
    }
}

/// A JSON-RPC error as an HTTP response.
pub(crate) fn rpc_error(status: StatusCode, id: Option<RequestId>, error: ErrorObject) -> Response {
    json_response(status, &RpcResponse::error(id, error))
}

/// Any serialisable value as a JSON response.
pub(crate) fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A response body of a few chunks written in order, whose length is known up front
/// (so it goes out with `Content-Length`, like a single buffer would).
struct Chunks<const N: usize> {
    chunks: [Bytes; N],
    next: usize,
}

impl<const N: usize> hyper::body::Body for Chunks<N> {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let chunk = this.chunks.get_mut(this.next).map(std::mem::take);
        if chunk.is_some() {
            this.next += 1;
        }
        std::task::Poll::Ready(chunk.map(|c| Ok(hyper::body::Frame::data(c))))
    }

    fn is_end_stream(&self) -> bool {
        self.next >= N
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        let rest = self.chunks.get(self.next..).unwrap_or_default();
        hyper::body::SizeHint::with_exact(rest.iter().map(|c| c.len() as u64).sum())
    }
}

/// A JSON-RPC response the engine already serialised (see
/// [`McpServer::precomputed_response`]), as a `200 OK` JSON response.
pub(crate) fn encoded_response(encoded: EncodedResponse) -> Response {
    let mut response = Response::new(Body::new(Chunks {
        chunks: encoded.into_chunks(),
        next: 0,
    }));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A reply of the engine as an HTTP response: a cached one as `200 OK`, another with
/// `status`.
pub(crate) fn reply_response(status: StatusCode, reply: Reply) -> Response {
    match reply {
        Reply::Encoded(encoded) => encoded_response(encoded),
        Reply::Rpc(response) => json_response(status, &response),
    }
}

/// Numbers the SSE streams of requests (the stream part of event ids).
pub(crate) static STREAM_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// `202 Accepted` with no body: a notification or response was taken.
pub(crate) fn accepted() -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::ACCEPTED;
    r
}

/// The refusal when every stream permit is taken.
pub(crate) fn too_many_streams(id: Option<RequestId>) -> Response {
    rpc_error(
        StatusCode::SERVICE_UNAVAILABLE,
        id,
        ErrorObject::internal("too many open streams; retry shortly"),
    )
}

/// Resolves when a stream carrying a request's response must close for shutdown: once
/// the grace period after shutdown has passed, so calls in flight can still deliver
/// their responses (the server cancels what is left at the same moment).
pub(crate) async fn grace_after(shutdown: CancellationToken, grace: Duration) {
    shutdown.cancelled().await;
    tokio::time::sleep(grace).await;
}

/// A POST whose `Content-Type` is missing (`None`) or not JSON (what it was).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Content-Type must be application/json{}", .0.as_ref().map_or_else(String::new, |got| format!(", got {got:?}")))]
pub(crate) struct NotJson(Option<String>);

/// Checks that a POST declares a JSON body. Browsers send `text/plain`, form and
/// multipart bodies cross-site without a CORS preflight; `application/json` needs one,
/// so requiring it keeps other web pages from making the call. The error is the
/// message for a 415 answer.
pub(crate) fn require_json(headers: &http::HeaderMap) -> Result<(), NotJson> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(NotJson(None));
    };
    let essence = value
        .to_str()
        .ok()
        .and_then(|ct| ct.split(';').next())
        .map(str::trim);
    match essence {
        Some(e) if e.eq_ignore_ascii_case("application/json") => Ok(()),
        _ => Err(NotJson(Some(
            String::from_utf8_lossy(value.as_bytes()).into_owned(),
        ))),
    }
}

/// Reads a body up to the limit; a larger body is a 413 naming the limit.
pub(crate) async fn read_body(body: Body, limit: usize) -> Result<Bytes, Response> {
    match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(rpc_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                None,
                ErrorObject::invalid_request(format!(
                    "request body exceeds the limit of {limit} bytes"
                )),
            ))
        }
        Err(e) => Err(rpc_error(
            StatusCode::BAD_REQUEST,
            None,
            ErrorObject::invalid_request(format!("could not read the request body: {e}")),
        )),
    }
}

/// All routes, ready to serve. Routes of the embedder's go in through [`router_with`],
/// so that they sit behind the same checks: merged afterwards, they would not.
pub fn router(state: HttpState) -> Router {
    router_with(state, Router::new())
}

/// The engine's routes plus `extra`, all behind the `Host`/`Origin` and bearer checks
/// (`gate.rs`) and the concurrency bound.
pub fn router_with(state: HttpState, extra: Router) -> Router {
    let limit =
        tower::limit::GlobalConcurrencyLimitLayer::new(state.options.max_concurrent_requests);
    let bounded = Router::new()
        .route(
            "/mcp",
            post(streamable::post)
                .get(legacy_session::get)
                .delete(legacy_session::delete),
        )
        .route("/sse", get(legacy_sse::open))
        .route("/messages", post(legacy_sse::post))
        .route("/messages/", post(legacy_sse::post))
        .route("/tools/{name}", post(rest::post).get(rest::get))
        .with_state(state.clone())
        .merge(extra)
        .layer(limit);
    // Probes stay outside the request bound: long calls holding every permit must not
    // make the server look dead.
    Router::new()
        .route("/health", get(health::get))
        .route("/metrics", get(metrics::get))
        .fallback(not_found)
        .with_state(state.clone())
        .merge(bounded)
        .layer(gate::GateLayer::new(state))
}

async fn not_found(request: Request) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!(
            "no route for {} {}; MCP lives at /mcp (or /sse)",
            request.method(),
            request.uri().path()
        ),
    )
        .into_response()
}

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting,
/// closes streams, lets in-flight calls finish for the grace period and cancels the
/// rest.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    state: HttpState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt as _;
    if let Ok(addr) = listener.local_addr() {
        let _ = state.listen_port.set(addr.port());
    }
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let token = state.shutdown.clone();
    let server = state.server.clone();
    let grace = state.options.shutdown_grace;
    let signal = async move {
        shutdown.await;
        tracing::info!("shutting down: closing streams, letting in-flight calls finish");
        token.cancel();
        let server = server.clone();
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            server.in_flight().cancel_all();
            server.cancel_all_tasks();
            server.flush_tasks().await;
            server.sessions().close_all();
        });
    };
    axum::serve(listener, router)
        .with_graceful_shutdown(signal)
        .await
}

/// Serves the engine's standard routes; see [`serve_router`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    server: McpServer,
    options: HttpOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let state = HttpState::new(server, options);
    let app = router(state.clone());
    serve_router(listener, app, state, shutdown).await
}
