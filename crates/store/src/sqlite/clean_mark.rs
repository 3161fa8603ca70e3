//! The clean-shutdown mark: lets open skip the full integrity check of a file that the
//! previous mcpd closed cleanly and nothing has touched since.
//!
//! `PRAGMA quick_check` reads every page, which on a big store (hundreds of thousands of
//! calls) takes seconds. It finds damage that a crash, a full disk or a power loss left
//! behind, so it must run after any of those; after a clean close it only re-reads what
//! SQLite itself wrote and checkpointed.
//!
//! The mark lives in the lock file, which only the store holding the lock writes. At a
//! clean close, once the WAL is folded into the main file and removed, the writer thread
//! writes the database file's identity (device, inode, size, modification and change
//! times) into it. At open the mark is read and cleared before anything is written, so a
//! process that then crashes leaves no mark and the next open checks the whole file. A
//! mark that does not match the file (someone copied, restored or edited it) or a WAL
//! file left beside it also means a full check.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::StoreError;
use crate::sqlite::failure::classify_io;

/// First word of the mark, with its format version.
const MARK: &str = "codex-mcp clean-shutdown v1";

/// What decides whether the file is still the one that was closed cleanly.
fn stamp(db: &Path) -> Option<String> {
    let meta = std::fs::metadata(db).ok()?;
    Some(format!(
        "{MARK} dev={} ino={} len={} mtime={}.{} ctime={}.{}",
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec()
    ))
}

/// The WAL file SQLite keeps beside `db` while it is open (and after a crash).
fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// Reads and clears the mark in the held `lock` file. True when the previous owner
/// closed `db` cleanly and the file is exactly as it left it, so the full integrity
/// check can be skipped. Cleared (and synced) before returning, so a crash from here on
/// means a full check next time.
pub(crate) fn take(lock: &mut File, lock_path: &Path, db: &Path) -> Result<bool, StoreError> {
    let io = |e: std::io::Error| classify_io(&e, lock_path);
    let mut found = String::new();
    lock.seek(SeekFrom::Start(0)).map_err(io)?;
    // A mark that is not UTF-8 is simply not a mark.
    let read = lock.read_to_string(&mut found).is_ok();
    if found.is_empty() {
        return Ok(false);
    }
    lock.set_len(0).map_err(io)?;
    lock.sync_data().map_err(io)?;
    let clean =
        read && !wal_path(db).exists() && stamp(db).is_some_and(|now| found.trim_end() == now);
    Ok(clean)
}

/// Writes the mark for `db` into `lock` after a clean close (every connection closed).
/// Best effort: without a mark the next open checks the whole file, which is safe.
pub(crate) fn write(lock: &mut File, db: &Path) {
    if wal_path(db).exists() {
        tracing::debug!(path = %db.display(), "WAL left after close: no clean-shutdown mark");
        return;
    }
    let Some(mark) = stamp(db) else {
        return;
    };
    let written = lock
        .set_len(0)
        .and_then(|()| lock.seek(SeekFrom::Start(0)))
        .and_then(|_| lock.write_all(format!("{mark}\n").as_bytes()))
        .and_then(|()| lock.sync_data());
    if let Err(e) = written {
        tracing::warn!(path = %db.display(), error = %e,
            "cannot record the clean shutdown: the next start checks the whole database");
        let _ = lock.set_len(0);
    }
}
