//! A small pool of read-only connections. In WAL mode readers never block the writer
//! or each other, and each sees every write whose reply has already been sent.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use crate::error::StoreError;
use crate::sqlite::failure::Failure;
use crate::sqlite::open::open_reader;

/// Most reads running at once (each on a blocking thread with its own connection).
const MAX_READERS: usize = 4;

/// Read-only connections to the database, opened on demand and kept for reuse.
pub(crate) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Semaphore,
}

impl Readers {
    /// A pool for the database at `path` (opened already by the writer).
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::new(Vec::with_capacity(MAX_READERS)),
            permits: Semaphore::new(MAX_READERS),
        }
    }

    /// Runs `query` on a read-only connection on a blocking thread.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, query: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Failure> + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| StoreError::Closed)?;
        let this = Arc::clone(self);
        tokio::task::spawn_blocking(move || this.run_blocking(query))
            .await
            .map_err(|e| StoreError::Database {
                location: self.path.display().to_string(),
                reason: format!("read task failed: {e}"),
            })?
    }

    fn run_blocking<T, F>(&self, query: F) -> Result<T, StoreError>
    where
        F: FnOnce(&Connection) -> Result<T, Failure>,
    {
        let conn = match self.take() {
            Some(conn) => conn,
            None => open_reader(&self.path)?,
        };
        let result = query(&conn).map_err(|f| f.into_store(&self.path));
        self.give_back(conn);
        result
    }

    fn take(&self) -> Option<Connection> {
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop()
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if idle.len() < MAX_READERS {
            idle.push(conn);
        }
    }

    /// The database file.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}
