//! The integration tests of `codex-mcp-e2e`, in one test binary (the codex-rs layout):
//! one module per area under `suite/`, shared helpers compiled once.

mod suite;
