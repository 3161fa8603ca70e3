//! `health_check`: how the server is doing, as a tool, so agents can check before
//! handing over work.

use std::sync::Arc;

use async_trait::async_trait;
use codex_mcp_protocol::tools::{CallToolResult, Tool, ToolAnnotations};
use serde_json::{Map, Value, json};

use crate::server::{RequestCtx, ToolError, ToolHandler};

/// Adds facts the engine does not know (runtime, credentials, agents) to the report.
pub trait HealthFacts: Send + Sync + 'static {
    /// Extra fields; never secrets.
    fn facts(&self) -> Map<String, Value>;
}

/// The `health_check` tool.
pub struct HealthCheck {
    facts: Option<Arc<dyn HealthFacts>>,
}

impl HealthCheck {
    /// A health check reporting the engine's figures plus `facts`.
    pub fn new(facts: Option<Arc<dyn HealthFacts>>) -> Self {
        Self { facts }
    }

    /// The output schema: the engine's fields are required, embedder facts are extra.
    pub fn output_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "status": { "type": "string", "enum": ["ok", "degraded"] },
                "version": { "type": "string" },
                "uptime_seconds": { "type": "integer", "minimum": 0 },
                "open_sessions": { "type": "integer", "minimum": 0 },
                "in_flight": { "type": "integer", "minimum": 0 }
            },
            "required": ["status", "version", "uptime_seconds", "open_sessions", "in_flight"]
        })
    }
}

#[async_trait]
impl ToolHandler for HealthCheck {
    fn definition(&self) -> Tool {
        Tool {
            name: "health_check".into(),
            title: Some("Server health".into()),
            description: Some(
                "Reports whether codex-mcp is healthy: version, uptime, open sessions, requests in \
                 flight, and (when configured) the agent runtime and credential status. Call it \
                 before delegating work or when a tool call fails unexpectedly."
                    .into(),
            ),
            input_schema: json!({
                "type": "object",
                "properties": {
                    "agent_id": { "type": "string", "description": "Ignored; accepted for symmetry with other tools." }
                },
                "additionalProperties": false
            }),
            output_schema: Some(Self::output_schema()),
            annotations: Some(ToolAnnotations {
                title: Some("Server health".into()),
                read_only_hint: Some(true),
                destructive_hint: Some(false),
                idempotent_hint: Some(true),
                open_world_hint: Some(false),
            }),
            meta: None,
        }
    }

    async fn call(
        &self,
        arguments: Map<String, Value>,
        ctx: RequestCtx,
    ) -> Result<CallToolResult, ToolError> {
        if let Some(unknown) = arguments.keys().find(|k| k.as_str() != "agent_id") {
            return Ok(CallToolResult::error(format!(
                "health_check takes no argument named {unknown:?}"
            )));
        }
        let mut report = Map::new();
        report.insert("status".into(), json!("ok"));
        if let Some(server) = ctx.server() {
            report.insert("version".into(), json!(server.info().version));
            report.insert("uptime_seconds".into(), json!(server.uptime().as_secs()));
            report.insert("open_sessions".into(), json!(server.sessions().len()));
            report.insert("in_flight".into(), json!(server.in_flight().len()));
        }
        if let Some(facts) = &self.facts {
            for (k, v) in facts.facts() {
                report.entry(k).or_insert(v);
            }
        }
        Ok(CallToolResult::structured(Value::Object(report)))
    }
}
