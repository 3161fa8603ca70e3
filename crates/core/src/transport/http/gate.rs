//! The checks every HTTP request passes before it reaches a route: `Host`/`Origin`
//! against DNS rebinding (403), then, when bearer tokens are configured, the token
//! (401). Exempt from the token: `/health` (it answers a minimal body without one) and
//! the routes the embedder names in `bearer_exempt_paths`, which authenticate callers
//! themselves. Nothing is exempt from the `Host`/`Origin` check.
//!
//! One small tower layer with a concrete future rather than two `axum::middleware::from_fn`
//! functions: it runs on every request, and each `from_fn` boxed a clone of the rest of
//! the stack and its future per request (about a tenth of `mcpd`'s user-space CPU on
//! `ping`).

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use codex_mcp_protocol::ErrorObject;
use futures::future::Either;
use http::{HeaderValue, StatusCode, header};
use tower::{Layer, Service};

use super::caller::Caller;
use super::{HttpState, json_response, rpc_error};

/// Wraps each route in a [`Gate`].
#[derive(Clone)]
pub struct GateLayer {
    state: HttpState,
}

impl GateLayer {
    /// Checks requests against the host policy and tokens of `state`.
    pub fn new(state: HttpState) -> Self {
        Self { state }
    }
}

impl<S> Layer<S> for GateLayer {
    type Service = Gate<S>;

    fn layer(&self, inner: S) -> Gate<S> {
        Gate {
            inner,
            state: self.state.clone(),
        }
    }
}

/// A route behind the request checks; see the module documentation.
#[derive(Clone)]
pub struct Gate<S> {
    inner: S,
    state: HttpState,
}

impl<S> Service<Request> for Gate<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<Ready<Result<Response, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        match admit(&self.state, &mut request) {
            Some(response) => Either::Left(ready(Ok(response))),
            None => Either::Right(self.inner.call(request)),
        }
    }
}

/// The response refusing `request`, or `None` when it may pass. A valid bearer token's
/// grant goes into the request's extensions as a [`Caller`]: this is the only place a
/// token is checked; routes read the grant from there.
fn admit(state: &HttpState, request: &mut Request) -> Option<Response> {
    let own_port = state.listen_port.get().copied();
    if let Err(why) = state.options.host_policy.check(request.headers(), own_port) {
        return Some(rpc_error(
            StatusCode::FORBIDDEN,
            None,
            ErrorObject::invalid_request(why.to_string()),
        ));
    }
    let tokens = state.options.tokens.as_ref()?;
    let why = match tokens.check(request.headers()) {
        Ok(grant) => {
            request.extensions_mut().insert(Caller(grant));
            return None;
        }
        Err(why) => why,
    };
    let path = request.uri().path();
    if path == "/health" || state.options.bearer_exempt_paths.iter().any(|p| p == path) {
        return None;
    }
    let mut response = json_response(
        StatusCode::UNAUTHORIZED,
        &serde_json::json!({ "error": why.to_string() }),
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"mcpd\""),
    );
    Some(response)
}
