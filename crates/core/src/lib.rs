//! codex-mcp core (in progress).
