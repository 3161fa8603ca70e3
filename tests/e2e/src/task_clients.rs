//! Raw JSON-RPC task clients for the tests of long runs: a legacy (2025-11-25) `/mcp`
//! session with the task methods of that revision ([`LegacySession`]), and the
//! 2026-07-28 `io.modelcontextprotocol/tasks` extension over stateless requests
//! ([`modern`]).

use std::time::Duration;

use serde_json::{Value, json};

use crate::last_message;

/// How often the pollers ask `tasks/get`.
const POLL_EVERY: Duration = Duration::from_millis(200);

/// Unwrapping for these test helpers: a failure panics at the caller's line with the
/// error (the lints forbid `unwrap` outside `#[cfg(test)]`).
trait Must<T> {
    fn must(self) -> T;
}

impl<T, E: std::fmt::Display> Must<T> for Result<T, E> {
    #[track_caller]
    fn must(self) -> T {
        match self {
            Ok(v) => v,
            Err(e) => panic!("task client: {e}"),
        }
    }
}

impl<T> Must<T> for Option<T> {
    #[track_caller]
    fn must(self) -> T {
        match self {
            Some(v) => v,
            None => panic!("task client: a value was missing"),
        }
    }
}

/// Whether a task status is one a task never leaves.
fn is_terminal(status: &str) -> bool {
    ["completed", "failed", "cancelled"].contains(&status)
}

/// A legacy `/mcp` session of one (optional) bearer token.
#[derive(Clone)]
pub struct LegacySession {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `Mcp-Session-Id`.
    pub id: String,
    /// The bearer token that opened it.
    pub token: Option<&'static str>,
}

impl LegacySession {
    /// `initialize` (2025-11-25) and `notifications/initialized`; returns the session and
    /// the `InitializeResult`.
    pub async fn open(base: &str, token: Option<&'static str>) -> (Self, Value) {
        let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "e2e-tasks", "version": "1"}}});
        let response = legacy_request(&reqwest::Client::new(), base, None, token, &body)
            .send()
            .await
            .must();
        let id = response.headers()["mcp-session-id"]
            .to_str()
            .must()
            .to_string();
        let init = last_message(&response.text().await.must()).must();
        let session = Self {
            base: base.to_string(),
            id,
            token,
        };
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        session.post(&note).send().await.must();
        (session, init["result"].clone())
    }

    /// A POST of `body` in this session, ready to send.
    pub fn post(&self, body: &Value) -> reqwest::RequestBuilder {
        legacy_request(
            &reqwest::Client::new(),
            &self.base,
            Some(&self.id),
            self.token,
            body,
        )
    }

    /// The session's standalone `GET /mcp` stream (server notifications).
    pub async fn listen(&self) -> reqwest::Response {
        let mut req = reqwest::Client::new()
            .get(format!("{}/mcp", self.base))
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &self.id)
            .header("mcp-protocol-version", "2025-11-25");
        if let Some(t) = self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let response = req.send().await.must();
        assert_eq!(response.status().as_u16(), 200, "GET /mcp");
        response
    }

    /// One request; returns the whole JSON-RPC response.
    pub async fn rpc(&self, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let text = self
            .post(&body)
            .timeout(Duration::from_secs(120))
            .send()
            .await
            .must()
            .text()
            .await
            .must();
        last_message(&text).must()
    }

    /// A request that must succeed; returns its `result`.
    pub async fn ok(&self, method: &str, params: Value) -> Value {
        let reply = self.rpc(method, params).await;
        assert!(reply.get("error").is_none(), "{method}: {reply}");
        reply["result"].clone()
    }

    /// A request that must fail with `code`; returns the error's message.
    pub async fn fails(&self, method: &str, params: Value, code: i64) -> String {
        let reply = self.rpc(method, params).await;
        assert_eq!(reply["error"]["code"], json!(code), "{method}: {reply}");
        reply["error"]["message"].as_str().must().to_string()
    }

    /// Starts `chat` for `agent` as a task; returns the created task.
    pub async fn chat_task(&self, agent: &str, message: &str, ttl: Option<u64>) -> Value {
        let mut task = json!({});
        if let Some(ttl) = ttl {
            task["ttl"] = json!(ttl);
        }
        self.task_call(json!({"name": "chat", "task": task,
                "arguments": {"message": message, "agent_id": agent}}))
            .await
    }

    /// A task-augmented `tools/call` with these params (`params.task` set by the caller);
    /// returns the created task, checked to be `working`.
    pub async fn task_call(&self, params: Value) -> Value {
        let created = self.ok("tools/call", params).await;
        assert!(created.get("content").is_none(), "{created}");
        assert_eq!(created["task"]["status"], json!("working"), "{created}");
        created["task"].clone()
    }

    /// `tasks/get` until the task ends (at most 90 s); returns the last answer.
    pub async fn poll_until_ended(&self, task: &str) -> Value {
        let mut seen = self.watch_until_ended(task, Duration::from_secs(90)).await;
        seen.pop().must()
    }

    /// Every `tasks/get` answer until the task ends (at most `limit`), the terminal one
    /// last: what a polling client sees of its progress.
    pub async fn watch_until_ended(&self, task: &str, limit: Duration) -> Vec<Value> {
        watch(task, limit, || {
            self.ok("tasks/get", json!({"taskId": task}))
        })
        .await
    }
}

/// Every answer of `get` (a `tasks/get` of `task`) until the task's status is terminal
/// (at most `limit`), the terminal one last.
async fn watch<F, Fut>(task: &str, limit: Duration, mut get: F) -> Vec<Value>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Value>,
{
    let deadline = tokio::time::Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let got = get().await;
        assert_eq!(got["taskId"], json!(task), "{got}");
        let status = got["status"].as_str().unwrap_or_default().to_string();
        seen.push(got);
        if is_terminal(&status) {
            return seen;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "task {task} still {status} after {limit:?}"
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// A POST of `body` on `/mcp` (accepting JSON or SSE), in `session` when given, with
/// the bearer `token` when given.
pub fn legacy_request(
    http: &reqwest::Client,
    base: &str,
    session: Option<&str>,
    token: Option<&str>,
    body: &Value,
) -> reqwest::RequestBuilder {
    let mut req = http
        .post(format!("{base}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body.to_string());
    if let Some(s) = session {
        req = req
            .header("mcp-session-id", s)
            .header("mcp-protocol-version", "2025-11-25");
    }
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    req
}

/// The 2026-07-28 tasks extension (`io.modelcontextprotocol/tasks`) over stateless
/// streamable HTTP.
pub mod modern {
    use super::*;

    /// The extension's identifier.
    pub const TASKS: &str = "io.modelcontextprotocol/tasks";

    /// One 2026-07-28 request, ready to send: `with_tasks` declares the extension in the
    /// request's client capabilities; `name` is the `Mcp-Name` header.
    pub fn request(
        base: &str,
        method: &str,
        mut params: Value,
        name: Option<&str>,
        with_tasks: bool,
    ) -> reqwest::RequestBuilder {
        let capabilities = if with_tasks {
            json!({"extensions": {TASKS: {}}})
        } else {
            json!({})
        };
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": capabilities
        });
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let mut req = reqwest::Client::new()
            .post(format!("{base}/mcp"))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method);
        if let Some(name) = name {
            req = req.header("mcp-name", name);
        }
        req.body(body.to_string())
    }

    /// One 2026-07-28 request: `(HTTP status, JSON-RPC message)`.
    pub async fn rpc(
        base: &str,
        method: &str,
        params: Value,
        name: Option<&str>,
        with_tasks: bool,
    ) -> (u16, Value) {
        let response = request(base, method, params, name, with_tasks)
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .must();
        let status = response.status().as_u16();
        let text = response.text().await.must();
        (status, last_message(&text).must())
    }

    /// A task method (`tasks/get`, `tasks/cancel`, ...) that must answer 200; returns
    /// its `result`.
    pub async fn tasks_call(base: &str, method: &str, params: Value) -> Value {
        let id = params["taskId"].as_str().unwrap_or_default().to_string();
        let (status, message) = rpc(base, method, params, Some(&id), true).await;
        assert_eq!(status, 200, "{method}: {message}");
        message["result"].clone()
    }

    /// Creates a `chat` task for `agent`; returns its id.
    pub async fn create_chat_task(base: &str, agent: &str, message: &str) -> String {
        let params = json!({"name": "chat", "arguments": {"message": message, "agent_id": agent}});
        let (status, reply) = rpc(base, "tools/call", params, Some("chat"), true).await;
        assert_eq!(status, 200, "{reply}");
        let created = &reply["result"];
        assert_eq!(created["resultType"], json!("task"), "{created}");
        assert!(created.get("content").is_none() && created.get("task").is_none());
        assert!(
            created["ttlMs"].as_u64().is_some_and(|t| t > 0),
            "{created}"
        );
        created["taskId"].as_str().must().to_string()
    }

    /// `tasks/get` until the task ends (at most 90 s); returns the last answer.
    pub async fn poll_until_terminal(base: &str, task: &str) -> Value {
        let mut seen = watch_until_terminal(base, task, Duration::from_secs(90)).await;
        seen.pop().must()
    }

    /// Every `tasks/get` answer until the task ends (at most `limit`), the terminal one
    /// last.
    pub async fn watch_until_terminal(base: &str, task: &str, limit: Duration) -> Vec<Value> {
        watch(task, limit, || async {
            let got = tasks_call(base, "tasks/get", json!({"taskId": task})).await;
            assert_eq!(got["resultType"], json!("complete"), "{got}");
            got
        })
        .await
    }
}
