//! WAL checkpoints off the write path.
//!
//! SQLite's automatic checkpoint runs inside the COMMIT that crosses the threshold, so
//! one caller in every few hundred waits for the WAL to be copied into the main file
//! and fsynced (measured: several milliseconds). Instead, the writer's WAL hook signals
//! this thread once the WAL holds [`CHECKPOINT_PAGES`] pages, and it runs a PASSIVE
//! checkpoint on its own connection, which never blocks the writer or readers.
//!
//! It also checkpoints once per [`CHECKPOINT_INTERVAL`] when anything was committed.
//! With `synchronous=NORMAL` the checkpoint is where the WAL is fsynced, so this bounds
//! what a power loss can take to about the last second of writes, even at low load.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::OpenFlags;

use crate::error::StoreError;
use crate::sqlite::failure::classify;
use crate::sqlite::open::BUSY_TIMEOUT;

/// WAL size (in pages) that triggers a checkpoint: SQLite's own default threshold.
pub(crate) const CHECKPOINT_PAGES: i32 = 1000;
/// Longest time committed writes wait for a checkpoint (and so for an fsync).
pub(crate) const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

enum Signal {
    Checkpoint,
    Stop,
}

/// The checkpoint thread. [`Checkpointer::stop`] ends it; its connection, closed
/// last, then folds the rest of the WAL into the main file.
pub(crate) struct Checkpointer {
    tx: SyncSender<Signal>,
    thread: JoinHandle<()>,
}

impl Checkpointer {
    /// Starts the thread and installs the WAL hook on the writer connection (which also
    /// turns off SQLite's automatic checkpoint on that connection).
    pub(crate) fn start(path: &Path, writer: &mut Connection) -> Result<Self, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|e| classify(&e, path))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| classify(&e, path))?;
        let (tx, rx) = sync_channel(1);
        let hook_tx = tx.clone();
        let dirty = Arc::new(AtomicBool::new(false));
        let hook_dirty = Arc::clone(&dirty);
        writer
            .wal_hook(Some(move |_: &mut _, pages: std::ffi::c_int| {
                hook_dirty.store(true, Ordering::Release);
                if pages >= CHECKPOINT_PAGES {
                    // One pending signal is enough: a full channel means one is queued,
                    // a closed one that the store is shutting down.
                    let _ = hook_tx.try_send(Signal::Checkpoint);
                }
                Ok(())
            }))
            .map_err(|e| classify(&e, path))?;
        let owned: PathBuf = path.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("codex-mcp-store-checkpoint".into())
            .spawn(move || run(&conn, &owned, &rx, &dirty))
            .map_err(|e| StoreError::Database {
                location: path.display().to_string(),
                reason: format!("cannot start the checkpoint thread: {e}"),
            })?;
        Ok(Self { tx, thread })
    }

    /// Stops the thread once it has finished its current checkpoint, and waits.
    pub(crate) fn stop(self) {
        let _ = self.tx.send(Signal::Stop);
        let _ = self.thread.join();
    }
}

fn run(conn: &Connection, path: &Path, rx: &Receiver<Signal>, dirty: &AtomicBool) {
    loop {
        match rx.recv_timeout(CHECKPOINT_INTERVAL) {
            Ok(Signal::Checkpoint) | Err(RecvTimeoutError::Timeout) => {
                if dirty.swap(false, Ordering::AcqRel) {
                    checkpoint(conn, path);
                }
            }
            Ok(Signal::Stop) | Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn checkpoint(conn: &Connection, path: &Path) {
    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::warn!(path = %path.display(), error = %e, "WAL checkpoint failed");
    }
}
