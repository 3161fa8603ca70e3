//! # codex-mcp-tools
//!
//! The tool catalogue of codex-mcp: for each of the 15 tools its name, title,
//! description and behaviour hints, the Rust types of its arguments and of its response,
//! the JSON Schemas derived from them, and for the seven Codex tools the prompt sent to
//! Codex. The crate is pure: no I/O, no async runtime. The engine (`codex-mcp-core`)
//! calls it at the two ends of a tool call:
//!
//! 1. [`prepare`] (Codex tools) or [`prepare_server`] (the server's own tools) checks the
//!    arguments against the tool's `inputSchema` and the rules a schema cannot say,
//!    failing with an [`ArgumentError`] that names the argument, and yields the prompt,
//!    the `--output-schema`, the timeout and the conversation the turn belongs to.
//! 2. [`PreparedCall::finish`] (or [`finish`]) parses Codex's final message and
//!    validates it against the tool's `outputSchema`, failing with an [`OutputError`]
//!    that carries what Codex said; server tools validate what they built with
//!    [`to_structured`].
//!
//! One schema per response type serves as both the MCP `outputSchema` and the Codex
//! `--output-schema`, so it is kept inside the OpenAI Responses API strict subset;
//! [`schema::check_strict`] proves that in the tests. The Codex prompts are also served
//! as MCP prompts ([`prompts()`], [`render_prompt`]).
//!
//! An embedder defines a Codex tool of its own with the constructor the catalogue uses,
//! [`ToolSpec::new_codex`] (a [`Definition`], a [`CodexTool`] and a [`PrepareFn`] that
//! calls [`args::parse`] and writes the prompt), and prepares its calls with
//! [`prepare_call`]; `examples/custom-tool` in the repository is one.
//!
//! Tools can be found under their names and under the original project's `codex_`
//! names ([`find`]); `docs/tools.md` in the repository lists every tool, its arguments,
//! its result and the limits.

pub mod args;
pub mod catalogue;
pub mod job;
pub mod output;
pub mod prompts;
pub mod schema;
pub mod severity;
pub mod spec;
pub mod tools;

pub use args::{ArgumentError, MAX_ARGUMENT_BYTES, MAX_TOTAL_ARGUMENT_BYTES};
pub use catalogue::{
    LEGACY_PREFIX, PreparedCall, ServerCall, catalogue, find, prepare, prepare_call, prepare_server,
};
pub use codex_mcp_protocol::{AgentId, InvalidAgentId};
pub use output::{OutputError, finish, to_structured, validate_output};
pub use prompts::{prompts, render_prompt};
pub use severity::Severity;
pub use spec::{
    CodexTool, Definition, MAX_TIMEOUT_SECONDS, PrepareFn, Prepared, ServerRequest, ToolKind,
    ToolSpec, WorkspaceAccess,
};
