//! What can stop [`crate::CodexMcp`] from being built: each variant names the part
//! (data dir, store, runtime, credentials) and what to change.

use std::path::PathBuf;

/// Why the embedded engine could not be built.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The data dir (session store, session key) cannot be made or used.
    #[error("data dir {}: {why}", dir.display())]
    DataDir {
        /// The data dir.
        dir: PathBuf,
        /// What failed, with the file and the fix.
        why: String,
    },
    /// The session store in the data dir cannot be opened.
    #[error("data dir {}: cannot open the session store: {source}", dir.display())]
    Store {
        /// The data dir.
        dir: PathBuf,
        /// The store's error.
        source: codex_mcp_store::StoreError,
    },
    /// The PostgreSQL store named by the database URL cannot be used.
    #[error("the PostgreSQL store: {0}")]
    Database(codex_mcp_store::StoreError),
    /// The store could not say which tasks a previous process left running, or which
    /// runs other replicas are doing: nothing would be safe to stop or re-attach.
    #[error("cannot read the tasks a previous mcpd left running: {0}")]
    LeftRunning(codex_mcp_store::StoreError),
    /// The agent runtime (Docker or local) cannot be used.
    #[error("agent runtime: {0}")]
    Runtime(#[from] codex_mcp_runtime::RuntimeError),
    /// The credentials cannot be detected or kept fresh.
    #[error("credentials: {0}")]
    Credentials(#[from] codex_mcp_auth::AuthError),
}
