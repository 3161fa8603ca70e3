//! `GET /dashboard/events`: the page's live feed, as server-sent events.
//!
//! The page reads it with `fetch` (not `EventSource`, which cannot send the bearer
//! token), so the token travels in the `Authorization` header like on every other
//! route and never in a URL. Events: `snapshot` (running and recent calls, on connect),
//! `call` (a call started, progressed or finished), `sample` (server and agents, every
//! [`super::sampler::SAMPLE_INTERVAL`]). Each carries only what the caller's token may
//! see.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::sampler::Sample;
use super::{Dashboard, Visibility};
use crate::transport::http::{json_response, sse};

/// The sample as `visible` may see it: only its agents.
fn filtered(sample: &Sample, visible: &Visibility) -> Bytes {
    let agents: Vec<_> = sample
        .agents
        .iter()
        .filter(|a| visible.allows(&a.id))
        .collect();
    let body = json!({ "server": sample.server, "agents": agents });
    sse::named_event("sample", &body.to_string())
}

/// `GET /dashboard/events`.
pub async fn events(State(dashboard): State<Arc<Dashboard>>, headers: HeaderMap) -> Response {
    let visible = match dashboard.visibility(&headers) {
        Ok(v) => v,
        Err(e) => return super::unauthorized(&e),
    };
    let Ok(permit) = Arc::clone(&dashboard.http.streams).try_acquire_owned() else {
        return json_response(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({ "error": "too many open streams (MCPD_MAX_STREAMS); close a page or raise it" }),
        );
    };
    let (guard, first) = dashboard.hub.watch();
    if first {
        dashboard.start_sampler();
    }
    let mut calls = dashboard.hub.subscribe();
    let mut samples = dashboard.samples.subscribe();
    let shutdown = dashboard.http.shutdown.clone();
    let keep_alive = dashboard.http.options.keep_alive;
    let hub = Arc::clone(&dashboard.hub);
    let stream = async_stream::stream! {
        let _permit = permit;
        let _guard = guard;
        let snapshot = json!({
            "running": hub.running(|a| visible.allows(a)),
            "recent": hub.recent(|a| visible.allows(a)),
        });
        yield sse::named_event("snapshot", &snapshot.to_string());
        let current = Arc::clone(&samples.borrow_and_update());
        if !current.server.is_null() {
            yield filtered(&current, &visible);
        }
        let mut idle = tokio::time::interval(keep_alive);
        idle.reset();
        loop {
            tokio::select! {
                event = calls.recv() => match event {
                    Ok(event) if visible.allows(event.agent()) => {
                        yield sse::named_event("call", &json!(event).to_string());
                    }
                    Ok(_) => {}
                    // Fell behind: start over from a fresh snapshot.
                    Err(RecvError::Lagged(_)) => {
                        let snapshot = json!({
                            "running": hub.running(|a| visible.allows(a)),
                            "recent": hub.recent(|a| visible.allows(a)),
                        });
                        yield sse::named_event("snapshot", &snapshot.to_string());
                    }
                    Err(RecvError::Closed) => break,
                },
                changed = samples.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let sample = Arc::clone(&samples.borrow_and_update());
                    yield filtered(&sample, &visible);
                }
                _ = idle.tick() => yield sse::keep_alive(),
                () = shutdown.cancelled() => break,
            }
        }
    };
    sse::stream_response(stream, &[])
}
