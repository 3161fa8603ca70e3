//! The live dashboard (`GET /dashboard`): one page, embedded in the binary, that shows
//! the server, its agents, the calls running now (with Codex's latest progress and a
//! cancel button) and the recent ones, updated by server-sent events.
//!
//! - [`hub`]: the live state the agent manager publishes calls into.
//! - [`sampler`]: server and agent figures, gathered only while a page watches.
//! - [`feed`]: `GET /dashboard/events`, the page's feed, filtered by bearer token.
//! - `POST /dashboard/cancel`: stops a running call the caller's token may act for.
//! - [`outputs`]: `GET /dashboard/calls/{id}/result` and `/diff`, a finished call's full
//!   result and diff, for the token that may see its agent.
//!
//! The routes go in through [`crate::transport::http::router_with`], behind the same
//! `Host`/`Origin` and bearer checks as every route. Only the page itself (`/dashboard`,
//! static HTML with no data in it) must be bearer-exempt, because a browser cannot add a
//! header when it follows a link: the page then asks for the token and sends it as
//! `Authorization: Bearer` on the feed and the cancel requests.

pub mod feed;
pub mod outputs;
pub mod sampler;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use axum::routing::{get, post};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use parking_lot::Mutex;
use serde_json::json;
use tokio::sync::watch;

pub use crate::agents::live::{
    CancelError, DashboardHub, FinishedCall, HubEvent, RunningCall, UsagePoint,
};

use crate::agents::AgentManager;
use crate::agents::identity::Scope;
use crate::transport::http::bearer::{BearerError, TokenGrant};
use crate::transport::http::{HttpState, json_response, read_body, require_json};

/// The page's path: the one dashboard route a browser opens without a token.
pub const PAGE_PATH: &str = "/dashboard";

/// The page, with its script and styles inline (no CDN, no build step).
const PAGE: &str = include_str!("page.html");

/// Which agents a caller may see: every one without tokens or for an admin (or `"*"`)
/// token, else those its token lists, the rule of the server tools
/// ([`crate::agents::identity::Scope`]).
#[derive(Clone)]
pub struct Visibility(Option<Arc<TokenGrant>>);

impl Visibility {
    /// The caller's scope, as the server tools and resources see it.
    pub fn scope(&self) -> Scope<'_> {
        match self.0.as_deref() {
            Some(grant) if !grant.sees_all() => Scope::Token(grant),
            _ => Scope::All,
        }
    }

    /// Whether the caller may see `agent` and its calls.
    pub fn allows(&self, agent: &str) -> bool {
        self.scope().allows(agent)
    }

    /// Whether the caller may stop `agent`'s calls: only as an agent it may act as (as
    /// `notifications/cancelled` reaches only the canceller's own requests). An admin
    /// token sees every agent but stops only its listed agents' calls.
    pub fn may_cancel(&self, agent: &str) -> bool {
        self.0.as_deref().is_none_or(|grant| grant.allows(agent))
    }
}

/// What the dashboard routes share.
pub struct Dashboard {
    hub: Arc<DashboardHub>,
    manager: Arc<AgentManager>,
    http: HttpState,
    samples: watch::Sender<Arc<sampler::Sample>>,
    sampler: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Dashboard {
    /// The dashboard of `manager`'s agents, served with `http`'s limits and tokens.
    pub fn new(manager: Arc<AgentManager>, http: HttpState) -> Arc<Self> {
        Arc::new(Self {
            hub: Arc::clone(manager.dashboard()),
            manager,
            http,
            samples: watch::channel(Arc::new(sampler::Sample::default())).0,
            sampler: Mutex::new(None),
        })
    }

    /// The routes: the page, its feed, cancel and the calls' stored outputs. Merge with
    /// [`crate::transport::http::router_with`] and list [`PAGE_PATH`] among the
    /// bearer-exempt paths.
    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route(PAGE_PATH, get(page))
            .route("/dashboard/events", get(feed::events))
            .route("/dashboard/cancel", post(cancel))
            .route("/dashboard/calls/{id}/{part}", get(outputs::get))
            .with_state(Arc::clone(self))
    }

    /// Who is asking, from the bearer token (the gate has already checked it).
    fn visibility(&self, headers: &HeaderMap) -> Result<Visibility, BearerError> {
        match &self.http.options.tokens {
            None => Ok(Visibility(None)),
            Some(tokens) => tokens.check(headers).map(|g| Visibility(Some(g))),
        }
    }

    /// Starts the sampler unless it is running (called by the first watcher).
    fn start_sampler(&self) {
        let mut slot = self.sampler.lock();
        if slot.as_ref().is_some_and(|task| !task.is_finished()) {
            return;
        }
        *slot = Some(tokio::spawn(sampler::run(
            Arc::clone(&self.hub),
            Arc::clone(&self.manager),
            self.http.clone(),
            self.samples.clone(),
        )));
    }

    /// Whether the sampler task is running (for tests of "no sampling unwatched").
    pub fn sampling(&self) -> bool {
        self.sampler
            .lock()
            .as_ref()
            .is_some_and(|task| !task.is_finished())
    }
}

/// The answer to a request without a valid token (the gate normally gives it first).
fn unauthorized(error: &BearerError) -> Response {
    json_response(
        StatusCode::UNAUTHORIZED,
        &json!({ "error": error.to_string() }),
    )
}

/// `GET /dashboard`.
async fn page() -> Response {
    let mut response = Response::new(Body::from(PAGE));
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Nothing from elsewhere: inline script and style only, no framing by other sites.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

/// The body of `POST /dashboard/cancel`.
#[derive(serde::Deserialize)]
struct CancelRequest {
    /// The call's correlation id.
    call: String,
}

/// `POST /dashboard/cancel` with `{"call": "<id>"}`: stops a running call. JSON only, so
/// another web page cannot post it without a CORS preflight (which it would fail).
async fn cancel(
    State(dashboard): State<Arc<Dashboard>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let visible = match dashboard.visibility(&headers) {
        Ok(v) => v,
        Err(e) => return unauthorized(&e),
    };
    if let Err(why) = require_json(&headers) {
        return json_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &json!({ "error": why.to_string() }),
        );
    }
    let bytes = match read_body(body, 4096).await {
        Ok(b) => b,
        Err(response) => return response,
    };
    let request: CancelRequest = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            return json_response(
                StatusCode::BAD_REQUEST,
                &json!({ "error": format!("expected {{\"call\": \"<call id>\"}}: {e}") }),
            );
        }
    };
    match dashboard
        .hub
        .cancel(&request.call, |agent| visible.may_cancel(agent))
    {
        Ok(()) => json_response(StatusCode::OK, &json!({ "cancelled": request.call })),
        Err(e @ CancelError::Unknown(_)) => {
            json_response(StatusCode::NOT_FOUND, &json!({ "error": e.to_string() }))
        }
    }
}
