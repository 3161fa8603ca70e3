//! The single writer: one thread owns the read-write connection and applies every
//! write, so writers never contend for SQLite's lock and never see "database is locked".
//!
//! Writes arrive on a bounded channel (callers wait asynchronously when it is full).
//! The thread takes whatever is queued, up to [`MAX_BATCH`] jobs, and runs them in one
//! transaction, each inside its own savepoint so a failing job is undone alone; replies
//! are sent only after COMMIT. Under load this is group commit: one WAL append serves
//! many calls.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::error::StoreError;
use crate::sqlite::checkpointer::Checkpointer;
use crate::sqlite::clean_mark;
use crate::sqlite::failure::{Failure, classify};

/// Jobs waiting before callers are made to wait.
const QUEUE: usize = 4096;
/// Most jobs committed together.
const MAX_BATCH: usize = 256;

/// One queued write: run it inside the batch transaction, then hear how COMMIT went.
trait Work: Send {
    /// Runs the job; on error returns it (the job keeps its own copy for its reply).
    fn run(&mut self, conn: &Connection, path: &Path) -> Result<(), StoreError>;
    /// Replies to the caller: the job's own result if COMMIT succeeded.
    fn complete(self: Box<Self>, commit: Result<(), StoreError>);
}

struct Task<T, F> {
    job: Option<F>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, F> Work for Task<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, Failure> + Send,
{
    fn run(&mut self, conn: &Connection, path: &Path) -> Result<(), StoreError> {
        let Some(job) = self.job.take() else {
            return Err(StoreError::Closed);
        };
        let result = match catch_unwind(AssertUnwindSafe(|| job(conn))) {
            Ok(result) => result.map_err(|f| f.into_store(path)),
            Err(_) => Err(StoreError::Database {
                location: path.display().to_string(),
                reason: "a store operation panicked; it was rolled back".into(),
            }),
        };
        let outcome = match &result {
            Ok(_) => Ok(()),
            Err(e) => Err(e.clone()),
        };
        self.result = Some(result);
        outcome
    }

    fn complete(self: Box<Self>, commit: Result<(), StoreError>) {
        let reply = match (self.result, commit) {
            (Some(Err(own)), _) => Err(own),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (_, Err(commit)) => Err(commit),
            (None, Ok(())) => Err(StoreError::Closed),
        };
        // The caller may have given up waiting; its write is committed regardless.
        let _ = self.reply.send(reply);
    }
}

/// Handle to the writer thread. Dropping it lets the thread finish the queued jobs,
/// close the connection and release the lock file, and waits for that.
pub(crate) struct Writer {
    tx: Option<mpsc::Sender<Box<dyn Work>>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread; it owns `conn` and keeps `lock` until it exits.
    pub(crate) fn start(
        mut conn: Connection,
        path: PathBuf,
        mut lock: std::fs::File,
    ) -> Result<Self, StoreError> {
        let checkpointer = Checkpointer::start(&path, &mut conn)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let location = path.display().to_string();
        let thread = std::thread::Builder::new()
            .name("codex-mcp-store-writer".into())
            .spawn(move || {
                let failed = run_loop(&conn, &path, rx);
                drop(conn);
                // The checkpointer's connection closes last: SQLite then checkpoints
                // the whole WAL and removes it. Only after that is the lock released.
                checkpointer.stop();
                // A transaction SQLite failed (full disk, I/O error) may have left damage
                // behind: then the next open checks the whole file.
                if !failed {
                    clean_mark::write(&mut lock, &path);
                }
                drop(lock);
            })
            .map_err(|e| StoreError::Database {
                location,
                reason: format!("cannot start the writer thread: {e}"),
            })?;
        Ok(Self {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Runs `job` on the writer connection inside a transaction and returns its result
    /// once committed.
    pub(crate) async fn run<T, F>(&self, job: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Failure> + Send + 'static,
    {
        let tx = self.tx.as_ref().ok_or(StoreError::Closed)?;
        let (reply, answer) = oneshot::channel();
        let task = Task {
            job: Some(job),
            result: None,
            reply,
        };
        tx.send(Box::new(task))
            .await
            .map_err(|_| StoreError::Closed)?;
        answer.await.map_err(|_| StoreError::Closed)?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Runs batches until every sender is gone; true if SQLite failed any transaction.
fn run_loop(conn: &Connection, path: &Path, mut rx: mpsc::Receiver<Box<dyn Work>>) -> bool {
    let mut failed = false;
    let mut batch: Vec<Box<dyn Work>> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        failed |= run_batch(conn, path, batch.drain(..));
    }
    failed
}

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs a batch in as few transactions as possible (one, unless SQLite itself rolls
/// one back mid-batch, e.g. on a full disk). True if SQLite failed a transaction (not
/// a job's own error, which its savepoint undoes).
fn run_batch(conn: &Connection, path: &Path, jobs: impl Iterator<Item = Box<dyn Work>>) -> bool {
    let mut failed = false;
    let mut jobs = jobs.peekable();
    while jobs.peek().is_some() {
        if let Err(e) = exec(conn, "BEGIN IMMEDIATE") {
            let err = classify(&e, path);
            for job in jobs {
                job.complete(Err(err.clone()));
            }
            return true;
        }
        let mut done: Vec<Box<dyn Work>> = Vec::new();
        let mut lost: Option<StoreError> = None;
        for mut job in jobs.by_ref() {
            if let Err(e) = exec(conn, "SAVEPOINT job") {
                let err = classify(&e, path);
                job.complete(Err(err.clone()));
                lost = Some(err);
                break;
            }
            let undone = match job.run(conn, path) {
                Ok(()) => exec(conn, "RELEASE job"),
                Err(err) if conn.is_autocommit() => {
                    // SQLite rolled back the whole transaction (full disk, I/O error):
                    // the jobs before this one are lost too.
                    done.push(job);
                    lost = Some(err);
                    break;
                }
                Err(_) => exec(conn, "ROLLBACK TO job").and_then(|()| exec(conn, "RELEASE job")),
            };
            done.push(job);
            if let Err(e) = undone {
                lost = Some(classify(&e, path));
                break;
            }
        }
        let commit = match lost {
            Some(err) => {
                if !conn.is_autocommit() {
                    let _ = exec(conn, "ROLLBACK");
                }
                Err(err)
            }
            None => exec(conn, "COMMIT").map_err(|e| {
                if !conn.is_autocommit() {
                    let _ = exec(conn, "ROLLBACK");
                }
                classify(&e, path)
            }),
        };
        failed |= commit.is_err();
        for job in done {
            job.complete(commit.clone());
        }
    }
    failed
}
