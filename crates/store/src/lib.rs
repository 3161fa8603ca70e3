//! # codex-mcp-store
//!
//! The durable record behind mcpd: which agents exist and where their environments
//! live, which MCP sessions they opened, every tool call they made (status, duration,
//! tokens) and which Codex thread continues each of their conversations. After a
//! restart nothing is lost: conversations resume on their stored Codex thread, and a
//! call that was running when the process died is marked `interrupted`, never left
//! `running`.
//!
//! - [`SessionStore`] is the narrow, object-safe async trait the engine holds as
//!   `Arc<dyn SessionStore>`.
//! - [`SqliteStore`] implements it on one embedded SQLite file, `codex-mcp.db`, in the
//!   data dir (WAL, versioned migrations, one writer thread with group commit, a small
//!   pool of read-only connections).
//! - [`ConversationHold`]: one Codex turn at a time per conversation across every
//!   process sharing a store ([`SessionStore::hold_conversation`]).
//! - [`TaskStore`] (required by [`SessionStore`]) keeps durable MCP tasks and
//!   background jobs; [`task`] holds their records.
//! - [`model`] holds the plain serde records; [`StoreError`] the typed errors, whose
//!   messages name the file and the fix.
//!
//! ```no_run
//! # async fn demo() -> Result<(), codex_mcp_store::StoreError> {
//! use std::sync::Arc;
//! use codex_mcp_store::{SessionStore, SqliteStore};
//!
//! let dir = std::path::PathBuf::from("/var/lib/codex-mcp");
//! let store = tokio::task::spawn_blocking(move || SqliteStore::open(&dir))
//!     .await
//!     .map_err(|_| codex_mcp_store::StoreError::Closed)??;
//! let store: Arc<dyn SessionStore> = Arc::new(store);
//! let agents = store.list_agents().await?;
//! # let _ = agents; Ok(()) }
//! ```
//!
//! See `docs/store.md` for the design, the measurements behind it and what a shared
//! networked backend would need.

mod conversation_hold;
mod digest;
pub mod error;
pub mod model;
pub mod postgres;
mod session_store;
pub mod sqlite;
pub mod task;
mod task_store;
mod values;

pub use conversation_hold::ConversationHold;
pub use digest::{arguments_digest, arguments_digest_of_object};
pub use error::StoreError;
pub use model::{
    Agent, AgentActivity, AgentDeleted, AgentPage, AgentStatus, AgentUpdate, AgentUsage, Call,
    CallFinish, CallOutput, CallStart, CallStatus, NewAgent, NewSession, OutputEntry, OutputQuery,
    Pruned, Recovered, Session, Thread, Timestamp, Transport,
};
pub use postgres::PostgresStore;
pub use session_store::SessionStore;
pub use sqlite::SqliteStore;
pub use task::{
    CALL_INTERRUPTED, LeftTask, NewTask, TASK_INTERRUPTED, Task, TaskFinish, TaskPage,
    TaskProgress, TaskStatus,
};
pub use task_store::{MAX_TASK_PAGE, TaskStore};

/// The current time at the precision the store keeps (milliseconds), so a value
/// written and read back compares equal.
pub fn now() -> Timestamp {
    let t = chrono::Utc::now();
    chrono::DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or(t)
}
