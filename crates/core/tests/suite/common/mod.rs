//! Shared harness for the transport tests: an in-process engine with a few fixture
//! tools, served on `127.0.0.1:0`, and a small HTTP/SSE client built on `reqwest`.
//!
//! Every network await goes through [`within`], so a hung server fails the test
//! instead of hanging it.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use codex_mcp_core::server::{FnTool, McpServer, ServerBuilder, ServerOptions, ToolError};
use codex_mcp_core::transport::http::{HttpOptions, HttpState, router_with, serve_router};
use codex_mcp_protocol::tools::{CallToolResult, Tool};
use futures::{Stream, StreamExt as _};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The newest handshake-era revision.
pub const LEGACY: &str = "2025-11-25";
/// The stateless revision.
pub const MODERN: &str = "2026-07-28";
/// Upper bound for any single network step of a test.
pub const STEP: Duration = Duration::from_secs(10);

/// Awaits `fut`, failing the test with `what` if it takes longer than [`STEP`].
pub async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    within_for(STEP, what, fut).await
}

/// Awaits `fut` for at most `limit`.
pub async fn within_for<F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(limit, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {limit:?}: {what}"),
    }
}

/// Polls `check` every 20 ms until it holds, failing with `what` after `limit`.
pub async fn eventually(limit: Duration, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check() {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("condition not reached within {limit:?}: {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What the fixture tools report to the test.
#[derive(Clone, Default)]
pub struct Probes {
    /// Set when a `block` call observed its cancellation token firing.
    pub cancelled: Arc<AtomicBool>,
    /// How many `block` calls observed cancellation.
    pub cancels: Arc<AtomicUsize>,
    /// How many `block` calls started.
    pub block_started: Arc<AtomicUsize>,
    /// How many `slow` calls started.
    pub slow_started: Arc<AtomicUsize>,
    /// How many `slow` calls ran to the end of their sleep.
    pub slow_finished: Arc<AtomicUsize>,
}

impl Probes {
    pub fn block_started(&self) -> usize {
        self.block_started.load(Ordering::SeqCst)
    }
    pub fn was_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
    pub fn cancels(&self) -> usize {
        self.cancels.load(Ordering::SeqCst)
    }
    pub fn slow_started(&self) -> usize {
        self.slow_started.load(Ordering::SeqCst)
    }
    pub fn slow_finished(&self) -> usize {
        self.slow_finished.load(Ordering::SeqCst)
    }
}

fn tool(name: &str, description: &str, input_schema: Value) -> Tool {
    Tool {
        name: name.into(),
        title: None,
        description: Some(description.into()),
        input_schema,
        output_schema: None,
        annotations: None,
        meta: None,
    }
}

/// `tool` with MCP hints: `read_only` and `open_world` as given.
fn hinted(mut tool: Tool, read_only: bool, open_world: bool) -> Tool {
    tool.annotations = Some(codex_mcp_protocol::tools::ToolAnnotations {
        read_only_hint: Some(read_only),
        open_world_hint: Some(open_world),
        ..Default::default()
    });
    tool
}

fn arg_u64(args: &serde_json::Map<String, Value>, name: &str, default: u64) -> u64 {
    args.get(name).and_then(Value::as_u64).unwrap_or(default)
}

/// Names of the fixture tools in registration (listing) order.
pub const FIXTURE_TOOLS: [&str; 5] = ["echo", "fail", "progress", "slow", "block"];

/// Registers the fixture tools:
/// - `echo {text}`: returns the text (required argument).
/// - `fail`: the tool runs and fails (`isError`).
/// - `progress {steps?, delay_ms?}`: reports `steps` increasing progress values
///   (annotated read-only and closed-world: REST may GET it).
/// - `slow {ms?}`: sleeps, then answers; stops early when cancelled (annotated
///   read-only but open-world, like a Codex tool: REST may not GET it).
/// - `block`: reports progress 1 (so streams open), then waits until cancelled and
///   records that it saw the cancellation.
pub fn fixture_tools(builder: ServerBuilder, probes: &Probes) -> ServerBuilder {
    let echo = FnTool::new(
        tool(
            "echo",
            "Returns its text argument.",
            json!({
                "type": "object",
                "properties": {"text": {"type": "string"}},
                "required": ["text"]
            }),
        ),
        |args, _ctx| async move {
            match args.get("text").and_then(Value::as_str) {
                Some(text) => Ok(CallToolResult::text(text)),
                None => Err(ToolError::Failed("echo needs a text argument".into())),
            }
        },
    );
    let fail = FnTool::new(
        tool("fail", "Always fails.", json!({"type": "object"})),
        |_args, _ctx| async move { Err(ToolError::Failed("the fixture failed on purpose".into())) },
    );
    let progress = FnTool::new(
        hinted(
            tool(
                "progress",
                "Reports progress, then answers.",
                json!({
                    "type": "object",
                    "properties": {"steps": {"type": "integer"}, "delay_ms": {"type": "integer"}}
                }),
            ),
            true,
            false,
        ),
        |args, ctx| async move {
            let steps = arg_u64(&args, "steps", 3);
            let delay = Duration::from_millis(arg_u64(&args, "delay_ms", 10));
            for step in 1..=steps {
                ctx.progress(
                    step as f64,
                    Some(steps as f64),
                    Some(format!("step {step}")),
                )
                .await;
                tokio::time::sleep(delay).await;
            }
            Ok(CallToolResult::text(format!("done after {steps} steps")))
        },
    );
    let slow_started = Arc::clone(&probes.slow_started);
    let slow_finished = Arc::clone(&probes.slow_finished);
    let slow = FnTool::new(
        hinted(
            tool(
                "slow",
                "Sleeps for ms milliseconds.",
                json!({"type": "object", "properties": {"ms": {"type": "integer"}}}),
            ),
            true,
            true,
        ),
        move |args, ctx| {
            let started = Arc::clone(&slow_started);
            let finished = Arc::clone(&slow_finished);
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                let ms = arg_u64(&args, "ms", 500);
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(ms)) => {
                        finished.fetch_add(1, Ordering::SeqCst);
                        Ok(CallToolResult::text(format!("slept {ms} ms")))
                    }
                    () = ctx.cancellation().cancelled() => {
                        Ok(CallToolResult::text("slow was cancelled"))
                    }
                }
            }
        },
    );
    let started = Arc::clone(&probes.block_started);
    let cancelled = Arc::clone(&probes.cancelled);
    let cancels = Arc::clone(&probes.cancels);
    let block = FnTool::new(
        tool("block", "Waits until cancelled.", json!({"type": "object"})),
        move |_args, ctx| {
            let started = Arc::clone(&started);
            let cancelled = Arc::clone(&cancelled);
            let cancels = Arc::clone(&cancels);
            async move {
                started.fetch_add(1, Ordering::SeqCst);
                ctx.progress(1.0, None, Some("blocking".into())).await;
                tokio::select! {
                    () = ctx.cancellation().cancelled() => {
                        cancelled.store(true, Ordering::SeqCst);
                        cancels.fetch_add(1, Ordering::SeqCst);
                        Ok(CallToolResult::text("block was cancelled"))
                    }
                    () = tokio::time::sleep(Duration::from_secs(60)) => {
                        Ok(CallToolResult::text("block gave up waiting"))
                    }
                }
            }
        },
    );
    builder
        .tool(echo)
        .tool(fail)
        .tool(progress)
        .tool(slow)
        .tool(block)
}

/// How to build a test server.
#[derive(Clone, Default)]
pub struct Config {
    pub server: ServerOptions,
    pub http: HttpOptions,
    /// Extra trivial tools `extra_0..extra_{n-1}` registered after the fixtures.
    pub extra_tools: usize,
    /// The embedder's routes, served through `router_with`.
    pub extra_routes: axum::Router,
}

/// A config requiring bearer tokens: `(name, token, agents)` each.
pub fn with_tokens(tokens: &[(&str, &str, &[&str])]) -> Config {
    use codex_mcp_core::transport::http::bearer::{TokenGrant, TokenTable};
    let grants = tokens
        .iter()
        .map(|(name, token, agents)| TokenGrant {
            name: name.to_string(),
            sha256: TokenTable::digest(token),
            agents: agents.iter().map(|a| a.to_string()).collect(),
            admin: false,
        })
        .collect();
    let mut config = Config::default();
    config.http.tokens = Some(Arc::new(TokenTable::new(grants).expect("token table")));
    config
}

/// Builds the fixture engine.
pub fn build_server(config: &Config, probes: &Probes) -> McpServer {
    let mut builder = fixture_tools(McpServer::builder(config.server.clone()), probes);
    for i in 0..config.extra_tools {
        let name = format!("extra_{i}");
        let text = name.clone();
        builder = builder.tool(FnTool::new(
            tool(
                &name,
                "An extra tool for pagination.",
                json!({"type": "object"}),
            ),
            move |_args, _ctx| {
                let text = text.clone();
                async move { Ok(CallToolResult::text(text)) }
            },
        ));
    }
    builder.build()
}

/// A running in-process HTTP server and a client for it.
pub struct Harness {
    pub addr: SocketAddr,
    pub base: String,
    pub state: HttpState,
    pub server: McpServer,
    pub probes: Probes,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    served: Option<JoinHandle<std::io::Result<()>>>,
}

/// A fresh client that never goes through a proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("reqwest client")
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(Config::default()).await
    }

    pub async fn start_with(config: Config) -> Self {
        let probes = Probes::default();
        let server = build_server(&config, &probes);
        let state = HttpState::new(server.clone(), config.http.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let (tx, rx) = oneshot::channel::<()>();
        let app = router_with(state.clone(), config.extra_routes.clone());
        let served = tokio::spawn(serve_router(listener, app, state.clone(), async move {
            let _ = rx.await;
        }));
        Self {
            addr,
            base: format!("http://{addr}"),
            state,
            server,
            probes,
            http: client(),
            shutdown: Some(tx),
            served: Some(served),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Starts graceful shutdown.
    pub fn trigger_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// The serving task, to await its end after [`Self::trigger_shutdown`].
    pub fn take_served(&mut self) -> JoinHandle<std::io::Result<()>> {
        self.served.take().expect("served task already taken")
    }

    /// SSE streams open right now.
    pub fn open_streams(&self) -> usize {
        self.state.open_streams()
    }

    /// POSTs raw bytes to `path` with `Content-Type: application/json` (unless the
    /// headers name another) and the given headers.
    pub async fn post_raw(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: impl Into<reqwest::Body>,
    ) -> Reply {
        let mut req = self.http.post(self.url(path));
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        {
            req = req.header("content-type", "application/json");
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let response = within(&format!("POST {path}"), req.body(body).send())
            .await
            .expect("POST sent");
        Reply::read(response).await
    }

    /// POSTs a JSON value to `/mcp`.
    pub async fn post_mcp(&self, headers: &[(&str, &str)], body: &Value) -> Reply {
        self.post_raw("/mcp", headers, serde_json::to_vec(body).unwrap())
            .await
    }

    /// POSTs a JSON value to `/mcp` and returns the raw response (for streams).
    pub async fn post_mcp_response(
        &self,
        headers: &[(&str, &str)],
        body: &Value,
    ) -> reqwest::Response {
        let mut req = self
            .http
            .post(self.url("/mcp"))
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        within("POST /mcp (stream)", req.json(body).send())
            .await
            .expect("POST sent")
    }

    /// `initialize` + `notifications/initialized`; returns the session id.
    pub async fn initialize(&self) -> String {
        self.initialize_with(&[]).await
    }

    /// [`Self::initialize`] with extra headers (e.g. `authorization`) on both requests.
    pub async fn initialize_with(&self, extra: &[(&str, &str)]) -> String {
        let reply = self.post_mcp(extra, &initialize_request(1, LEGACY)).await;
        assert_eq!(reply.status, StatusCode::OK, "initialize: {}", reply.body);
        let session = reply
            .headers
            .get("mcp-session-id")
            .expect("initialize answers with Mcp-Session-Id")
            .to_str()
            .unwrap()
            .to_string();
        let mut headers = legacy_headers(&session);
        headers.extend_from_slice(extra);
        let reply = self
            .post_mcp(
                &headers,
                &json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            )
            .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);
        session
    }

    /// Opens `GET /sse` with the given headers; returns the stream and the endpoint the
    /// first event names (`/messages?sessionId=...`).
    pub async fn open_sse(&self, headers: &[(&str, &str)]) -> (SseReader, String) {
        let mut req = self
            .http
            .get(self.url("/sse"))
            .header("accept", "text/event-stream");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let response = within("GET /sse", req.send()).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let mut events = SseReader::new(response);
        let endpoint = events.expect_event("endpoint event").await;
        assert_eq!(endpoint.event.as_deref(), Some("endpoint"));
        (events, endpoint.data)
    }

    /// Starts a REST call of the `slow` fixture that runs for a minute unless aborted,
    /// with `token` as its bearer token.
    pub fn start_slow_call(&self, token: Option<&str>) -> JoinHandle<()> {
        let mut req = self
            .http
            .post(self.url("/tools/slow"))
            .header("content-type", "application/json")
            .body(r#"{"ms": 60000}"#);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        tokio::spawn(async move {
            let _ = req.send().await;
        })
    }

    /// Opens the session's standalone GET stream.
    pub async fn open_get_stream(&self, session: &str) -> reqwest::Response {
        within(
            "GET /mcp",
            self.http
                .get(self.url("/mcp"))
                .header("accept", "text/event-stream")
                .header("mcp-session-id", session)
                .header("mcp-protocol-version", LEGACY)
                .send(),
        )
        .await
        .expect("GET sent")
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.trigger_shutdown();
    }
}

/// Headers of a legacy request inside a session that wants a JSON answer.
pub fn legacy_headers(session: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("mcp-session-id", session),
        ("mcp-protocol-version", LEGACY),
        ("accept", "application/json"),
    ]
}

/// Headers of a legacy request inside a session that accepts an SSE answer.
pub fn legacy_sse_headers(session: &str) -> Vec<(&'static str, &str)> {
    vec![
        ("mcp-session-id", session),
        ("mcp-protocol-version", LEGACY),
        ("accept", "application/json, text/event-stream"),
    ]
}

/// Owned headers of a modern request: version, method and (for `tools/call`) name.
pub fn modern_headers(method: &str, name: Option<&str>) -> Vec<(String, String)> {
    let mut h = vec![
        ("mcp-protocol-version".to_string(), MODERN.to_string()),
        ("mcp-method".to_string(), method.to_string()),
        (
            "accept".to_string(),
            "application/json, text/event-stream".to_string(),
        ),
    ];
    if let Some(name) = name {
        h.push(("mcp-name".to_string(), name.to_string()));
    }
    h
}

/// Borrows owned header pairs.
pub fn borrow(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// The `_meta` every modern request carries.
pub fn modern_meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientCapabilities": {}
    })
}

/// A modern request: `params` plus the required `_meta`.
pub fn modern_request(id: i64, method: &str, params: Value) -> Value {
    let mut params = params;
    let meta = params
        .as_object_mut()
        .expect("params object")
        .entry("_meta")
        .or_insert_with(|| json!({}));
    for (k, v) in modern_meta().as_object().unwrap() {
        meta[k] = v.clone();
    }
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// A legacy `initialize` request.
pub fn initialize_request(id: i64, version: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "initialize",
        "params": {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": {"name": "core-tests", "version": "0.0.1"}
        }
    })
}

/// A `tools/call` request (legacy shape).
pub fn call_request(id: i64, name: &str, arguments: Value) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments}
    })
}

/// A finished HTTP response with its body parsed as JSON (`Value::Null` when empty,
/// a JSON string when not JSON).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = within("response body", response.bytes())
            .await
            .expect("body read");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Self {
            status,
            headers,
            body,
        }
    }

    /// The JSON-RPC error code.
    pub fn code(&self) -> i64 {
        self.body["error"]["code"]
            .as_i64()
            .unwrap_or_else(|| panic!("no JSON-RPC error in {}", self.body))
    }

    /// The JSON-RPC error message.
    pub fn message(&self) -> &str {
        self.body["error"]["message"]
            .as_str()
            .unwrap_or_else(|| panic!("no JSON-RPC error message in {}", self.body))
    }

    /// Asserts status, JSON-RPC error code, and that the message contains every needle.
    pub fn assert_error(&self, status: StatusCode, code: i64, needles: &[&str]) {
        assert_eq!(self.status, status, "status of {}", self.body);
        assert_eq!(self.code(), code, "code of {}", self.body);
        for needle in needles {
            assert!(
                self.message().contains(needle),
                "message {:?} does not mention {needle:?}",
                self.message()
            );
        }
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub id: Option<String>,
    pub event: Option<String>,
    pub retry: Option<u64>,
    pub data: String,
}

impl SseEvent {
    /// The data parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|e| panic!("event data {:?} is not JSON: {e}", self.data))
    }
}

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// Reads SSE events from a streaming response, skipping comments (keep-alives).
pub struct SseReader {
    stream: ByteStream,
    buf: String,
}

impl SseReader {
    pub fn new(response: reqwest::Response) -> Self {
        let ct = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(
            ct.starts_with("text/event-stream"),
            "expected an SSE response, got {} with Content-Type {ct:?}",
            response.status()
        );
        Self {
            stream: Box::pin(response.bytes_stream()),
            buf: String::new(),
        }
    }

    /// The next event, or `None` when the stream ended (or broke).
    pub async fn next(&mut self) -> Option<SseEvent> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                if let Some(event) = parse_event(&block) {
                    return Some(event);
                }
                continue;
            }
            match self.stream.next().await {
                Some(Ok(chunk)) => self.buf.push_str(&String::from_utf8_lossy(&chunk)),
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// The next event within [`STEP`]; panics when the stream ends first.
    pub async fn expect_event(&mut self, what: &str) -> SseEvent {
        within(what, self.next())
            .await
            .unwrap_or_else(|| panic!("stream ended before {what}"))
    }

    /// Asserts that the stream ends (after at most [`STEP`]) without further events.
    pub async fn expect_end(&mut self, what: &str) {
        if let Some(event) = within(what, self.next()).await {
            panic!("expected the stream to end ({what}), got {event:?}");
        }
    }
}

fn parse_event(block: &str) -> Option<SseEvent> {
    let mut event = SseEvent::default();
    let mut any = false;
    let mut data: Vec<&str> = Vec::new();
    for line in block.lines() {
        if line.is_empty() || line.starts_with(':') {
            continue;
        }
        let (field, value) = match line.split_once(':') {
            Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        any = true;
        match field {
            "id" => event.id = Some(value.to_string()),
            "event" => event.event = Some(value.to_string()),
            "retry" => event.retry = value.parse().ok(),
            "data" => data.push(value),
            _ => {}
        }
    }
    event.data = data.join("\n");
    any.then_some(event)
}
