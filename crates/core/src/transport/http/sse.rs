//! Server-Sent Events framing and streaming response bodies.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use codex_mcp_protocol::jsonrpc::Message;
use futures::Stream;
use http::{HeaderValue, StatusCode, header};

/// One SSE event carrying a JSON-RPC message (`event: message`).
pub fn message_event(id: Option<&str>, message: &Message) -> Bytes {
    let mut out = String::with_capacity(128);
    out.push_str("event: message\n");
    if let Some(id) = id {
        out.push_str("id: ");
        out.push_str(id);
        out.push('\n');
    }
    out.push_str("data: ");
    out.push_str(&message.to_json());
    out.push_str("\n\n");
    Bytes::from(out)
}

/// The priming event: an id and empty data, plus the reconnection delay, so a client
/// can resume with `Last-Event-ID` before any message was sent.
pub fn priming_event(id: &str, retry: Duration) -> Bytes {
    Bytes::from(format!(
        "id: {id}\nretry: {}\ndata: \n\n",
        retry.as_millis()
    ))
}

/// A named event with raw data (the 2024-11-05 `endpoint` event).
pub fn named_event(event: &str, data: &str) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

/// A comment line that keeps idle connections open through proxies.
pub fn keep_alive() -> Bytes {
    Bytes::from_static(b": keep-alive\n\n")
}

/// Wraps an event stream as a `text/event-stream` response.
pub fn stream_response(
    stream: impl Stream<Item = Bytes> + Send + 'static,
    extra: &[(&'static str, HeaderValue)],
) -> Response {
    use futures::StreamExt as _;
    let body = Body::from_stream(stream.map(Ok::<_, Infallible>));
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    for (name, value) in extra {
        h.insert(*name, value.clone());
    }
    response
}
