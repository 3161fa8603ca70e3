//! The codex-mcp session store (filled in by the store issue).
