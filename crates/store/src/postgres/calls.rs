//! Tool call rows and outputs on PostgreSQL, startup recovery and retention pruning.

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use crate::error::StoreError;
use crate::model::{
    Call, CallFinish, CallOutput, CallStart, CallStatus, OutputEntry, Recovered, Timestamp,
};
use crate::postgres::cached;
use crate::postgres::failure::{Constraint, Location, constraint};
use crate::values::{int, ms, opt_int};

use crate::task::{CALL_INTERRUPTED, TASK_INTERRUPTED};

/// A running task whose bound call is still running: a restarted replica may re-attach
/// to it (the SQLite backend's rule too).
pub(crate) const RESUMABLE: &str = "status IN ('working', 'input_required') \
     AND arguments IS NOT NULL AND call_id IN (SELECT id FROM calls WHERE status = 'running')";

const SELECT: &str = "SELECT id, agent_id, session_id, tool, arguments_digest, started_at, \
     finished_at, status, error, duration_ms, tokens_in, tokens_out, thread_id FROM calls";

fn call(at: &Location, row: &Row) -> Result<Call, StoreError> {
    Ok(Call {
        id: at.get(row, "id")?,
        agent_id: at.get(row, "agent_id")?,
        session_id: at.get(row, "session_id")?,
        tool: at.get(row, "tool")?,
        arguments_digest: at.get(row, "arguments_digest")?,
        started_at: at.ts(row, "started_at")?,
        finished_at: at.opt_ts(row, "finished_at")?,
        status: at.name(row, "status")?,
        error: at.get(row, "error")?,
        duration_ms: at.opt_count(row, "duration_ms")?,
        tokens_in: at.opt_count(row, "tokens_in")?,
        tokens_out: at.opt_count(row, "tokens_out")?,
        thread_id: at.get(row, "thread_id")?,
    })
}

/// Inserts a running call of replica `instance` and counts it on its agent (run in a
/// transaction).
pub(crate) async fn start(
    c: &impl GenericClient,
    at: &Location,
    instance: &str,
    s: &CallStart,
) -> Result<(), StoreError> {
    let counted = cached::execute(
        c,
        "UPDATE agents SET calls_made = calls_made + 1, \
             last_active_at = greatest(last_active_at, $2) WHERE id = $1",
        &[&s.agent_id, &ms(s.started_at)],
    )
    .await
    .map_err(|e| at.db(&e))?;
    if counted == 0 {
        return Err(StoreError::not_found("agent", &s.agent_id));
    }
    let inserted = cached::execute(
        c,
        "INSERT INTO calls (id, agent_id, session_id, tool, arguments_digest, thread_id, \
             started_at, status, instance) VALUES ($1, $2, $3, $4, $5, $6, $7, 'running', $8)",
        &[
            &s.id,
            &s.agent_id,
            &s.session_id,
            &s.tool,
            &s.arguments_digest,
            &s.thread_id,
            &ms(s.started_at),
            &instance,
        ],
    )
    .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(e) => Err(match constraint(&e) {
            Some(Constraint::Unique) => StoreError::AlreadyExists {
                kind: "call",
                id: s.id.clone(),
            },
            Some(Constraint::ForeignKey) => {
                StoreError::not_found("session", s.session_id.clone().unwrap_or_default())
            }
            None => at.db(&e),
        }),
    }
}

/// Records how a running call ended, adds its tokens to its agent and keeps its output
/// (run in a transaction).
pub(crate) async fn finish(
    c: &impl GenericClient,
    at: &Location,
    id: &str,
    f: &CallFinish,
) -> Result<(), StoreError> {
    if !f.status.is_final() {
        return Err(StoreError::invalid(
            "call status",
            "a call cannot finish as running",
        ));
    }
    let tokens_in = opt_int(f.tokens_in, "tokens_in")?;
    let tokens_out = opt_int(f.tokens_out, "tokens_out")?;
    let result = f
        .output
        .as_ref()
        .map(|o| serde_json::to_string(&o.result))
        .transpose()
        .map_err(|e| StoreError::invalid("call output", e.to_string()))?;
    let agent = cached::query_opt(
        c,
        "UPDATE calls SET status = $2, finished_at = $3, error = $4, duration_ms = $5, \
             tokens_in = $6, tokens_out = $7, thread_id = coalesce($8, thread_id) \
             WHERE id = $1 AND status = 'running' RETURNING agent_id",
        &[
            &id,
            &f.status.as_str(),
            &ms(f.finished_at),
            &f.error,
            &int(f.duration_ms, "duration_ms")?,
            &tokens_in,
            &tokens_out,
            &f.thread_id,
        ],
    )
    .await
    .map_err(|e| at.db(&e))?;
    let Some(agent) = agent else {
        let status = cached::query_opt(c, "SELECT status FROM calls WHERE id = $1", &[&id])
            .await
            .map_err(|e| at.db(&e))?;
        return Err(match status {
            Some(row) => StoreError::NotRunning {
                id: id.to_owned(),
                status: at.name::<CallStatus>(&row, "status")?,
            },
            None => StoreError::not_found("call", id),
        });
    };
    let agent: String = at.get(&agent, "agent_id")?;
    cached::execute(
        c,
        "UPDATE agents SET tokens_in = tokens_in + $2, tokens_out = tokens_out + $3, \
         last_active_at = greatest(last_active_at, $4) WHERE id = $1",
        &[
            &agent,
            &tokens_in.unwrap_or(0),
            &tokens_out.unwrap_or(0),
            &ms(f.finished_at),
        ],
    )
    .await
    .map_err(|e| at.db(&e))?;
    if let (Some(output), Some(result)) = (&f.output, result) {
        cached::execute(
            c,
            "INSERT INTO call_outputs (call_id, result, diff) VALUES ($1, $2, $3)",
            &[&id, &result, &output.diff],
        )
        .await
        .map_err(|e| at.db(&e))?;
    }
    Ok(())
}

/// A finished call's output, or `None`.
pub(crate) async fn output(
    c: &impl GenericClient,
    at: &Location,
    id: &str,
) -> Result<Option<CallOutput>, StoreError> {
    let Some(row) = cached::query_opt(
        c,
        "SELECT result, diff FROM call_outputs WHERE call_id = $1",
        &[&id],
    )
    .await
    .map_err(|e| at.db(&e))?
    else {
        return Ok(None);
    };
    let result: String = at.get(&row, "result")?;
    let result = serde_json::from_str(&result).map_err(|e| StoreError::Unreadable {
        what: "output",
        id: id.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(Some(CallOutput {
        result,
        diff: at.get(&row, "diff")?,
    }))
}

/// One call, or `None`.
pub(crate) async fn get(
    c: &impl GenericClient,
    at: &Location,
    id: &str,
) -> Result<Option<Call>, StoreError> {
    let row = cached::query_opt(c, &format!("{SELECT} WHERE id = $1"), &[&id])
        .await
        .map_err(|e| at.db(&e))?;
    row.map(|r| call(at, &r)).transpose()
}

/// An agent's finished calls that have a stored output, newest first, each with whether
/// a diff is stored.
pub(crate) async fn list_with_output(
    c: &impl GenericClient,
    at: &Location,
    agent_id: &str,
    limit: u32,
) -> Result<Vec<OutputEntry>, StoreError> {
    let rows = cached::query(
        c,
        "SELECT c.id, c.agent_id, c.session_id, c.tool, c.arguments_digest, c.started_at, \
         c.finished_at, c.status, c.error, c.duration_ms, c.tokens_in, c.tokens_out, \
         c.thread_id, o.diff IS NOT NULL AS has_diff \
         FROM calls c JOIN call_outputs o ON o.call_id = c.id \
         WHERE c.agent_id = $1 ORDER BY c.started_at DESC, c.seq DESC LIMIT $2",
        &[&agent_id, &i64::from(limit)],
    )
    .await
    .map_err(|e| at.db(&e))?;
    rows.iter()
        .map(|r| {
            Ok(OutputEntry {
                call: call(at, r)?,
                has_diff: at.get(r, "has_diff")?,
            })
        })
        .collect()
}

/// An agent's calls, newest first.
pub(crate) async fn list(
    c: &impl GenericClient,
    at: &Location,
    agent_id: &str,
    limit: u32,
) -> Result<Vec<Call>, StoreError> {
    let rows = cached::query(
        c,
        &format!("{SELECT} WHERE agent_id = $1 ORDER BY started_at DESC, seq DESC LIMIT $2"),
        &[&agent_id, &i64::from(limit)],
    )
    .await
    .map_err(|e| at.db(&e))?;
    rows.iter().map(|r| call(at, r)).collect()
}

/// The newest `limit` calls of each agent in `ids`, grouped by agent and newest first
/// within each (the order of [`list`]): one statement that walks `calls_by_agent`
/// backwards once per agent. The outer `ORDER BY` makes the order a guarantee rather than
/// the plan's habit; it sorts only the rows the page returns.
pub(crate) async fn list_each(
    c: &impl GenericClient,
    at: &Location,
    ids: &[String],
    limit: u32,
) -> Result<Vec<Call>, StoreError> {
    let rows = cached::query(
        c,
        "SELECT recent.* FROM unnest($1::text[]) AS wanted(agent) CROSS JOIN LATERAL \
         (SELECT * FROM calls WHERE agent_id = wanted.agent \
          ORDER BY started_at DESC, seq DESC LIMIT $2) AS recent \
         ORDER BY recent.agent_id, recent.started_at DESC, recent.seq DESC",
        &[&ids, &i64::from(limit)],
    )
    .await
    .map_err(|e| at.db(&e))?;
    rows.iter().map(|r| call(at, r)).collect()
}

/// The replicas with running calls or open sessions (`None`: rows recorded before
/// replicas were tracked).
pub(crate) async fn instances_with_work(
    c: &impl GenericClient,
    at: &Location,
) -> Result<Vec<Option<String>>, StoreError> {
    let rows = cached::query(
        c,
        "SELECT instance FROM calls WHERE status = 'running' \
         UNION SELECT instance FROM sessions WHERE closed_at IS NULL \
         UNION SELECT instance FROM tasks WHERE status IN ('working', 'input_required')",
        &[],
    )
    .await
    .map_err(|e| at.db(&e))?;
    rows.iter().map(|r| at.get(r, "instance")).collect()
}

/// Marks replica `instance`'s running calls interrupted and its running tasks failed, and
/// closes its open sessions, as of `when` (run in a transaction). With `keep_resumable`
/// (this replica at its start), a task it may re-attach to ([`RESUMABLE`]) is kept with
/// its call.
pub(crate) async fn recover(
    c: &impl GenericClient,
    at: &Location,
    instance: Option<&str>,
    when: Timestamp,
    keep_resumable: bool,
) -> Result<Recovered, StoreError> {
    let tasks = cached::execute(
        c,
        &format!(
            "UPDATE tasks SET status = 'failed', updated_at = greatest(created_at, $1), \
             status_message = $2, error = $2 \
             WHERE status IN ('working', 'input_required') AND instance IS NOT DISTINCT FROM $3 \
             AND NOT ($4 AND {RESUMABLE})"
        ),
        &[&ms(when), &TASK_INTERRUPTED, &instance, &keep_resumable],
    )
    .await
    .map_err(|e| at.db(&e))?;
    let calls = cached::execute(
        c,
        "UPDATE calls SET status = 'interrupted', finished_at = greatest(started_at, $1), \
         error = $2 WHERE status = 'running' AND instance IS NOT DISTINCT FROM $3 \
         AND id NOT IN (SELECT call_id FROM tasks \
         WHERE status IN ('working', 'input_required') AND call_id IS NOT NULL)",
        &[&ms(when), &CALL_INTERRUPTED, &instance],
    )
    .await
    .map_err(|e| at.db(&e))?;
    let sessions = cached::execute(
        c,
        "UPDATE sessions SET closed_at = greatest(opened_at, $1) \
         WHERE closed_at IS NULL AND instance IS NOT DISTINCT FROM $2",
        &[&ms(when), &instance],
    )
    .await
    .map_err(|e| at.db(&e))?;
    Ok(Recovered {
        calls,
        sessions,
        tasks,
    })
}

/// Deletes up to `limit` calls that finished before `cutoff`; returns how many.
pub(crate) async fn prune_calls(
    c: &impl GenericClient,
    at: &Location,
    cutoff: Timestamp,
    limit: i64,
) -> Result<u64, StoreError> {
    cached::execute(
        c,
        "DELETE FROM calls WHERE seq IN \
         (SELECT seq FROM calls WHERE finished_at < $1 LIMIT $2)",
        &[&ms(cutoff), &limit],
    )
    .await
    .map_err(|e| at.db(&e))
}

/// Deletes up to `limit` sessions that closed before `cutoff` and no call refers to.
pub(crate) async fn prune_sessions(
    c: &impl GenericClient,
    at: &Location,
    cutoff: Timestamp,
    limit: i64,
) -> Result<u64, StoreError> {
    cached::execute(
        c,
        "DELETE FROM sessions WHERE seq IN \
         (SELECT s.seq FROM sessions s WHERE s.closed_at < $1 \
          AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.session_id = s.id) LIMIT $2)",
        &[&ms(cutoff), &limit],
    )
    .await
    .map_err(|e| at.db(&e))
}
