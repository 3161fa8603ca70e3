//! The integration tests of `codex-mcp-core`, in one test binary (the codex-rs layout):
//! one module per area under `suite/`, shared helpers compiled once.

mod suite;
