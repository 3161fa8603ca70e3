//! The codex-mcp engine serving the fixtures of the official MCP conformance suite
//! (`@modelcontextprotocol/conformance`), so the suite can exercise every protocol
//! feature of the engine: both eras, all content types, logging, progress, sampling,
//! elicitation, multi round-trip results, resources, prompts, completion and the
//! 2026-07-28 tasks extension (tasks kept in memory by the engine).
//!
//! Usage: `conformance-server [ADDR]` (default `127.0.0.1:0`); prints
//! `listening on http://ADDR/mcp` on stdout once ready.

mod fixtures;
mod interactive;
mod mrtr;
mod prompts;
mod resources;
mod tasks;

use codex_mcp_core::server::{McpServer, ServerOptions};
use codex_mcp_core::transport::http::{HttpOptions, serve};
use codex_mcp_protocol::lifecycle::Implementation;

/// A 1x1 PNG.
pub const PNG_B64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";
/// A tiny WAV header with two samples.
pub const WAV_B64: &str = "UklGRiYAAABXQVZFZm10IBAAAAABAAEAQB8AAAB9AAACABAAZGF0YQIAAAA=";

/// Builds the fixture server.
pub fn build() -> McpServer {
    let options = ServerOptions {
        info: Implementation {
            name: "codex-mcp-conformance".into(),
            title: Some("codex-mcp conformance fixtures".into()),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        instructions: Some("Fixture server for the MCP conformance suite.".into()),
        ..ServerOptions::default()
    };
    let builder = McpServer::builder(options);
    let builder = fixtures::register(builder);
    let builder = interactive::register(builder);
    let builder = mrtr::register(builder);
    let builder = prompts::register(builder);
    let builder = tasks::register(builder);
    resources::register(builder).build()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("listening on http://{}/mcp", listener.local_addr()?);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    serve(listener, build(), HttpOptions::default(), shutdown).await
}
