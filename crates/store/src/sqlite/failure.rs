//! Turning SQLite and I/O errors into [`StoreError`]s that name the file and the fix.
//!
//! Query code returns [`Failure`], which is either already a [`StoreError`] (a missing
//! agent, a duplicate id) or a raw rusqlite error; the writer and readers, which know the
//! database path, classify the raw ones.

use std::io;
use std::path::Path;

use rusqlite::ErrorCode;
use rusqlite::ffi;

use crate::error::StoreError;

/// An error from query code, classified once the database path is at hand.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A domain error, final as it is.
    Store(StoreError),
    /// A database error still to be classified.
    Sql(rusqlite::Error),
}

impl From<StoreError> for Failure {
    fn from(err: StoreError) -> Self {
        Self::Store(err)
    }
}

impl From<rusqlite::Error> for Failure {
    fn from(err: rusqlite::Error) -> Self {
        Self::Sql(err)
    }
}

impl Failure {
    /// The final error, naming `path` for database failures.
    pub(crate) fn into_store(self, path: &Path) -> StoreError {
        match self {
            Self::Store(err) => err,
            Self::Sql(err) => classify(&err, path),
        }
    }
}

/// Maps a SQLite error to the variant an operator can act on.
pub(crate) fn classify(err: &rusqlite::Error, path: &Path) -> StoreError {
    let reason = err.to_string();
    match err.sqlite_error_code() {
        Some(ErrorCode::DiskFull) => StoreError::DiskFull {
            path: path.to_path_buf(),
        },
        Some(ErrorCode::ReadOnly | ErrorCode::PermissionDenied) => StoreError::ReadOnly {
            path: path.to_path_buf(),
            reason,
        },
        Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Corrupt {
            path: path.to_path_buf(),
            reason,
        },
        Some(ErrorCode::CannotOpen) => StoreError::DataDir {
            path: path.parent().unwrap_or(path).to_path_buf(),
            reason,
        },
        _ => StoreError::Database {
            location: path.display().to_string(),
            reason,
        },
    }
}

/// Maps an I/O error on a file in the data dir (the lock file, the directory itself).
pub(crate) fn classify_io(err: &io::Error, path: &Path) -> StoreError {
    let reason = err.to_string();
    match err.kind() {
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem => {
            StoreError::ReadOnly {
                path: path.to_path_buf(),
                reason,
            }
        }
        io::ErrorKind::StorageFull => StoreError::DiskFull {
            path: path.to_path_buf(),
        },
        _ => StoreError::DataDir {
            path: path.to_path_buf(),
            reason,
        },
    }
}

/// Which constraint a failed statement broke, when that is the whole story.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Constraint {
    /// A UNIQUE or PRIMARY KEY constraint: the id exists.
    Unique,
    /// A FOREIGN KEY constraint: a referenced record is missing.
    ForeignKey,
}

/// What a failed INSERT of record `kind` with `id` means: the id exists
/// (`AlreadyExists`), the record it refers to (`parent`: its kind and id) is missing
/// (`NotFound`), or a database error.
pub(crate) fn insert_refused(
    err: rusqlite::Error,
    kind: &'static str,
    id: &str,
    parent: (&'static str, Option<&str>),
) -> Failure {
    match constraint(&err) {
        Some(Constraint::Unique) => StoreError::AlreadyExists {
            kind,
            id: id.to_owned(),
        }
        .into(),
        Some(Constraint::ForeignKey) => {
            StoreError::not_found(parent.0, parent.1.unwrap_or_default()).into()
        }
        None => err.into(),
    }
}

/// The broken constraint of `err`, if it is a constraint violation.
pub(crate) fn constraint(err: &rusqlite::Error) -> Option<Constraint> {
    match err {
        rusqlite::Error::SqliteFailure(e, _) => match e.extended_code {
            ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                Some(Constraint::Unique)
            }
            ffi::SQLITE_CONSTRAINT_FOREIGNKEY => Some(Constraint::ForeignKey),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::path::PathBuf;

    fn sqlite_error(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), None)
    }

    #[test]
    fn disk_full_names_the_file() {
        let path = PathBuf::from("/data/codex-mcp.db");
        let err = classify(&sqlite_error(ffi::SQLITE_FULL), &path);
        assert_eq!(err, StoreError::DiskFull { path: path.clone() });
        assert_eq!(
            err.to_string(),
            "the disk holding /data/codex-mcp.db is full: free some space or point CODEX_MCP_DATA_DIR elsewhere"
        );
    }

    #[test]
    fn read_only_and_corrupt_are_typed() {
        let path = PathBuf::from("/data/codex-mcp.db");
        assert!(matches!(
            classify(&sqlite_error(ffi::SQLITE_READONLY), &path),
            StoreError::ReadOnly { .. }
        ));
        assert!(matches!(
            classify(&sqlite_error(ffi::SQLITE_CORRUPT), &path),
            StoreError::Corrupt { .. }
        ));
        assert!(matches!(
            classify(&sqlite_error(ffi::SQLITE_NOTADB), &path),
            StoreError::Corrupt { .. }
        ));
        let ro = classify(&sqlite_error(ffi::SQLITE_READONLY), &path).to_string();
        assert!(ro.starts_with("/data/codex-mcp.db is read-only ("), "{ro}");
        assert!(ro.ends_with("point CODEX_MCP_DATA_DIR elsewhere"), "{ro}");
    }

    #[test]
    fn io_permission_denied_is_read_only() {
        let path = PathBuf::from("/data");
        let err = classify_io(&io::Error::from(io::ErrorKind::PermissionDenied), &path);
        assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
        let err = classify_io(&io::Error::from(io::ErrorKind::StorageFull), &path);
        assert_eq!(err, StoreError::DiskFull { path });
    }

    #[test]
    fn constraint_codes_are_recognised() {
        let unique = rusqlite::Error::SqliteFailure(
            ffi::Error {
                code: ErrorCode::ConstraintViolation,
                extended_code: ffi::SQLITE_CONSTRAINT_UNIQUE,
            },
            None,
        );
        assert_eq!(constraint(&unique), Some(Constraint::Unique));
        assert_eq!(constraint(&sqlite_error(ffi::SQLITE_FULL)), None);
    }
}
