//! An existing axum application that mounts the codex-mcp tools under `/ai/mcp`, next
//! to its own routes, and adds one tool of its own (`word_count`). The integration
//! template of `docs/embedding.md`; `tests/python/test_embed_axum.py` runs it.
//!
//! Environment: `EMBED_LISTEN` (default `127.0.0.1:8080`), `EMBED_DATA_DIR` (default
//! `./embed-axum-data`), `EMBED_CODEX_CONFIG` (optional: a `config.toml` every agent's
//! Codex gets). Credentials are detected as mcpd detects them (`OPENAI_API_KEY`,
//! `~/.codex/auth.json`, ...); agents run in host folders under the data dir.

use axum::Json;
use axum::routing::get;
use codex_mcp_core::{CallToolResult, CodexMcp, FnTool, Tool, ToolError};
use serde_json::{Value, json};

/// The application's own tool: counts the words of a text, no Codex involved.
fn word_count() -> Result<FnTool, serde_json::Error> {
    let definition: Tool = serde_json::from_value(json!({
        "name": "word_count",
        "description": "Counts the words of a text.",
        "inputSchema": {
            "type": "object",
            "properties": { "text": { "type": "string" } },
            "required": ["text"]
        }
    }))?;
    Ok(FnTool::new(definition, |args, _ctx| async move {
        let text = args
            .get("text")
            .and_then(Value::as_str)
            .ok_or_else(|| ToolError::Failed("text must be a string".into()))?;
        let words = text.split_whitespace().count();
        Ok(CallToolResult::structured(json!({ "words": words })))
    }))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let listen = std::env::var("EMBED_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let data_dir = std::env::var("EMBED_DATA_DIR").unwrap_or_else(|_| "embed-axum-data".into());

    let mut builder = CodexMcp::builder(data_dir).tool(word_count()?);
    if let Ok(path) = std::env::var("EMBED_CODEX_CONFIG") {
        builder = builder.codex_config(std::fs::read_to_string(&path)?);
    }
    let mcp = builder.build().await?;

    // The application as it was, plus one `nest`.
    let app = axum::Router::new()
        .route("/", get(|| async { "my app" }))
        .route(
            "/api/status",
            get(|| async { Json(json!({ "app": "ok" })) }),
        )
        .nest("/ai/mcp", mcp.router());

    let listener = tokio::net::TcpListener::bind(&listen).await?;
    eprintln!("embed-axum listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
