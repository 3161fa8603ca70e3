//! MCP over stdio (`transport::stdio::serve`), driven through an in-memory duplex pipe.

use super::common;

use std::time::Duration;

use codex_mcp_core::server::McpServer;
use codex_mcp_core::transport::stdio::{StdioOptions, serve};
use common::*;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::io::{
    AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines, ReadHalf, WriteHalf,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

struct Stdio {
    writer: Option<WriteHalf<DuplexStream>>,
    lines: Lines<BufReader<ReadHalf<DuplexStream>>>,
    served: Option<JoinHandle<std::io::Result<()>>>,
    server: McpServer,
    probes: Probes,
    shutdown: CancellationToken,
}

impl Stdio {
    fn start() -> Self {
        Self::start_with(StdioOptions::default())
    }

    fn start_with(options: StdioOptions) -> Self {
        let probes = Probes::default();
        let server = build_server(&Config::default(), &probes);
        Self::serving(server, probes, options)
    }

    /// A stdio connection to an engine that may be serving other transports too.
    fn serving(server: McpServer, probes: Probes, options: StdioOptions) -> Self {
        let (client_side, server_side) = tokio::io::duplex(1 << 20);
        let (server_read, server_write) = tokio::io::split(server_side);
        let (client_read, client_write) = tokio::io::split(client_side);
        let shutdown = CancellationToken::new();
        let served = tokio::spawn(serve(
            server.clone(),
            server_read,
            server_write,
            options,
            shutdown.clone(),
        ));
        Self {
            writer: Some(client_write),
            lines: BufReader::new(client_read).lines(),
            served: Some(served),
            server,
            probes,
            shutdown,
        }
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        let writer = self.writer.as_mut().expect("stdin open");
        within("write to stdin", async {
            writer.write_all(bytes).await.unwrap();
            writer.flush().await.unwrap();
        })
        .await;
    }

    async fn send(&mut self, message: &Value) {
        let mut line = serde_json::to_vec(message).unwrap();
        line.push(b'\n');
        self.send_raw(&line).await;
    }

    async fn recv(&mut self) -> Value {
        let line = within("a line on stdout", self.lines.next_line())
            .await
            .expect("read stdout")
            .expect("stdout ended");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdout line {line:?}: {e}"))
    }

    async fn request(&mut self, message: &Value) -> Value {
        self.send(message).await;
        self.recv().await
    }

    async fn initialize(&mut self) {
        let response = self.request(&initialize_request(1, LEGACY)).await;
        assert_eq!(response["result"]["protocolVersion"], json!(LEGACY));
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
    }

    /// Ends stdin (EOF) without touching stdout.
    async fn eof(&mut self) {
        let mut writer = self.writer.take().expect("stdin open");
        within("close stdin", writer.shutdown()).await.unwrap();
    }

    /// Closes stdin and waits for `serve` to return.
    async fn close(&mut self) -> std::io::Result<()> {
        self.eof().await;
        let served = self.served.take().expect("served");
        within("serve returns after EOF", served).await.unwrap()
    }
}

impl Drop for Stdio {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

#[tokio::test]
async fn initialize_answers_with_one_line() {
    let mut io = Stdio::start();
    let response = io.request(&initialize_request(1, LEGACY)).await;
    assert_eq!(
        response,
        json!({
            "jsonrpc": "2.0",
            "id": 1,
            "result": {
                "protocolVersion": LEGACY,
                "capabilities": {"tools": {"listChanged": false}, "logging": {}},
                "serverInfo": io.server.info(),
            }
        })
    );
    assert_eq!(io.server.sessions().len(), 1);
    io.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;
    let tools = io
        .request(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .await;
    let names: Vec<&str> = tools["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, FIXTURE_TOOLS.to_vec());
    let echo = io
        .request(&call_request(3, "echo", json!({"text": "piped"})))
        .await;
    assert_eq!(
        echo,
        json!({"jsonrpc": "2.0", "id": 3, "result": {"content": [{"type": "text", "text": "piped"}]}})
    );
    io.close().await.unwrap();
    assert_eq!(io.server.sessions().len(), 0, "EOF ends the session");
}

#[tokio::test]
async fn a_request_before_initialize_is_an_error() {
    let mut io = Stdio::start();
    let response = io
        .request(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
        .await;
    assert_eq!(
        response,
        json!({
            "jsonrpc": "2.0",
            "id": 1,
            "error": {
                "code": -32600,
                "message": "Invalid request: the session is not initialized: send initialize first"
            }
        })
    );
}

#[tokio::test]
async fn a_malformed_line_is_a_parse_error_and_the_loop_continues() {
    let mut io = Stdio::start();
    io.send_raw(b"{this is not json\n").await;
    let error = io.recv().await;
    assert_eq!(error["error"]["code"], json!(-32700));
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Parse error"),
        "{error}"
    );
    assert_eq!(error.get("id"), None);

    io.send_raw(b"\xff\xfe\n").await;
    let error = io.recv().await;
    assert_eq!(error["error"]["code"], json!(-32700));
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("UTF-8")
    );

    io.send_raw(b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]\n")
        .await;
    let error = io.recv().await;
    assert_eq!(error["error"]["code"], json!(-32600));

    // Blank lines are skipped silently; the next request works.
    io.send_raw(b"\n   \n").await;
    io.initialize().await;
    let pong = io
        .request(&json!({"jsonrpc": "2.0", "id": 9, "method": "ping"}))
        .await;
    assert_eq!(pong, json!({"jsonrpc": "2.0", "id": 9, "result": {}}));
}

#[tokio::test]
async fn notifications_cancelled_stops_a_running_call_without_a_response() {
    let mut io = Stdio::start();
    io.initialize().await;
    io.send(&json!({
        "jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "block", "arguments": {}}
    }))
    .await;
    eventually(STEP, "block started", || io.probes.block_started() == 1).await;
    // Requests run concurrently: the blocked call does not hold up others.
    let pong = io
        .request(&json!({"jsonrpc": "2.0", "id": 8, "method": "ping"}))
        .await;
    assert_eq!(pong["id"], json!(8));

    io.send(&json!({
        "jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 7, "reason": "test"}
    }))
    .await;
    eventually(STEP, "the tool observes cancellation", || {
        io.probes.was_cancelled()
    })
    .await;
    // The next line is the answer to a later request, never one for id 7.
    let pong = io
        .request(&json!({"jsonrpc": "2.0", "id": 10, "method": "ping"}))
        .await;
    assert_eq!(pong, json!({"jsonrpc": "2.0", "id": 10, "result": {}}));
    let session = io.server.sessions().len();
    assert_eq!(session, 1);
}

#[tokio::test]
async fn progress_notifications_precede_the_response() {
    let mut io = Stdio::start();
    io.initialize().await;
    io.send(&json!({
        "jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": {"name": "progress", "arguments": {"steps": 2, "delay_ms": 1}, "_meta": {"progressToken": "t"}}
    }))
    .await;
    let mut progress = Vec::new();
    let response = loop {
        let line = io.recv().await;
        if line["method"] == json!("notifications/progress") {
            progress.push(line["params"]["progress"].as_f64().unwrap());
        } else {
            break line;
        }
    };
    assert_eq!(progress, vec![1.0, 2.0]);
    assert_eq!(
        response["result"]["content"][0]["text"],
        json!("done after 2 steps")
    );
}

#[tokio::test]
async fn a_modern_line_with_meta_needs_no_initialize() {
    let mut io = Stdio::start();
    let response = io
        .request(&modern_request(1, "tools/list", json!({})))
        .await;
    let result = &response["result"];
    assert_eq!(result["resultType"], json!("complete"));
    assert_eq!(result["cacheScope"], json!("public"));
    assert_eq!(
        result["tools"].as_array().unwrap().len(),
        FIXTURE_TOOLS.len()
    );
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"],
        json!(io.server.info())
    );

    let call = io
        .request(&modern_request(
            2,
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "modern"}}),
        ))
        .await;
    assert_eq!(call["result"]["content"][0]["text"], json!("modern"));
    assert_eq!(call["result"]["resultType"], json!("complete"));
    assert_eq!(
        io.server.sessions().len(),
        0,
        "no session in the stateless era"
    );

    let unsupported = io
        .request(&json!({
            "jsonrpc": "2.0", "id": 3, "method": "tools/list",
            "params": {"_meta": {
                "io.modelcontextprotocol/protocolVersion": "v999",
                "io.modelcontextprotocol/clientCapabilities": {}
            }}
        }))
        .await;
    assert_eq!(
        unsupported["error"],
        json!({
            "code": -32022,
            "message": "Unsupported protocol version: v999",
            "data": {"requested": "v999", "supported": [MODERN]}
        })
    );
}

#[tokio::test]
async fn a_modern_call_is_cancelled_by_notifications_cancelled() {
    let mut io = Stdio::start();
    io.send(&modern_request(5, "tools/call", json!({"name": "block"})))
        .await;
    eventually(STEP, "block started", || io.probes.block_started() == 1).await;
    assert_eq!(io.server.in_flight().len(), 1);
    io.send(&json!({
        "jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 5}
    }))
    .await;
    eventually(STEP, "cancelled", || io.probes.was_cancelled()).await;
    eventually(STEP, "unregistered", || io.server.in_flight().is_empty()).await;
    let next = io
        .request(&modern_request(6, "server/discover", json!({})))
        .await;
    assert_eq!(next["id"], json!(6));
}

#[tokio::test]
async fn an_overlong_line_is_refused_and_the_next_line_works() {
    let mut io = Stdio::start_with(StdioOptions {
        max_line_bytes: 256,
        agent: None,
    });
    let long = call_request(1, "echo", json!({"text": "z".repeat(1000)}));
    let error = io.request(&long).await;
    assert_eq!(
        error,
        json!({
            "jsonrpc": "2.0",
            "error": {"code": -32600, "message": "Invalid request: message exceeds the limit of 256 bytes"}
        })
    );
    // Longer than the pipe's read chunks, too.
    let mut huge = vec![b'x'; 100_000];
    huge.push(b'\n');
    io.send_raw(&huge).await;
    let error = io.recv().await;
    assert_eq!(error["error"]["code"], json!(-32600));

    io.initialize().await;
    let echo = io
        .request(&call_request(2, "echo", json!({"text": "short"})))
        .await;
    assert_eq!(echo["result"]["content"][0]["text"], json!("short"));
}

#[tokio::test]
async fn eof_makes_serve_return_and_cancels_running_calls() {
    let mut io = Stdio::start();
    io.initialize().await;
    io.send(&json!({
        "jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": {"name": "block"}
    }))
    .await;
    eventually(STEP, "block started", || io.probes.block_started() == 1).await;
    io.close().await.expect("serve returns Ok at EOF");
    eventually(STEP, "the running call is cancelled", || {
        io.probes.was_cancelled()
    })
    .await;
    assert_eq!(io.server.sessions().len(), 0);
}

#[tokio::test]
async fn eof_in_the_middle_of_a_line_still_handles_it() {
    let mut io = Stdio::start();
    // No trailing newline before EOF.
    io.send_raw(
        serde_json::to_vec(&initialize_request(1, LEGACY))
            .unwrap()
            .as_slice(),
    )
    .await;
    io.eof().await;
    let response = io.recv().await;
    assert_eq!(response["id"], json!(1));
    within_for(
        Duration::from_secs(5),
        "serve returns",
        io.served.take().unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
}

#[tokio::test]
async fn the_shutdown_token_stops_serving() {
    let mut io = Stdio::start();
    io.initialize().await;
    io.shutdown.cancel();
    within("serve returns at shutdown", io.served.take().unwrap())
        .await
        .unwrap()
        .unwrap();
    // stdout is closed once the writer drains.
    let end = within("stdout closes", io.lines.next_line()).await.unwrap();
    assert_eq!(end, None);
}

/// An embedder serving stdio and HTTP from one engine: the stdio client cancels "its"
/// request 5 and then goes away, while an HTTP client's stateless call with the same id
/// runs. Neither the cancellation nor the stdio EOF reaches the HTTP client's call.
#[tokio::test]
async fn a_stdio_client_cannot_cancel_another_transports_call() {
    let h = Harness::start().await;
    let headers: Vec<(String, String)> = modern_headers("tools/call", Some("slow"))
        .into_iter()
        .filter(|(k, _)| k != "accept")
        .collect();
    let body = modern_request(
        5,
        "tools/call",
        json!({"name": "slow", "arguments": {"ms": 600}}),
    );
    let (client, url) = (h.http.clone(), h.url("/mcp"));
    let http_call = tokio::spawn(async move {
        let mut req = client
            .post(url)
            .header("content-type", "application/json")
            .header("accept", "application/json");
        for (k, v) in &headers {
            req = req.header(k, v);
        }
        Reply::read(req.json(&body).send().await.unwrap()).await
    });
    eventually(STEP, "the HTTP call started", || {
        h.probes.slow_started() == 1
    })
    .await;

    let mut io = Stdio::serving(h.server.clone(), h.probes.clone(), StdioOptions::default());
    io.send(&json!({
        "jsonrpc": "2.0", "method": "notifications/cancelled",
        "params": {"requestId": 5}
    }))
    .await;
    io.close().await.expect("serve returns Ok at EOF");

    let answered = within("the HTTP call", http_call).await.unwrap();
    assert_eq!(
        answered.body["result"]["content"][0]["text"],
        json!("slept 600 ms")
    );
    assert_eq!(h.probes.slow_finished(), 1);
}

/// `codex_<tool>` names the tool on stdio too, as on every transport (`docs/tools.md`),
/// in both eras.
#[tokio::test]
async fn a_codex_alias_calls_the_tool() {
    let mut io = Stdio::start();
    io.initialize().await;
    let legacy = io
        .request(&call_request(2, "codex_echo", json!({"text": "aliased"})))
        .await;
    assert_eq!(
        legacy["result"]["content"][0]["text"],
        json!("aliased"),
        "{legacy}"
    );
    let modern = io
        .request(&modern_request(
            3,
            "tools/call",
            json!({"name": "codex_echo", "arguments": {"text": "modern"}}),
        ))
        .await;
    assert_eq!(
        modern["result"]["content"][0]["text"],
        json!("modern"),
        "{modern}"
    );
    let unknown = io.request(&call_request(4, "codex_nope", json!({}))).await;
    assert_eq!(unknown["error"]["code"], json!(-32602), "{unknown}");
}
