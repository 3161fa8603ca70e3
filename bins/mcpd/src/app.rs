//! Wiring: builds the engine from the settings.

use std::sync::Arc;
use std::time::Duration;

use codex_mcp_core::server::{McpServer, ServerOptions};
use codex_mcp_core::tools::health::{HealthCheck, HealthFacts};
use codex_mcp_core::transport::http::{HealthReporter, HostPolicy, HttpOptions};
use codex_mcp_protocol::lifecycle::Implementation;
use serde_json::{Map, Value, json};

use crate::settings::Settings;

const INSTRUCTIONS: &str = "codex-mcp hands work to OpenAI's Codex CLI. Each agent gets its own \
persistent environment (workspace, Codex home, conversation history). Pass agent_id (or the \
X-Agent-Id header) to keep your work in one environment. Call health_check first if unsure.";

/// Facts about this deployment for `health_check` and `/health`.
pub struct Facts {
    runtime: String,
}

impl HealthFacts for Facts {
    fn facts(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("runtime".into(), json!(self.runtime));
        m
    }
}

impl HealthReporter for Facts {
    fn report(&self) -> Value {
        Value::Object(self.facts())
    }
}

/// The engine and HTTP options for these settings.
pub fn build(settings: &Settings) -> (McpServer, HttpOptions) {
    let facts = Arc::new(Facts {
        runtime: serde_json::to_value(settings.runtime)
            .map(|v| v.to_string())
            .unwrap_or_default()
            .trim_matches('"')
            .to_string(),
    });
    let options = ServerOptions {
        info: Implementation {
            name: "mcpd".into(),
            title: Some("codex-mcp".into()),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        instructions: Some(INSTRUCTIONS.into()),
        session_idle_timeout: Duration::from_secs(settings.session_timeout_seconds),
        ..ServerOptions::default()
    };
    let server = McpServer::builder(options)
        .tool(HealthCheck::new(
            Some(facts.clone() as Arc<dyn HealthFacts>),
        ))
        .build();
    let http = HttpOptions {
        host_policy: HostPolicy::loopback().with_hosts(settings.allowed_hosts.iter().cloned()),
        health: Some(facts as Arc<dyn HealthReporter>),
        ..HttpOptions::default()
    };
    (server, http)
}
