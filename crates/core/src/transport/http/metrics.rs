//! `GET /metrics`: Prometheus text exposition of the transport's own gauges plus what the
//! embedder reports (tool calls, agents), for dashboards and alerts.

use std::fmt::Write as _;

use axum::extract::State;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};

use super::HttpState;

/// Supplies the embedder's metrics, already in the text exposition format.
pub trait MetricsReporter: Send + Sync + 'static {
    /// Appends metric families (with `# HELP` and `# TYPE` lines) to `out`.
    fn render(&self, out: &mut String);
}

/// Appends one metric family with a single unlabelled sample.
pub fn gauge(out: &mut String, name: &str, kind: &str, help: &str, value: impl std::fmt::Display) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
    );
}

/// `GET /metrics`.
pub async fn get(State(state): State<HttpState>) -> Response {
    let mut out = String::with_capacity(2048);
    gauge(
        &mut out,
        "mcpd_uptime_seconds",
        "gauge",
        "Seconds since the server started.",
        state.server.uptime().as_secs(),
    );
    gauge(
        &mut out,
        "mcpd_sessions_open",
        "gauge",
        "Open legacy MCP sessions (streamable HTTP and SSE).",
        state.server.sessions().len() + state.sse.len(),
    );
    gauge(
        &mut out,
        "mcpd_streams_open",
        "gauge",
        "Open SSE streams.",
        state.open_streams(),
    );
    gauge(
        &mut out,
        "mcpd_requests_in_flight",
        "gauge",
        "Stateless requests being handled now.",
        state.server.in_flight().len(),
    );
    if let Some(reporter) = &state.options.metrics {
        reporter.render(&mut out);
    }
    let mut response = Response::new(axum::body::Body::from(out));
    *response.status_mut() = StatusCode::OK;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
