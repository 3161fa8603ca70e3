//! Tests of the scripted server over plain HTTP/1.1 (no Codex involved).

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::ScriptedModel;
use crate::reply::{Reply, Usage};

/// Sends one request with `Connection: close` and returns (status, body).
async fn http(model: &ScriptedModel, method: &str, path: &str, body: &str) -> (u16, String) {
    let mut s = TcpStream::connect(model.addr()).await.unwrap();
    let req = format!(
        "{method} {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer tok-{method}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8(buf).unwrap();
    let status = text[9..12].parse().unwrap();
    let body = text.split_once("\r\n\r\n").unwrap().1.to_owned();
    (status, body)
}

fn sse_data(body: &str) -> Vec<Value> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str(d).ok())
        .collect()
}

fn prompt(text: &str) -> String {
    json!({"model": "m", "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    ]})
    .to_string()
}

#[tokio::test]
async fn queue_then_fallback_and_recording() {
    let model = ScriptedModel::start().await.unwrap();
    assert!(model.base_url().starts_with("http://127.0.0.1:"));
    assert!(model.base_url().ends_with("/v1"));
    model.push(Reply::text("one").with_usage(Usage::new(11, 7).cached(3)));
    model.push(Reply::http_error(500, "boom"));

    let (status, body) = http(&model, "POST", "/v1/responses", &prompt("a")).await;
    assert_eq!(status, 200);
    let events = sse_data(&body);
    assert_eq!(events[0]["type"], "response.created");
    assert_eq!(events[1]["item"]["content"][0]["text"], "one");
    assert_eq!(events[2]["response"]["usage"]["input_tokens"], 11);
    assert_eq!(events[2]["response"]["usage"]["total_tokens"], 18);

    let (status, body) = http(&model, "POST", "/v1/responses", &prompt("b")).await;
    assert_eq!(status, 500);
    assert!(body.contains("boom"));

    let (status, body) = http(&model, "POST", "/v1/responses", &prompt("c")).await;
    assert_eq!(status, 400);
    assert!(body.contains("no scripted reply left"), "{body}");

    let (status, body) = http(&model, "GET", "/v1/models?client_version=1", "").await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        json!({"models": []})
    );
    let (status, _) = http(&model, "GET", "/backend-api/wham/accounts/check", "").await;
    assert_eq!(status, 404);

    let all = model.requests();
    assert_eq!(all.len(), 5);
    assert_eq!(all[3].path, "/v1/models");
    assert_eq!(all[3].query.as_deref(), Some("client_version=1"));
    let turns = model.responses_requests();
    assert_eq!(turns.len(), 3);
    assert_eq!(turns[1].last_user_text().as_deref(), Some("b"));
    assert_eq!(turns[0].bearer(), Some("tok-POST"));
    assert_eq!(model.pending_replies(), 0);
}

#[tokio::test]
async fn matchers_and_from_fn_route_by_request() {
    let model = ScriptedModel::start().await.unwrap();
    model.push_matching(
        |r| r.last_user_text().as_deref() == Some("for-b"),
        Reply::text("b-reply"),
    );
    model.set_fallback(Reply::from_fn(|r| {
        Reply::text(format!("echo {}", r.last_user_text().unwrap_or_default()))
    }));
    let (_, body) = http(&model, "POST", "/v1/responses", &prompt("for-a")).await;
    assert_eq!(
        sse_data(&body)[1]["item"]["content"][0]["text"],
        "echo for-a"
    );
    let (_, body) = http(&model, "POST", "/v1/responses", &prompt("for-b")).await;
    assert_eq!(sse_data(&body)[1]["item"]["content"][0]["text"], "b-reply");
    let (_, body) = http(&model, "POST", "/v1/responses", &prompt("for-b")).await;
    assert_eq!(
        sse_data(&body)[1]["item"]["content"][0]["text"],
        "echo for-b"
    );
}

#[tokio::test]
async fn exec_command_and_broken_streams() {
    let model = ScriptedModel::start().await.unwrap();
    model.push(Reply::exec_command("echo hi > f.txt"));
    model.push(Reply::malformed_sse());
    model.push(Reply::failed("server_error", "it broke"));
    let (_, body) = http(&model, "POST", "/v1/responses", &prompt("x")).await;
    let item = &sse_data(&body)[1]["item"];
    assert_eq!(item["type"], "function_call");
    assert_eq!(item["name"], "exec_command");
    assert!(item["call_id"].as_str().unwrap().starts_with("call_"));
    let args: Value = serde_json::from_str(item["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, json!({"cmd": "echo hi > f.txt"}));
    let (status, body) = http(&model, "POST", "/v1/responses", &prompt("x")).await;
    assert_eq!(status, 200);
    assert!(body.contains("{this is not json"));
    let (_, body) = http(&model, "POST", "/v1/responses", &prompt("x")).await;
    assert_eq!(sse_data(&body)[1]["type"], "response.failed");
}

#[tokio::test]
async fn slow_waits_and_hang_ends_when_dropped() {
    let model = ScriptedModel::start().await.unwrap();
    model.push(Reply::slow(Duration::from_millis(200), Reply::text("late")));
    let started = std::time::Instant::now();
    let (_, body) = http(&model, "POST", "/v1/responses", &prompt("x")).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert!(body.contains("late"));

    model.push(Reply::hang());
    let addr = model.addr();
    let client = tokio::spawn(async move {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let body = prompt("x");
        let req = format!(
            "POST /v1/responses HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf).await;
        String::from_utf8_lossy(&buf).into_owned()
    });
    model
        .wait_for_responses_requests(2, Duration::from_secs(5))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !client.is_finished(),
        "a hanging reply must keep the stream open"
    );
    drop(model);
    let text = tokio::time::timeout(Duration::from_secs(5), client)
        .await
        .expect("dropping the server must close the hanging stream")
        .unwrap();
    assert!(text.contains("response.created"));
}

#[tokio::test]
async fn streaming_sends_reasoning_items_before_the_answer() {
    let model = ScriptedModel::start().await.unwrap();
    model.push(Reply::streaming(
        Duration::from_millis(900),
        Duration::from_millis(300),
        Reply::text("the end").with_usage(Usage::new(4, 2)),
    ));
    let mut s = TcpStream::connect(model.addr()).await.unwrap();
    let body = prompt("x");
    let req = format!(
        "POST /v1/responses HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    // The first reasoning item arrives while the answer has not been sent yet.
    let mut text = String::new();
    let mut buf = [0u8; 4096];
    while !text.contains("step 1 of 3") {
        let n = s.read(&mut buf).await.unwrap();
        assert!(n > 0, "the stream ended early: {text}");
        text.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(!text.contains("response.completed"), "{text}");
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).await.unwrap();
    text.push_str(&String::from_utf8_lossy(&rest));
    // Chunked transfer encoding puts sizes between the events; keep the data lines.
    let events = sse_data(&text);
    let kinds: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            let item = &e["item"];
            let detail = item["summary"][0]["text"]
                .as_str()
                .or(item["content"][0]["text"].as_str())
                .unwrap_or_default();
            (e["type"].as_str().unwrap().to_string(), detail.to_string())
        })
        .collect();
    let done = |d: &str| ("response.output_item.done".to_string(), d.to_string());
    assert_eq!(
        kinds,
        vec![
            ("response.created".to_string(), String::new()),
            done("step 1 of 3"),
            done("step 2 of 3"),
            done("step 3 of 3"),
            done("the end"),
            ("response.completed".to_string(), String::new()),
        ]
    );
    assert_eq!(events[1]["item"]["id"], "rs_1_0");
    assert_eq!(events[4]["output_index"], 3);
    assert_eq!(events[5]["response"]["usage"]["total_tokens"], 6);
}

#[tokio::test]
async fn streaming_an_error_waits_then_sends_it() {
    let model = ScriptedModel::start().await.unwrap();
    model.push(Reply::streaming(
        Duration::from_millis(50),
        Duration::from_millis(10),
        Reply::http_error(503, "busy"),
    ));
    let (status, body) = http(&model, "POST", "/v1/responses", &prompt("x")).await;
    assert_eq!(status, 503);
    assert!(body.contains("busy"), "{body}");
}
