//! Opening `codex-mcp.db`: the data dir, the single-instance lock, refusing files the
//! store cannot safely use, connection settings and migrations.
//!
//! The rule throughout: a file the store cannot read is reported, never rewritten,
//! deleted or recreated.

use std::fs::{self, File, TryLockError};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::{Connection, OpenFlags};

use crate::error::StoreError;
use crate::sqlite::clean_mark;
use crate::sqlite::failure::{classify, classify_io};
use crate::sqlite::migrations::{self, APPLICATION_ID, MIGRATIONS};

/// The database file's name inside the data dir.
pub const DB_FILE: &str = "codex-mcp.db";
/// The lock file that keeps a second mcpd off the same database.
pub const LOCK_FILE: &str = "codex-mcp.db.lock";
/// How long open waits for a previous owner of the lock (e.g. a store being dropped).
const LOCK_WAIT: Duration = Duration::from_secs(2);
/// How long a statement waits on a lock held by another connection before failing.
/// With one writer this only covers checkpoints and WAL recovery at open.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// Bytes the WAL file is truncated to after it is reset.
const WAL_SIZE_LIMIT: i64 = 16 * 1024 * 1024;
/// Prepared statements kept per connection (the store uses about thirty).
pub(crate) const STATEMENT_CACHE: usize = 64;
/// The first 16 bytes of every SQLite 3 database file.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// The writer connection of a freshly opened database, with its lock.
pub(crate) struct Opened {
    /// The database file.
    pub path: PathBuf,
    /// The one read-write connection, migrated to the current schema.
    pub conn: Connection,
    /// The held lock file; dropping it lets another process open the database.
    pub lock: File,
    /// Whether the full integrity check ran (it is skipped after a clean shutdown).
    pub checked: bool,
}

/// Creates the data dir if needed, takes the lock, checks and migrates the database.
pub(crate) fn open(data_dir: &Path) -> Result<Opened, StoreError> {
    if data_dir.exists() && !data_dir.is_dir() {
        return Err(StoreError::DataDir {
            path: data_dir.to_path_buf(),
            reason: "it exists but is not a directory".into(),
        });
    }
    fs::create_dir_all(data_dir).map_err(|e| classify_io(&e, data_dir))?;
    if !data_dir.is_dir() {
        return Err(StoreError::DataDir {
            path: data_dir.to_path_buf(),
            reason: "not a directory".into(),
        });
    }
    let path = data_dir.join(DB_FILE);
    let mut lock = take_lock(data_dir, &path)?;
    check_header(&path)?;
    let clean = clean_mark::take(&mut lock, &data_dir.join(LOCK_FILE), &path)?;

    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let mut conn = Connection::open_with_flags(&path, flags).map_err(|e| classify(&e, &path))?;
    configure_common(&conn, &path)?;
    check_contents(&conn, &path, !clean)?;

    // Only now, with a file known to be ours (or empty), change anything.
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "wal", |r| r.get(0))
        .map_err(|e| classify(&e, &path))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Database {
            location: path.display().to_string(),
            reason: format!("cannot switch to WAL mode (journal_mode stayed {mode})"),
        });
    }
    // NORMAL in WAL mode: a commit is durable once the process has written it to the
    // WAL (an mcpd crash loses nothing); only a power loss or kernel crash can lose the
    // last commits since the previous checkpoint, and never corrupts the file. FULL
    // would fsync every commit, which costs far more than it protects here.
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(|e| classify(&e, &path))?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(|e| classify(&e, &path))?;
    // After a checkpoint resets the WAL, truncate it back to this size so a burst does
    // not leave a large file behind.
    conn.pragma_update(None, "journal_size_limit", WAL_SIZE_LIMIT)
        .map_err(|e| classify(&e, &path))?;
    let (from, to) = migrations::migrate(&mut conn, &path, MIGRATIONS)?;
    if from != to {
        tracing::info!(path = %path.display(), from, to, "migrated codex-mcp.db");
    }
    Ok(Opened {
        path,
        conn,
        lock,
        checked: !clean,
    })
}

/// Opens one more read-only connection to an already opened database.
pub(crate) fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| classify(&e, path))?;
    configure_common(&conn, path)?;
    Ok(conn)
}

fn configure_common(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| classify(&e, path))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // One plan per statement, whatever the values bound to it. Without this, SQLite
    // (3.54) marks a statement for re-planning when a parameter it looked at while
    // planning (an id, a LIMIT) is rebound, and the statement cache clears bindings on
    // every reuse: every cached statement was parsed and planned again on each run
    // (3-4x the cost of reading an agent's calls). No statement here depends on a bound
    // value for its plan: partial indexes are matched on literals in the SQL.
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)
        .map_err(|e| classify(&e, path))?;
    Ok(())
}

/// Takes the exclusive lock on `codex-mcp.db.lock`, waiting briefly for a previous
/// owner in this process to finish closing.
fn take_lock(data_dir: &Path, db_path: &Path) -> Result<File, StoreError> {
    let lock_path = data_dir.join(LOCK_FILE);
    let file = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(|e| classify_io(&e, &lock_path))?;
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(20));
            }
            Err(TryLockError::WouldBlock) => {
                return Err(StoreError::InUse {
                    path: db_path.to_path_buf(),
                });
            }
            Err(TryLockError::Error(e)) => return Err(classify_io(&e, &lock_path)),
        }
    }
}

/// Refuses a non-empty file that does not start with the SQLite magic, before SQLite
/// ever opens it (so it cannot be touched).
fn check_header(path: &Path) -> Result<(), StoreError> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(classify_io(&e, path)),
    };
    let meta = file.metadata().map_err(|e| classify_io(&e, path))?;
    if !meta.is_file() {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            reason: "it is not a regular file".into(),
        });
    }
    if meta.len() == 0 {
        return Ok(());
    }
    let mut head = [0u8; 16];
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(e) => return Err(classify_io(&e, path)),
        }
    }
    if read < head.len() || &head != SQLITE_MAGIC {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            reason: "it does not start with the SQLite file header".into(),
        });
    }
    Ok(())
}

/// Read-only checks of a SQLite file: ours, not from a newer build, and (when `full`,
/// i.e. unless the previous owner closed it cleanly; see `clean_mark`) not damaged.
fn check_contents(conn: &Connection, path: &Path, full: bool) -> Result<(), StoreError> {
    let sql = |e: rusqlite::Error| classify(&e, path);
    let app_id: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(sql)?;
    if app_id != 0 && app_id != APPLICATION_ID {
        return Err(StoreError::Foreign {
            path: path.to_path_buf(),
            reason: format!("its application_id is {app_id:#x}"),
        });
    }
    let found = migrations::user_version(conn).map_err(sql)?;
    let known = migrations::known_version();
    if found > known {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    if found == 0 {
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .map_err(sql)?;
        if tables > 0 {
            return Err(StoreError::Foreign {
                path: path.to_path_buf(),
                reason: format!(
                    "it already holds {tables} tables or indexes but no codex-mcp schema version"
                ),
            });
        }
    }
    if !full {
        return Ok(());
    }
    // quick_check reads every page (O(size): seconds on a big store), so it runs only
    // when the previous process did not close the file cleanly or the file changed
    // since; finding damage here beats failing mid-call later.
    let mut stmt = conn.prepare("PRAGMA quick_check(5)").map_err(sql)?;
    let problems: Vec<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .map_err(sql)?
        .collect::<Result<_, _>>()
        .map_err(sql)?;
    if problems != ["ok"] {
        return Err(StoreError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("integrity check: {}", problems.join("; ")),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn second_open_in_the_same_dir_is_refused_while_the_lock_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let first = open(dir.path()).unwrap();
        let started = Instant::now();
        let err = open(dir.path()).err().unwrap();
        assert!(started.elapsed() >= LOCK_WAIT);
        assert_eq!(
            err,
            StoreError::InUse {
                path: dir.path().join(DB_FILE)
            }
        );
        drop(first);
        open(dir.path()).unwrap();
    }

    #[test]
    fn short_garbage_is_refused_by_the_header_check() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(DB_FILE), b"SQLite").unwrap();
        assert!(matches!(
            check_header(&dir.path().join(DB_FILE)),
            Err(StoreError::Corrupt { .. })
        ));
    }

    #[test]
    fn settings_are_applied() {
        let dir = tempfile::tempdir().unwrap();
        let opened = open(dir.path()).unwrap();
        let get = |name: &str| -> String {
            opened
                .conn
                .pragma_query_value(None, name, |r| r.get::<_, rusqlite::types::Value>(0))
                .map(|v| format!("{v:?}"))
                .unwrap()
        };
        assert_eq!(get("journal_mode"), "Text(\"wal\")");
        assert_eq!(get("synchronous"), "Integer(1)");
        assert_eq!(get("foreign_keys"), "Integer(1)");
        assert_eq!(get("user_version"), "Integer(5)");
    }
}
