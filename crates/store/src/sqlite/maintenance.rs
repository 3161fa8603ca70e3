//! Startup recovery and retention pruning.

use rusqlite::{Connection, params};

use crate::model::{Recovered, Timestamp};
use crate::sqlite::convert::ms;
use crate::sqlite::failure::Failure;

/// The error recorded on calls found running at startup.
pub(crate) const INTERRUPTED_ERROR: &str = "mcpd stopped while this call was running";

/// The error recorded on tasks found running at startup.
pub(crate) const TASK_INTERRUPTED_ERROR: &str =
    "the server restarted while this task was running; run it again";

/// Rows deleted per pruning transaction, so pruning never holds the writer for long.
pub(crate) const PRUNE_CHUNK: u32 = 2000;

/// Marks running calls interrupted, running tasks failed and closes open sessions, as
/// of `at`.
pub(crate) fn recover(conn: &Connection, at: Timestamp) -> Result<Recovered, Failure> {
    let calls = conn
        .prepare_cached(
            "UPDATE calls SET status = 'interrupted', finished_at = max(started_at, ?1), \
             error = ?2 WHERE status = 'running'",
        )?
        .execute(params![ms(at), INTERRUPTED_ERROR])?;
    let sessions = conn
        .prepare_cached(
            "UPDATE sessions SET closed_at = max(opened_at, ?1) WHERE closed_at IS NULL",
        )?
        .execute([ms(at)])?;
    let tasks = conn
        .prepare_cached(
            "UPDATE tasks SET status = 'failed', updated_at = max(created_at, ?1), \
             status_message = ?2, error = ?2 WHERE status IN ('working', 'input_required')",
        )?
        .execute(params![ms(at), TASK_INTERRUPTED_ERROR])?;
    Ok(Recovered {
        calls: u64::try_from(calls).unwrap_or(u64::MAX),
        sessions: u64::try_from(sessions).unwrap_or(u64::MAX),
        tasks: u64::try_from(tasks).unwrap_or(u64::MAX),
    })
}

/// Deletes up to `limit` calls that finished before `cutoff`; returns how many.
/// Running calls have no `finished_at` and are never pruned.
pub(crate) fn prune_calls(
    conn: &Connection,
    cutoff: Timestamp,
    limit: u32,
) -> Result<u64, Failure> {
    let removed = conn
        .prepare_cached(
            "DELETE FROM calls WHERE seq IN \
             (SELECT seq FROM calls WHERE finished_at < ?1 LIMIT ?2)",
        )?
        .execute(params![ms(cutoff), limit])?;
    Ok(u64::try_from(removed).unwrap_or(u64::MAX))
}

/// Deletes up to `limit` sessions that closed before `cutoff` and that no call refers
/// to; returns how many.
pub(crate) fn prune_sessions(
    conn: &Connection,
    cutoff: Timestamp,
    limit: u32,
) -> Result<u64, Failure> {
    let removed = conn
        .prepare_cached(
            "DELETE FROM sessions WHERE rowid IN \
             (SELECT s.rowid FROM sessions s WHERE s.closed_at < ?1 \
              AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.session_id = s.id) LIMIT ?2)",
        )?
        .execute(params![ms(cutoff), limit])?;
    Ok(u64::try_from(removed).unwrap_or(u64::MAX))
}
