//! `GET /health`: a JSON summary for people, load balancers and `curl`.
//!
//! With bearer tokens configured, a caller without a valid token gets only
//! [`minimal_report`] (status and version): the full report names credential sources,
//! paths and problems, which are for the server's users, not for anyone who can reach
//! the port.

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use serde_json::{Value, json};

use super::{HttpState, json_response};

/// Supplies the embedder's part of `/health` (runtime, credentials, agents, ...).
pub trait HealthReporter: Send + Sync + 'static {
    /// Extra fields merged into the health document; must never contain secrets.
    fn report(&self) -> Value;
}

/// The transport's own figures.
pub fn transport_report(state: &HttpState) -> Value {
    json!({
        "status": "ok",
        "server": state.server.info(),
        "uptime_seconds": state.server.uptime().as_secs(),
        "sessions": state.server.sessions().len() + state.sse.len(),
        "open_streams": state.open_streams(),
        "in_flight": state.server.in_flight().len(),
    })
}

/// What a caller without a valid token sees when tokens are required.
pub fn minimal_report(state: &HttpState) -> Value {
    json!({
        "status": "ok",
        "version": state.server.info().version,
    })
}

/// `GET /health`.
pub async fn get(State(state): State<HttpState>, request: axum::extract::Request) -> Response {
    if state.options.tokens.is_some() && super::caller::grant(request.extensions()).is_none() {
        return json_response(StatusCode::OK, &minimal_report(&state));
    }
    let mut body = transport_report(&state);
    if let (Some(reporter), Some(obj)) = (&state.options.health, body.as_object_mut())
        && let Value::Object(extra) = reporter.report()
    {
        obj.extend(extra);
    }
    json_response(StatusCode::OK, &body)
}
