//! Handlers for codex-mcp's own tools: the ones the server answers itself.

pub mod codex;
pub mod health;
