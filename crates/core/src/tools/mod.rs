//! Tool handlers: the Codex-backed tools, the server-answered tools, the prompts, and
//! the resources (the calls' stored results, the guide for calling agents).

pub mod codex;
pub mod guide;
pub mod inline;
pub mod prompts;
pub mod results;
pub mod server;
