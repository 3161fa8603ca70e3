//! # codex-mcp-protocol
//!
//! The wire vocabulary of codex-mcp: JSON-RPC 2.0 framing and the Model Context Protocol
//! types for every revision a client may speak, from the 2024-11-05 HTTP+SSE era through
//! the stateless 2026-07-28 revision.
//!
//! The crate is pure data: serde types, error codes, version negotiation and the
//! integrity protection of `requestState`. It performs no I/O, so the engine, the tests
//! and any embedding program can share it without pulling in a runtime.
//!
//! Two eras matter to a server:
//! - [`Era::Legacy`] (2024-11-05 .. 2025-11-25): `initialize` handshake, sessions,
//!   `ping`, `logging/setLevel`, server-to-client notifications on a session stream.
//! - [`Era::Modern`] (2026-07-28): no handshake; every request carries its protocol
//!   version and client capabilities in `_meta`, every result carries `resultType`.

pub mod agent_id;
pub mod content;
pub mod error;
pub mod jsonrpc;
pub mod lifecycle;
pub mod logging;
pub mod meta;
pub mod notifications;
pub mod prompts;
pub mod request_state;
pub mod resources;
pub mod result;
pub mod tasks;
pub mod tasks_ext;
pub mod tools;
pub mod version;

pub use agent_id::{AgentId, InvalidAgentId};
pub use content::{Content, ResourceContents};
pub use error::{ErrorCode, ErrorObject};
pub use jsonrpc::{Message, Notification, Request, RequestId, Response};
pub use version::{Era, ProtocolVersion};
