//! Test support for codex-mcp.
