//! Task rows on PostgreSQL: MCP tasks and background jobs, with the same rules as the
//! SQLite backend's (created working, moved along, ended once, scoped by owner).

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use crate::error::StoreError;
use crate::model::Timestamp;
use crate::postgres::cached;
use crate::postgres::failure::{Constraint, Location, constraint};
use crate::task::{NewTask, Task, TaskFinish, TaskPage, TaskProgress};
use crate::task_store::MAX_TASK_PAGE;
use crate::values::{ms, opt_int};

const SELECT: &str = "SELECT id, owner, agent_id, tool, call_id, status, status_message, \
     created_at, updated_at, ttl_ms, poll_interval_ms, result, error, seq FROM tasks";

/// A stored row (with its result decoded) and its `seq` (the listing cursor).
fn task(at: &Location, row: &Row) -> Result<(Task, i64), StoreError> {
    let id: String = at.get(row, "id")?;
    let result: Option<String> = at.get(row, "result")?;
    let result = result
        .map(|text| {
            serde_json::from_str(&text).map_err(|e| StoreError::Unreadable {
                what: "result",
                id: id.clone(),
                reason: e.to_string(),
            })
        })
        .transpose()?;
    let task = Task {
        id,
        owner: at.get(row, "owner")?,
        agent_id: at.get(row, "agent_id")?,
        tool: at.get(row, "tool")?,
        call_id: at.get(row, "call_id")?,
        status: at.name(row, "status")?,
        status_message: at.get(row, "status_message")?,
        created_at: at.ts(row, "created_at")?,
        updated_at: at.ts(row, "updated_at")?,
        ttl_ms: at.opt_count(row, "ttl_ms")?,
        poll_interval_ms: at.opt_count(row, "poll_interval_ms")?,
        result,
        error: at.get(row, "error")?,
    };
    Ok((task, at.get(row, "seq")?))
}

fn json(value: Option<&serde_json::Value>) -> Result<Option<String>, StoreError> {
    value
        .map(|v| {
            serde_json::to_string(v).map_err(|e| StoreError::invalid("task result", e.to_string()))
        })
        .transpose()
}

pub(crate) async fn by_id(
    c: &impl GenericClient,
    at: &Location,
    id: &str,
) -> Result<Option<Task>, StoreError> {
    let row = cached::query_opt(c, &format!("{SELECT} WHERE id = $1"), &[&id])
        .await
        .map_err(|e| at.db(&e))?;
    Ok(row.map(|r| task(at, &r)).transpose()?.map(|(t, _)| t))
}

/// Inserts a working task run by replica `instance`.
pub(crate) async fn create(
    c: &impl GenericClient,
    at: &Location,
    instance: &str,
    new: &NewTask,
) -> Result<Task, StoreError> {
    if new.owner.is_empty() {
        return Err(StoreError::invalid("task owner", "it is empty"));
    }
    let inserted = cached::execute(
        c,
        "INSERT INTO tasks (id, owner, agent_id, tool, call_id, status, status_message, \
         created_at, updated_at, ttl_ms, poll_interval_ms, instance) \
         VALUES ($1, $2, $3, $4, $5, 'working', $6, $7, $7, $8, $9, $10)",
        &[
            &new.id,
            &new.owner,
            &new.agent_id,
            &new.tool,
            &new.call_id,
            &new.status_message,
            &ms(new.created_at),
            &opt_int(new.ttl_ms, "task ttl_ms")?,
            &opt_int(new.poll_interval_ms, "task poll_interval_ms")?,
            &instance,
        ],
    )
    .await;
    if let Err(e) = inserted {
        return Err(match constraint(&e) {
            Some(Constraint::Unique) => StoreError::AlreadyExists {
                kind: "task",
                id: new.id.clone(),
            },
            Some(Constraint::ForeignKey) => {
                StoreError::not_found("agent", new.agent_id.clone().unwrap_or_default())
            }
            None => at.db(&e),
        });
    }
    by_id(c, at, &new.id)
        .await?
        .ok_or_else(|| StoreError::not_found("task", &new.id))
}

/// The task if `owner` owns it.
pub(crate) async fn get(
    c: &impl GenericClient,
    at: &Location,
    owner: &str,
    id: &str,
) -> Result<Option<Task>, StoreError> {
    Ok(by_id(c, at, id).await?.filter(|t| t.owner == owner))
}

/// One page of the owner's tasks, newest first.
pub(crate) async fn list(
    c: &impl GenericClient,
    at: &Location,
    owner: &str,
    cursor: Option<&str>,
    limit: u32,
) -> Result<TaskPage, StoreError> {
    if limit == 0 || limit > MAX_TASK_PAGE {
        return Err(StoreError::invalid(
            "task page size",
            format!("{limit} is not between 1 and {MAX_TASK_PAGE}"),
        ));
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
    // One more than asked tells whether another page follows.
    let rows = cached::query(
        c,
        &format!("{SELECT} WHERE owner = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"),
        &[&owner, &before, &i64::from(limit + 1)],
    )
    .await
    .map_err(|e| at.db(&e))?;
    let more = rows.len() > limit as usize;
    let mut tasks = Vec::with_capacity(rows.len());
    let mut last = None;
    for row in rows.iter().take(limit as usize) {
        let (t, seq) = task(at, row)?;
        last = Some(seq);
        tasks.push(t);
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
pub(crate) async fn changed_task(
    c: &impl GenericClient,
    at: &Location,
    id: &str,
    changed: u64,
) -> Result<Task, StoreError> {
    match by_id(c, at, id).await? {
        Some(task) if changed > 0 => Ok(task),
        Some(task) => Err(StoreError::TaskEnded {
            id: id.to_owned(),
            status: task.status,
        }),
        None => Err(StoreError::not_found("task", id)),
    }
}

/// Moves a running task's status and message.
pub(crate) async fn update(
    c: &impl GenericClient,
    at: &Location,
    id: &str,
    progress: &TaskProgress,
) -> Result<Task, StoreError> {
    if progress.status.is_terminal() {
        return Err(StoreError::invalid(
            "task status",
            format!("{} ends a task: use finish_task", progress.status),
        ));
    }
    let changed = cached::execute(
        c,
        "UPDATE tasks SET status = $2, status_message = coalesce($3, status_message), \
         updated_at = greatest(updated_at, $4) \
         WHERE id = $1 AND status IN ('working', 'input_required')",
        &[
            &id,
            &progress.status.as_str(),
            &progress.status_message,
            &ms(progress.at),
        ],
    )
    .await
    .map_err(|e| at.db(&e))?;
    changed_task(c, at, id, changed).await
}

/// Ends a running task; only the first end counts.
pub(crate) async fn finish(
    c: &impl GenericClient,
    at: &Location,
    id: &str,
    finish: &TaskFinish,
) -> Result<Task, StoreError> {
    if !finish.status.is_terminal() {
        return Err(StoreError::invalid(
            "task status",
            format!("{} does not end a task: use update_task", finish.status),
        ));
    }
    let changed = cached::execute(
        c,
        "UPDATE tasks SET status = $2, status_message = coalesce($3, status_message), \
         result = $4, error = $5, updated_at = greatest(updated_at, $6) \
         WHERE id = $1 AND status IN ('working', 'input_required')",
        &[
            &id,
            &finish.status.as_str(),
            &finish.status_message,
            &json(finish.result.as_ref())?,
            &finish.error,
            &ms(finish.at),
        ],
    )
    .await
    .map_err(|e| at.db(&e))?;
    changed_task(c, at, id, changed).await
}

/// Deletes ended tasks past their TTL.
pub(crate) async fn expire(
    c: &impl GenericClient,
    at: &Location,
    now: Timestamp,
) -> Result<u64, StoreError> {
    cached::execute(
        c,
        "DELETE FROM tasks WHERE ttl_ms IS NOT NULL AND created_at + ttl_ms < $1 \
         AND status IN ('completed', 'failed', 'cancelled')",
        &[&ms(now)],
    )
    .await
    .map_err(|e| at.db(&e))
}
