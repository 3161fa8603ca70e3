//! Task rows: MCP tasks and background jobs.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::StoreError;
use crate::model::Timestamp;
use crate::sqlite::convert::{ms, name, opt_count, opt_int, ts};
use crate::sqlite::failure::{Failure, insert_refused};
use crate::task::{NewTask, Task, TaskFinish, TaskPage, TaskProgress};
use crate::task_store::MAX_TASK_PAGE;

const SELECT: &str = "SELECT id, owner, agent_id, tool, call_id, status, status_message, \
     created_at, updated_at, ttl_ms, poll_interval_ms, result, error, seq FROM tasks";

/// A stored row and its `seq` (the listing cursor).
fn from_row(row: &Row<'_>) -> rusqlite::Result<(Task, i64, Option<String>)> {
    let task = Task {
        id: row.get(0)?,
        owner: row.get(1)?,
        agent_id: row.get(2)?,
        tool: row.get(3)?,
        call_id: row.get(4)?,
        status: name(row, 5)?,
        status_message: row.get(6)?,
        created_at: ts(row, 7)?,
        updated_at: ts(row, 8)?,
        ttl_ms: opt_count(row, 9)?,
        poll_interval_ms: opt_count(row, 10)?,
        result: None,
        error: row.get(12)?,
    };
    Ok((task, row.get(13)?, row.get(11)?))
}

/// Decodes the stored result JSON into the task.
fn with_result(task: Task, result: Option<String>) -> Result<Task, Failure> {
    let Some(text) = result else {
        return Ok(task);
    };
    let value = serde_json::from_str(&text).map_err(|e| StoreError::Unreadable {
        what: "result",
        id: task.id.clone(),
        reason: e.to_string(),
    })?;
    Ok(Task {
        result: Some(value),
        ..task
    })
}

fn json(value: Option<&serde_json::Value>) -> Result<Option<String>, StoreError> {
    value
        .map(|v| {
            serde_json::to_string(v).map_err(|e| StoreError::invalid("task result", e.to_string()))
        })
        .transpose()
}

/// One task by id, whoever owns it.
pub(crate) fn by_id(conn: &Connection, id: &str) -> Result<Option<Task>, Failure> {
    let row = conn
        .prepare_cached(&format!("{SELECT} WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?;
    row.map(|(task, _, result)| with_result(task, result))
        .transpose()
}

/// Inserts a working task.
pub(crate) fn create(conn: &Connection, task: &NewTask) -> Result<Task, Failure> {
    if task.owner.is_empty() {
        return Err(StoreError::invalid("task owner", "it is empty").into());
    }
    let inserted = conn
        .prepare_cached(
            "INSERT INTO tasks (id, owner, agent_id, tool, call_id, status, status_message, \
             created_at, updated_at, ttl_ms, poll_interval_ms) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'working', ?6, ?7, ?7, ?8, ?9)",
        )?
        .execute(params![
            task.id,
            task.owner,
            task.agent_id,
            task.tool,
            task.call_id,
            task.status_message,
            ms(task.created_at),
            opt_int(task.ttl_ms, "task ttl_ms")?,
            opt_int(task.poll_interval_ms, "task poll_interval_ms")?,
        ]);
    inserted
        .map_err(|e| insert_refused(e, "task", &task.id, ("agent", task.agent_id.as_deref())))?;
    by_id(conn, &task.id)?.ok_or_else(|| StoreError::not_found("task", &task.id).into())
}

/// The task if `owner` owns it.
pub(crate) fn get(conn: &Connection, owner: &str, id: &str) -> Result<Option<Task>, Failure> {
    Ok(by_id(conn, id)?.filter(|t| t.owner == owner))
}

/// One page of the owner's tasks, newest first.
pub(crate) fn list(
    conn: &Connection,
    owner: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<TaskPage, Failure> {
    if limit == 0 || limit > MAX_TASK_PAGE {
        return Err(StoreError::invalid(
            "task page size",
            format!("{limit} is not between 1 and {MAX_TASK_PAGE}"),
        )
        .into());
    }
    let before = match cursor {
        None => i64::MAX,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|seq| *seq > 0)
            .ok_or_else(|| {
                StoreError::invalid(
                    "task cursor",
                    format!("{text:?} is not a cursor this server handed out"),
                )
            })?,
    };
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE owner = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
    ))?;
    // One more than asked tells whether another page follows.
    let rows = stmt
        .query_map(params![owner, before, limit + 1], from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    let more = rows.len() > limit as usize;
    let mut tasks = Vec::with_capacity(rows.len());
    let mut last = None;
    for (task, seq, result) in rows.into_iter().take(limit as usize) {
        last = Some(seq);
        tasks.push(with_result(task, result)?);
    }
    Ok(TaskPage {
        tasks,
        next_cursor: if more {
            last.map(|s| s.to_string())
        } else {
            None
        },
    })
}

/// The task after a change that touched `changed` rows: when none, the task has ended
/// (`TaskEnded`) or does not exist (`NotFound`).
pub(crate) fn changed_task(conn: &Connection, id: &str, changed: usize) -> Result<Task, Failure> {
    match by_id(conn, id)? {
        Some(task) if changed > 0 => Ok(task),
        Some(task) => Err(StoreError::TaskEnded {
            id: id.to_owned(),
            status: task.status,
        }
        .into()),
        None => Err(StoreError::not_found("task", id).into()),
    }
}

/// Moves a running task's status and message.
pub(crate) fn update(
    conn: &Connection,
    id: &str,
    progress: &TaskProgress,
) -> Result<Task, Failure> {
    if progress.status.is_terminal() {
        return Err(StoreError::invalid(
            "task status",
            format!("{} ends a task: use finish_task", progress.status),
        )
        .into());
    }
    let changed = conn
        .prepare_cached(
            "UPDATE tasks SET status = ?2, status_message = coalesce(?3, status_message), \
             updated_at = max(updated_at, ?4) \
             WHERE id = ?1 AND status IN ('working', 'input_required')",
        )?
        .execute(params![
            id,
            progress.status.as_str(),
            progress.status_message,
            ms(progress.at)
        ])?;
    changed_task(conn, id, changed)
}

/// Ends a running task; only the first end counts.
pub(crate) fn finish(conn: &Connection, id: &str, finish: &TaskFinish) -> Result<Task, Failure> {
    if !finish.status.is_terminal() {
        return Err(StoreError::invalid(
            "task status",
            format!("{} does not end a task: use update_task", finish.status),
        )
        .into());
    }
    let changed = conn
        .prepare_cached(
            "UPDATE tasks SET status = ?2, status_message = coalesce(?3, status_message), \
             result = ?4, error = ?5, updated_at = max(updated_at, ?6) \
             WHERE id = ?1 AND status IN ('working', 'input_required')",
        )?
        .execute(params![
            id,
            finish.status.as_str(),
            finish.status_message,
            json(finish.result.as_ref())?,
            finish.error,
            ms(finish.at),
        ])?;
    changed_task(conn, id, changed)
}

/// Deletes ended tasks past their TTL.
pub(crate) fn expire(conn: &Connection, now: Timestamp) -> Result<u64, Failure> {
    let removed = conn
        .prepare_cached(
            "DELETE FROM tasks WHERE ttl_ms IS NOT NULL AND created_at + ttl_ms < ?1 \
             AND status IN ('completed', 'failed', 'cancelled')",
        )?
        .execute([ms(now)])?;
    Ok(u64::try_from(removed).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::TaskStatus;

    #[test]
    fn only_terminal_statuses_finish_and_only_running_ones_update() {
        let conn = Connection::open_in_memory().unwrap();
        let at = Timestamp::default();
        let progress = TaskProgress {
            status: TaskStatus::Completed,
            status_message: None,
            at,
        };
        assert!(matches!(
            update(&conn, "t", &progress),
            Err(Failure::Store(StoreError::Invalid {
                what: "task status",
                ..
            }))
        ));
        let end = TaskFinish {
            status: TaskStatus::Working,
            status_message: None,
            result: None,
            error: None,
            at,
        };
        assert!(matches!(
            finish(&conn, "t", &end),
            Err(Failure::Store(StoreError::Invalid {
                what: "task status",
                ..
            }))
        ));
    }
}
