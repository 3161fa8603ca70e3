//! Credential detection for codex-mcp (filled in by the credentials issue).
