//! Tasks a restarted server may re-attach to: the call bound to a task, the tasks left
//! running at open, and failing those that cannot be re-attached.

use rusqlite::{Connection, params};

use crate::error::StoreError;
use crate::model::Timestamp;
use crate::sqlite::convert::ms;
use crate::sqlite::failure::Failure;
use crate::sqlite::tasks::{by_id, changed_task};
use crate::task::{CALL_INTERRUPTED, LeftTask, TASK_INTERRUPTED, TaskStatus};

/// Binds `call_id` and its arguments to running task `id`.
pub(crate) fn bind(
    conn: &Connection,
    id: &str,
    call_id: &str,
    arguments: &serde_json::Value,
) -> Result<(), Failure> {
    let text = serde_json::to_string(arguments)
        .map_err(|e| StoreError::invalid("task arguments", e.to_string()))?;
    let changed = conn
        .prepare_cached(
            "UPDATE tasks SET call_id = ?2, arguments = ?3 \
             WHERE id = ?1 AND status IN ('working', 'input_required')",
        )?
        .execute(params![id, call_id, text])?;
    // No row changed: the task ended, or there is none.
    changed_task(conn, id, changed).map(drop)
}

/// Running tasks whose bound call is still running, oldest first.
pub(crate) fn left_running(conn: &Connection) -> Result<Vec<LeftTask>, Failure> {
    let rows = conn
        .prepare_cached(
            "SELECT t.id, t.call_id, c.agent_id, t.arguments FROM tasks t \
             JOIN calls c ON c.id = t.call_id \
             WHERE t.status IN ('working', 'input_required') AND t.arguments IS NOT NULL \
             AND c.status = 'running' ORDER BY t.seq",
        )?
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut left = Vec::with_capacity(rows.len());
    for (id, call_id, agent_id, arguments) in rows {
        let arguments = serde_json::from_str(&arguments).map_err(|e| StoreError::Unreadable {
            what: "task arguments",
            id: id.clone(),
            reason: e.to_string(),
        })?;
        if let Some(task) = by_id(conn, &id)? {
            left.push(LeftTask {
                task,
                call_id,
                agent_id,
                arguments,
            });
        }
    }
    Ok(left)
}

/// Fails a left task and interrupts its call (each only if still running).
pub(crate) fn fail(conn: &Connection, left: &LeftTask, at: Timestamp) -> Result<(), Failure> {
    conn.prepare_cached(
        "UPDATE tasks SET status = ?2, updated_at = max(updated_at, ?3), \
         status_message = ?4, error = ?4 \
         WHERE id = ?1 AND status IN ('working', 'input_required')",
    )?
    .execute(params![
        left.task.id,
        TaskStatus::Failed.as_str(),
        ms(at),
        TASK_INTERRUPTED
    ])?;
    conn.prepare_cached(
        "UPDATE calls SET status = 'interrupted', finished_at = max(started_at, ?2), \
         error = ?3 WHERE id = ?1 AND status = 'running'",
    )?
    .execute(params![left.call_id, ms(at), CALL_INTERRUPTED])?;
    Ok(())
}
