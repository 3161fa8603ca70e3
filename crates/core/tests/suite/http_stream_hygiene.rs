//! Stream hygiene: a client opens 1,000 SSE streams of every kind and drops them all;
//! the server must release every stream permit, request and task.

use super::common;

use std::time::{Duration, Instant};

use common::*;
use futures::StreamExt as _;
use pretty_assertions::assert_eq;
use reqwest::StatusCode;
use serde_json::json;

const GET_STREAMS: usize = 400;
const LEGACY_POSTS: usize = 300;
const MODERN_POSTS: usize = 300;
const TOTAL: usize = GET_STREAMS + LEGACY_POSTS + MODERN_POSTS;
/// Tasks that may legitimately differ between the two measurements (timers, pool
/// housekeeping).
const TASK_SLACK: usize = 8;

fn alive_tasks() -> usize {
    tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_dropped_streams_leave_nothing_behind() {
    let started = Instant::now();
    let h = Harness::start().await;

    // One legacy session per GET stream (a session has at most one).
    let sessions: Vec<String> = futures::stream::iter(0..GET_STREAMS)
        .map(|_| h.initialize())
        .buffer_unordered(16)
        .collect()
        .await;
    assert_eq!(h.server.sessions().len(), GET_STREAMS);

    // Let the setup's connections settle before measuring.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let tasks_before = alive_tasks();

    let streams_client = client();
    let get = |session: String| {
        let c = streams_client.clone();
        let url = h.url("/mcp");
        async move {
            let response = within(
                "GET stream",
                c.get(url)
                    .header("accept", "text/event-stream")
                    .header("mcp-session-id", session)
                    .send(),
            )
            .await
            .expect("GET sent");
            assert_eq!(response.status(), StatusCode::OK);
            let mut reader = SseReader::new(response);
            reader.expect_event("GET priming").await;
            reader
        }
    };
    let legacy_post = |i: usize| {
        let c = streams_client.clone();
        let url = h.url("/mcp");
        let session = sessions[i % sessions.len()].clone();
        async move {
            let body = json!({
                "jsonrpc": "2.0", "id": 10_000 + i, "method": "tools/call",
                "params": {"name": "block"}
            });
            let response = within(
                "legacy POST stream",
                c.post(url)
                    .header("content-type", "application/json")
                    .header("accept", "application/json, text/event-stream")
                    .header("mcp-session-id", session)
                    .json(&body)
                    .send(),
            )
            .await
            .expect("POST sent");
            assert_eq!(response.status(), StatusCode::OK);
            let mut reader = SseReader::new(response);
            reader.expect_event("legacy priming").await;
            reader
        }
    };
    let modern_post = |i: usize| {
        let c = streams_client.clone();
        let url = h.url("/mcp");
        async move {
            let body = modern_request(
                20_000 + i as i64,
                "tools/call",
                json!({"name": "block", "_meta": {"progressToken": i}}),
            );
            let mut req = c.post(url).header("content-type", "application/json");
            for (k, v) in modern_headers("tools/call", Some("block")) {
                req = req.header(k, v);
            }
            let response = within("modern POST stream", req.json(&body).send())
                .await
                .expect("POST sent");
            assert_eq!(response.status(), StatusCode::OK);
            let mut reader = SseReader::new(response);
            reader.expect_event("modern progress").await;
            reader
        }
    };

    let mut readers: Vec<SseReader> = Vec::with_capacity(TOTAL);
    let gets: Vec<SseReader> = futures::stream::iter(sessions.clone())
        .map(get)
        .buffer_unordered(64)
        .collect()
        .await;
    readers.extend(gets);
    let legacy: Vec<SseReader> = futures::stream::iter(0..LEGACY_POSTS)
        .map(legacy_post)
        .buffer_unordered(64)
        .collect()
        .await;
    readers.extend(legacy);
    let modern: Vec<SseReader> = futures::stream::iter(0..MODERN_POSTS)
        .map(modern_post)
        .buffer_unordered(64)
        .collect()
        .await;
    readers.extend(modern);

    assert_eq!(readers.len(), TOTAL);
    assert_eq!(h.open_streams(), TOTAL);
    assert_eq!(h.server.in_flight().len(), MODERN_POSTS);
    assert_eq!(h.probes.block_started(), LEGACY_POSTS + MODERN_POSTS);

    drop(readers);
    drop(streams_client);

    eventually(
        Duration::from_secs(5),
        "every stream permit released",
        || h.open_streams() == 0,
    )
    .await;
    eventually(
        Duration::from_secs(5),
        "every modern request cancelled and unregistered",
        || h.server.in_flight().is_empty(),
    )
    .await;

    // Legacy requests outlive a disconnect by design; ending the sessions ends them.
    let live: Vec<_> = sessions
        .iter()
        .map(|s| h.server.sessions().get(s).expect("session still open"))
        .collect();
    assert_eq!(
        live.iter().map(|s| s.in_flight.len()).sum::<usize>(),
        LEGACY_POSTS
    );
    for session in &sessions {
        let response = within(
            "DELETE",
            h.http
                .delete(h.url("/mcp"))
                .header("mcp-session-id", session)
                .send(),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    eventually(
        Duration::from_secs(5),
        "legacy requests cancelled by DELETE",
        || live.iter().all(|s| s.in_flight.is_empty()),
    )
    .await;
    assert_eq!(h.server.sessions().len(), 0);
    drop(live);

    let mut tasks_after = alive_tasks();
    let deadline = Instant::now() + Duration::from_secs(5);
    while tasks_after > tasks_before + TASK_SLACK && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        tasks_after = alive_tasks();
    }
    assert!(
        tasks_after <= tasks_before + TASK_SLACK,
        "tasks leaked: {tasks_before} alive before the streams, {tasks_after} after"
    );
    assert_eq!(h.open_streams(), 0);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the hygiene run took {:?}",
        started.elapsed()
    );
}
