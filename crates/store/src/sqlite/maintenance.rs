//! Startup recovery and retention pruning.

use rusqlite::{Connection, params};

use crate::model::{Recovered, Timestamp};
use crate::sqlite::convert::ms;
use crate::sqlite::failure::Failure;
use crate::task::{CALL_INTERRUPTED, TASK_INTERRUPTED};

/// Rows deleted per pruning transaction, so pruning never holds the writer for long.
pub(crate) const PRUNE_CHUNK: u32 = 2000;

/// A running task whose bound call is still running: the engine may re-attach to it.
pub(crate) const RESUMABLE: &str = "status IN ('working', 'input_required') \
     AND arguments IS NOT NULL AND call_id IN (SELECT id FROM calls WHERE status = 'running')";

/// Marks running calls interrupted, running tasks failed and closes open sessions, as
/// of `at`; a task the engine may re-attach to ([`RESUMABLE`]) is kept with its call.
pub(crate) fn recover(conn: &Connection, at: Timestamp) -> Result<Recovered, Failure> {
    let tasks = conn
        .prepare_cached(&format!(
            "UPDATE tasks SET status = 'failed', updated_at = max(created_at, ?1), \
             status_message = ?2, error = ?2 WHERE status IN ('working', 'input_required') \
             AND NOT ({RESUMABLE})"
        ))?
        .execute(params![ms(at), TASK_INTERRUPTED])?;
    let calls = conn
        .prepare_cached(
            "UPDATE calls SET status = 'interrupted', finished_at = max(started_at, ?1), \
             error = ?2 WHERE status = 'running' AND id NOT IN (SELECT call_id FROM tasks \
             WHERE status IN ('working', 'input_required') AND call_id IS NOT NULL)",
        )?
        .execute(params![ms(at), CALL_INTERRUPTED])?;
    let sessions = conn
        .prepare_cached(
            "UPDATE sessions SET closed_at = max(opened_at, ?1) WHERE closed_at IS NULL",
        )?
        .execute([ms(at)])?;
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
