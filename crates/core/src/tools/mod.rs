//! Tool handlers: the Codex-backed tools, the server-answered tools, the prompts, and
//! the calls' stored results as resources.

pub mod codex;
pub mod inline;
pub mod prompts;
pub mod results;
pub mod server;
