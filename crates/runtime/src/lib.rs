//! Agent runtimes for codex-mcp (filled in by the Codex engine and Docker issues).
