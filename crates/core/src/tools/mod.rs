//! Tool handlers: the Codex-backed tools, the server-answered tools, and the prompts.

pub mod codex;
pub mod prompts;
pub mod server;
