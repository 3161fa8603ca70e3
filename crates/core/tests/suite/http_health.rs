//! `GET /health`: the transport's figures plus the embedder's.

use super::common;

use std::sync::Arc;
use std::time::Duration;

use codex_mcp_core::transport::http::{HealthReporter, HttpOptions};
use common::*;
use pretty_assertions::assert_eq;
use reqwest::StatusCode;
use serde_json::{Value, json};

struct Extra;

impl HealthReporter for Extra {
    fn report(&self) -> Value {
        json!({"runtime": "test-runtime", "credentials": {"configured": false}})
    }
}

async fn health(h: &Harness) -> Value {
    let response = within("GET /health", h.http.get(h.url("/health")).send())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/json");
    let mut body: Value = within("health body", response.json()).await.unwrap();
    let uptime = body["uptime_seconds"].take();
    assert!(
        uptime.is_u64(),
        "uptime_seconds must be an integer: {uptime}"
    );
    body
}

#[tokio::test]
async fn health_reports_status_server_and_counters() {
    let h = Harness::start().await;
    assert_eq!(
        health(&h).await,
        json!({
            "status": "ok",
            "server": h.server.info(),
            "uptime_seconds": null,
            "sessions": 0,
            "open_streams": 0,
            "in_flight": 0,
        })
    );
}

#[tokio::test]
async fn health_counts_sessions_and_streams_and_merges_embedder_facts() {
    let h = Harness::start_with(Config {
        http: HttpOptions {
            health: Some(Arc::new(Extra)),
            ..HttpOptions::default()
        },
        ..Config::default()
    })
    .await;
    let session = h.initialize().await;
    let mut stream = SseReader::new(h.open_get_stream(&session).await);
    stream.expect_event("priming").await;
    assert_eq!(
        health(&h).await,
        json!({
            "status": "ok",
            "server": h.server.info(),
            "uptime_seconds": null,
            "sessions": 1,
            "open_streams": 1,
            "in_flight": 0,
            "runtime": "test-runtime",
            "credentials": {"configured": false},
        })
    );
}

#[tokio::test]
async fn health_and_metrics_answer_while_long_calls_hold_every_request_permit() {
    let h = Harness::start_with(Config {
        http: HttpOptions {
            max_concurrent_requests: 2,
            ..HttpOptions::default()
        },
        ..Config::default()
    })
    .await;
    let calls: Vec<_> = (0..2).map(|_| h.start_slow_call(None)).collect();
    eventually(STEP, "both slow calls run", || h.probes.slow_started() == 2).await;
    for path in ["/health", "/metrics"] {
        let response = within_for(
            Duration::from_secs(2),
            &format!("GET {path} while every permit is held"),
            h.http.get(h.url(path)).send(),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    assert_eq!(health(&h).await["in_flight"], json!(2));
    calls.iter().for_each(|c| c.abort());
}
