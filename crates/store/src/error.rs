//! The one error type every store operation returns.
//!
//! Messages are written for the person running mcpd: each names the file or record
//! involved and, where the operator can act, the fix. Variants carry owned strings
//! rather than backend error values, so the type is `Clone + PartialEq` (tests compare
//! whole errors) and a future networked backend can produce the same variants.

use std::path::PathBuf;

use crate::model::CallStatus;
use crate::task::TaskStatus;

/// Why a store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The data directory cannot be created or used (missing parent, not a directory,
    /// permission denied).
    #[error(
        "cannot use data dir {} ({reason}): create it as a writable directory or point CODEX_MCP_DATA_DIR elsewhere",
        path.display()
    )]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// What the operating system or database said.
        reason: String,
    },

    /// The data directory or database file cannot be written.
    #[error(
        "{} is read-only ({reason}): make it writable for the user running mcpd or point CODEX_MCP_DATA_DIR elsewhere",
        path.display()
    )]
    ReadOnly {
        /// The directory or file that refused the write.
        path: PathBuf,
        /// What the operating system or database said.
        reason: String,
    },

    /// The disk holding the database is full.
    #[error(
        "the disk holding {} is full: free some space or point CODEX_MCP_DATA_DIR elsewhere",
        path.display()
    )]
    DiskFull {
        /// The database file.
        path: PathBuf,
    },

    /// Another mcpd process already has this database open.
    #[error(
        "codex-mcp.db at {} is in use by another mcpd (it holds codex-mcp.db.lock): stop that process or point CODEX_MCP_DATA_DIR elsewhere",
        path.display()
    )]
    InUse {
        /// The database file.
        path: PathBuf,
    },

    /// The file is not a SQLite database, or its pages are damaged. The store never
    /// rewrites such a file.
    #[error(
        "codex-mcp.db at {} is not a readable SQLite database ({reason}); it was left untouched: restore it from a backup or move it aside, or point CODEX_MCP_DATA_DIR elsewhere",
        path.display()
    )]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// What was found.
        reason: String,
    },

    /// The file is a valid SQLite database that some other program created.
    #[error(
        "codex-mcp.db at {} was not created by codex-mcp ({reason}); it was left untouched: move it aside or point CODEX_MCP_DATA_DIR elsewhere",
        path.display()
    )]
    Foreign {
        /// The database file.
        path: PathBuf,
        /// What gave it away.
        reason: String,
    },

    /// The database was written by a newer codex-mcp whose schema this build does not
    /// know; using it could lose data, so the store refuses.
    #[error(
        "codex-mcp.db at {} is from a newer codex-mcp (schema {found}, this build knows {known}): upgrade mcpd or point CODEX_MCP_DATA_DIR elsewhere",
        path.display()
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// The schema version found in the file.
        found: i64,
        /// The newest schema version this build can migrate to.
        known: i64,
    },

    /// A schema migration failed; its transaction was rolled back, so the file is as it
    /// was before.
    #[error(
        "upgrading codex-mcp.db at {} to schema {version} failed ({reason}); nothing was changed: keep running the previous mcpd and report this",
        path.display()
    )]
    Migration {
        /// The database file.
        path: PathBuf,
        /// The schema version whose migration failed.
        version: i64,
        /// What the database said.
        reason: String,
    },

    /// A referenced record does not exist.
    #[error("{kind} {id:?} not found")]
    NotFound {
        /// `agent`, `session`, `call` or `thread`.
        kind: &'static str,
        /// Its id.
        id: String,
    },

    /// A record with this id already exists (ids are chosen by the caller).
    #[error("{kind} {id:?} already exists")]
    AlreadyExists {
        /// `agent`, `session` or `call`.
        kind: &'static str,
        /// Its id.
        id: String,
    },

    /// A call was finished twice, or finished after being marked interrupted.
    #[error("call {id:?} is not running (it is {status}), so it cannot be finished again")]
    NotRunning {
        /// The call's correlation id.
        id: String,
        /// Its recorded status.
        status: CallStatus,
    },

    /// A task was moved along or ended after it had already ended.
    #[error("task {id:?} has already ended (it is {status}), so it cannot change")]
    TaskEnded {
        /// The task id.
        id: String,
        /// Its recorded final status.
        status: TaskStatus,
    },

    /// A stored record that cannot be decoded (written by a newer build, or edited by
    /// hand); the row is left as it is.
    #[error("the stored {what} of {id} cannot be read: {reason}")]
    Unreadable {
        /// Which kind of record.
        what: &'static str,
        /// Whose record.
        id: String,
        /// What the decoder said.
        reason: String,
    },

    /// The caller passed a value the store cannot record.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which argument.
        what: &'static str,
        /// Why it was refused.
        reason: String,
    },

    /// Any other database failure.
    #[error("database error on {location}: {reason}")]
    Database {
        /// Where the data lives (a file path for SQLite).
        location: String,
        /// What the database said.
        reason: String,
    },

    /// The PostgreSQL server named by `CODEX_MCP_DATABASE_URL` cannot be reached or
    /// refused the connection (wrong host, port, user, password or database).
    #[error(
        "cannot use the PostgreSQL database {location} ({reason}): start the server, or fix CODEX_MCP_DATABASE_URL"
    )]
    Unreachable {
        /// The database, as `postgres://host:port/name` (never the password).
        location: String,
        /// What the client or server said.
        reason: String,
    },

    /// A live mcpd with the same replica name already uses this PostgreSQL database (it
    /// holds that name's advisory lock). Replicas sharing a database need distinct names.
    #[error(
        "the PostgreSQL database {location} is in use by another mcpd with the replica name {instance:?} (it holds that name's advisory lock): stop that process, or give this one another name (CODEX_MCP_REPLICA_NAME)"
    )]
    DatabaseInUse {
        /// The database, as `postgres://host:port/name`.
        location: String,
        /// The replica name both processes claim.
        instance: String,
    },

    /// The PostgreSQL database was migrated by a newer codex-mcp whose schema this build
    /// does not know; using it could lose data, so the store refuses.
    #[error(
        "the PostgreSQL database {location} is from a newer codex-mcp (schema {found}, this build knows {known}): upgrade mcpd or use another database"
    )]
    DatabaseNewerSchema {
        /// The database, as `postgres://host:port/name`.
        location: String,
        /// The schema version found in the database.
        found: i64,
        /// The newest schema version this build can migrate to.
        known: i64,
    },

    /// A PostgreSQL schema migration failed; its transaction was rolled back, so the
    /// database is as it was.
    #[error(
        "upgrading the PostgreSQL database {location} to schema {version} failed ({reason}); nothing was changed: keep running the previous mcpd and report this"
    )]
    DatabaseMigration {
        /// The database, as `postgres://host:port/name`.
        location: String,
        /// The schema version whose migration failed.
        version: i64,
        /// What the server said.
        reason: String,
    },

    /// The store's writer has stopped (the store is shutting down, or it crashed).
    #[error("the store is closed: its writer has stopped; restart mcpd")]
    Closed,
}

impl StoreError {
    /// Shorthand for [`StoreError::NotFound`].
    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            kind,
            id: id.into(),
        }
    }

    /// Shorthand for [`StoreError::Invalid`].
    pub fn invalid(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            what,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn newer_schema_message_names_path_versions_and_fix() {
        let err = StoreError::NewerSchema {
            path: PathBuf::from("/x/codex-mcp.db"),
            found: 9,
            known: 2,
        };
        assert_eq!(
            err.to_string(),
            "codex-mcp.db at /x/codex-mcp.db is from a newer codex-mcp (schema 9, this build knows 2): \
             upgrade mcpd or point CODEX_MCP_DATA_DIR elsewhere"
        );
    }

    #[test]
    fn not_running_message_names_status() {
        let err = StoreError::NotRunning {
            id: "c1".into(),
            status: CallStatus::Interrupted,
        };
        assert_eq!(
            err.to_string(),
            "call \"c1\" is not running (it is interrupted), so it cannot be finished again"
        );
    }
}
