//! # codex-mcp-core
//!
//! The engine behind `mcpd`, usable by any Rust program that wants to serve MCP tools.
//!
//! - [`server`]: the protocol engine. Register tools, resources, prompts and a
//!   completer with [`server::ServerBuilder`]; the resulting [`server::McpServer`]
//!   answers requests of both protocol eras (the 2025-11-25-and-earlier handshake era
//!   and the stateless 2026-07-28 era).
//! - [`session`]: legacy-era sessions, shared by every transport that has them.
//! - [`CodexMcp`] ([`embed`]): the whole server in a few lines: the Codex tools over
//!   every transport, with a store, a runtime and credentials, as an axum `Router` to
//!   nest anywhere in an application (see `docs/embedding.md`).
//! - [`transport`]: the ways clients reach the engine: streamable HTTP (`/mcp`), the
//!   2024-11-05 HTTP+SSE transport (`/sse` + `/messages`), a plain REST route
//!   (`/tools/{name}`), `/health`, and stdio.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use codex_mcp_core::server::{McpServer, ServerOptions};
//! use codex_mcp_core::transport::http::{HttpOptions, serve};
//!
//! let server = McpServer::builder(ServerOptions::default()).build();
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8210").await?;
//! serve(listener, server, HttpOptions::default(), std::future::pending()).await
//! # }
//! ```

pub mod agents;
pub mod codex;
pub mod dashboard;
pub mod embed;
pub mod server;
pub mod session;
pub mod tools;
pub mod transport;

pub use agents::{AgentConfig, AgentCredentials, AgentManager, Approval, CredentialSource};
pub use codex_mcp_protocol::tools::{CallToolResult, Tool};
pub use embed::{AgentCredentialSource, CodexMcp, CodexMcpBuilder, EmbedError};
pub use server::{FnTool, McpServer, RequestCtx, ServerOptions, ToolError, ToolHandler};
pub use tools::codex::CodexToolHandler;
pub use transport::http::HttpOptions;
pub use transport::stdio::StdioOptions;
