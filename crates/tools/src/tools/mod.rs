//! The tools, one module per tool or family: argument and response types, description,
//! annotations and (for Codex tools) the prompt template.

pub mod agents;
pub mod audit;
pub mod chat;
pub mod debug;
pub mod fix;
pub mod health;
pub mod implement;
pub mod jobs;
pub mod plan;
pub mod review;
pub mod sessions;
pub(crate) mod text;

use codex_mcp_protocol::tools::ToolAnnotations;

pub use crate::severity::Severity;

/// The `agent_id` argument's description, the same on every tool.
pub(crate) const AGENT_ID_DOC: &str = "Your agent id (1-64 of A-Za-z0-9_.-, not . or ..). Selects your own persistent environment (workspace, Codex home, conversation threads). Defaults to the agent of your connection.";

/// The `timeout_seconds` argument's description, the same on every Codex tool.
pub(crate) const TIMEOUT_DOC: &str =
    "Stop the Codex turn after this many seconds (1-7200) instead of the tool's default.";

/// Hints for a Codex tool. Codex tools are open-world: the arguments and workspace
/// content go to the model provider, and Codex may run commands.
pub fn codex_annotations(read_only: bool) -> ToolAnnotations {
    ToolAnnotations {
        read_only_hint: Some(read_only),
        destructive_hint: Some(false),
        idempotent_hint: Some(false),
        open_world_hint: Some(true),
        ..ToolAnnotations::default()
    }
}

/// Hints for a tool the server answers from its own state.
pub(crate) fn server_annotations(read_only: bool, destructive: bool) -> ToolAnnotations {
    ToolAnnotations {
        read_only_hint: Some(read_only),
        destructive_hint: Some(destructive),
        idempotent_hint: Some(true),
        open_world_hint: Some(false),
        ..ToolAnnotations::default()
    }
}
