//! Talking to `mcpd` in the handshake eras: a legacy `/mcp` session and the 2024-11-05
//! `/sse` transport, each optionally with a bearer token.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{Mcpd, last_message};

impl Mcpd {
    /// `initialize` on `/mcp` (2025-11-25), with a bearer token if given; returns the
    /// session id.
    pub async fn initialize(&self, token: Option<&str>) -> anyhow::Result<String> {
        let body = json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "e2e", "version": "1"}}});
        let response = self.legacy_post(body, None, token).send().await?;
        let session = response
            .headers()
            .get("mcp-session-id")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| anyhow::anyhow!("initialize answered without Mcp-Session-Id"))?;
        Ok(session.to_string())
    }

    /// `tools/call` inside a legacy session (with the token that opened it); returns
    /// the JSON-RPC `result`.
    pub async fn session_call(
        &self,
        session: &str,
        token: Option<&str>,
        name: &str,
        arguments: Value,
    ) -> anyhow::Result<Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": name, "arguments": arguments}});
        let text = self
            .legacy_post(body, Some(session), token)
            .timeout(Duration::from_secs(120))
            .send()
            .await?
            .text()
            .await?;
        let message = last_message(&text)?;
        match message.get("result") {
            Some(r) => Ok(r.clone()),
            None => anyhow::bail!("tools/call {name} failed: {message}"),
        }
    }

    /// `tools/call` over the 2024-11-05 transport: opens `GET /sse`, initializes through
    /// the endpoint it names and calls `name`, all with the bearer token if given;
    /// returns the JSON-RPC `result` read from the stream.
    pub async fn sse_call(
        &self,
        token: Option<&str>,
        name: &str,
        arguments: Value,
    ) -> anyhow::Result<Value> {
        let auth = |req: reqwest::RequestBuilder| match token {
            Some(t) => req.header("authorization", format!("Bearer {t}")),
            None => req,
        };
        let mut stream = auth(self.http.get(format!("{}/sse", self.base)))
            .header("accept", "text/event-stream")
            .send()
            .await?;
        let mut events = SseEvents::default();
        let endpoint = loop {
            if let Some((kind, data)) = events.next(&mut stream).await?
                && kind == "endpoint"
            {
                break data;
            }
        };
        let post = |body: Value| {
            auth(self.http.post(format!("{}{endpoint}", self.base)))
                .header("content-type", "application/json")
                .body(body.to_string())
                .send()
        };
        post(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2024-11-05", "capabilities": {},
            "clientInfo": {"name": "e2e", "version": "1"}}}),
        )
        .await?
        .error_for_status()?;
        post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await?
            .error_for_status()?;
        post(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
            "params": {"name": name, "arguments": arguments}}))
        .await?
        .error_for_status()?;
        loop {
            let Some((_, data)) = events.next(&mut stream).await? else {
                continue;
            };
            let message: Value = serde_json::from_str(&data)?;
            if message["id"] == json!(2) {
                return match message.get("result") {
                    Some(r) => Ok(r.clone()),
                    None => anyhow::bail!("tools/call {name} over /sse failed: {message}"),
                };
            }
        }
    }

    fn legacy_post(
        &self,
        body: Value,
        session: Option<&str>,
        token: Option<&str>,
    ) -> reqwest::RequestBuilder {
        crate::task_clients::legacy_request(&self.http, &self.base, session, token, &body)
    }
}

/// Server-sent events read from a response as they arrive.
#[derive(Default)]
pub struct SseEvents {
    buffer: String,
}

impl SseEvents {
    /// The next complete event as (event name, data); `None` for a comment-only block
    /// (keep-alive). Fails when the stream ends or stays silent for 60 s.
    pub async fn next(
        &mut self,
        response: &mut reqwest::Response,
    ) -> anyhow::Result<Option<(String, String)>> {
        while !self.buffer.contains("\n\n") {
            let chunk = tokio::time::timeout(Duration::from_secs(60), response.chunk())
                .await
                .map_err(|_| anyhow::anyhow!("no SSE event within 60 s"))??
                .ok_or_else(|| anyhow::anyhow!("the SSE stream ended"))?;
            self.buffer
                .push_str(&String::from_utf8_lossy(&chunk).replace("\r\n", "\n"));
        }
        let Some((block, rest)) = self.buffer.split_once("\n\n") else {
            return Ok(None);
        };
        let (block, rest) = (block.to_string(), rest.to_string());
        self.buffer = rest;
        let mut kind = "message".to_string();
        let mut data = Vec::new();
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("event:") {
                kind = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                data.push(v.trim_start().to_string());
            }
        }
        Ok((!data.is_empty()).then(|| (kind, data.join("\n"))))
    }
}
