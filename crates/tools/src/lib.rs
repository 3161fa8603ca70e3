//! The codex-mcp tool catalogue (filled in by the Codex engine issue).
