//! The integration tests of `codex-mcp-store`, in one test binary (the codex-rs layout):
//! one module per area under `suite/`, shared helpers compiled once.

// Test setup outside #[test] bodies (helpers, fixtures) also panics on failure, and
// clippy.toml's allow-*-in-tests covers only #[test] bodies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod suite;
