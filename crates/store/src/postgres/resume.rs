//! Tasks a restarted replica may re-attach to, on PostgreSQL: the call bound to a task,
//! this replica's tasks left running at its start, and failing those that cannot be
//! re-attached (the SQLite backend's rules).

use deadpool_postgres::GenericClient;

use crate::error::StoreError;
use crate::model::Timestamp;
use crate::postgres::cached;
use crate::postgres::failure::Location;
use crate::postgres::tasks;
use crate::task::{CALL_INTERRUPTED, LeftTask, TASK_INTERRUPTED};
use crate::values::ms;

/// Binds `call_id` and its arguments to running task `id`.
pub(crate) async fn bind(
    c: &impl GenericClient,
    at: &Location,
    id: &str,
    call_id: &str,
    arguments: &serde_json::Value,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(arguments)
        .map_err(|e| StoreError::invalid("task arguments", e.to_string()))?;
    let changed = cached::execute(
        c,
        "UPDATE tasks SET call_id = $2, arguments = $3 \
         WHERE id = $1 AND status IN ('working', 'input_required')",
        &[&id, &call_id, &text],
    )
    .await
    .map_err(|e| at.db(&e))?;
    // No row changed: the task ended, or there is none.
    tasks::changed_task(c, at, id, changed).await.map(drop)
}

/// Replica `instance`'s running tasks whose bound call is still running, oldest first.
pub(crate) async fn left_running(
    c: &impl GenericClient,
    at: &Location,
    instance: &str,
) -> Result<Vec<LeftTask>, StoreError> {
    let rows = cached::query(
        c,
        "SELECT t.id, t.call_id, c.agent_id, t.arguments FROM tasks t \
         JOIN calls c ON c.id = t.call_id \
         WHERE t.status IN ('working', 'input_required') AND t.arguments IS NOT NULL \
         AND c.status = 'running' AND t.instance = $1 ORDER BY t.seq",
        &[&instance],
    )
    .await
    .map_err(|e| at.db(&e))?;
    let mut left = Vec::with_capacity(rows.len());
    for row in rows {
        let id: String = at.get(&row, "id")?;
        let text: String = at.get(&row, "arguments")?;
        let arguments = serde_json::from_str(&text).map_err(|e| StoreError::Unreadable {
            what: "task arguments",
            id: id.clone(),
            reason: e.to_string(),
        })?;
        if let Some(task) = tasks::by_id(c, at, &id).await? {
            left.push(LeftTask {
                task,
                call_id: at.get(&row, "call_id")?,
                agent_id: at.get(&row, "agent_id")?,
                arguments,
            });
        }
    }
    Ok(left)
}

/// Fails a left task and interrupts its call (each only if still running).
pub(crate) async fn fail(
    c: &impl GenericClient,
    at: &Location,
    left: &LeftTask,
    when: Timestamp,
) -> Result<(), StoreError> {
    cached::execute(
        c,
        "UPDATE tasks SET status = 'failed', updated_at = greatest(updated_at, $2), \
         status_message = $3, error = $3 \
         WHERE id = $1 AND status IN ('working', 'input_required')",
        &[&left.task.id, &ms(when), &TASK_INTERRUPTED],
    )
    .await
    .map_err(|e| at.db(&e))?;
    cached::execute(
        c,
        "UPDATE calls SET status = 'interrupted', finished_at = greatest(started_at, $2), \
         error = $3 WHERE id = $1 AND status = 'running'",
        &[&left.call_id, &ms(when), &CALL_INTERRUPTED],
    )
    .await
    .map_err(|e| at.db(&e))?;
    Ok(())
}

/// The running calls of replica `instance`.
pub(crate) async fn running_calls(
    c: &impl GenericClient,
    at: &Location,
    instance: &str,
) -> Result<Vec<String>, StoreError> {
    let rows = cached::query(
        c,
        "SELECT id FROM calls WHERE status = 'running' AND instance = $1 ORDER BY seq",
        &[&instance],
    )
    .await
    .map_err(|e| at.db(&e))?;
    rows.iter().map(|r| at.get(r, "id")).collect()
}
