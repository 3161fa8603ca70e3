//! Tool call rows, and the agent counters they feed.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::StoreError;
use crate::model::{Call, CallFinish, CallOutput, CallStart, CallStatus, OutputEntry};
use crate::sqlite::convert::{int, ms, name, opt_count, opt_int, opt_ts, ts};
use crate::sqlite::failure::{Failure, insert_refused};

const SELECT: &str = "SELECT id, agent_id, session_id, tool, arguments_digest, started_at, \
     finished_at, status, error, duration_ms, tokens_in, tokens_out, thread_id FROM calls";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Call> {
    Ok(Call {
        id: row.get(0)?,
        agent_id: row.get(1)?,
        session_id: row.get(2)?,
        tool: row.get(3)?,
        arguments_digest: row.get(4)?,
        started_at: ts(row, 5)?,
        finished_at: opt_ts(row, 6)?,
        status: name(row, 7)?,
        error: row.get(8)?,
        duration_ms: opt_count(row, 9)?,
        tokens_in: opt_count(row, 10)?,
        tokens_out: opt_count(row, 11)?,
        thread_id: row.get(12)?,
    })
}

/// Inserts a running call and counts it on its agent.
pub(crate) fn start(conn: &Connection, call: &CallStart) -> Result<(), Failure> {
    let counted = conn
        .prepare_cached(
            "UPDATE agents SET calls_made = calls_made + 1, \
             last_active_at = max(last_active_at, ?2) WHERE id = ?1",
        )?
        .execute(params![call.agent_id, ms(call.started_at)])?;
    if counted == 0 {
        return Err(StoreError::not_found("agent", &call.agent_id).into());
    }
    let inserted = conn
        .prepare_cached(
            "INSERT INTO calls (id, agent_id, session_id, tool, arguments_digest, thread_id, \
             started_at, status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'running')",
        )?
        .execute(params![
            call.id,
            call.agent_id,
            call.session_id,
            call.tool,
            call.arguments_digest,
            call.thread_id,
            ms(call.started_at),
        ]);
    inserted
        .map(|_| ())
        .map_err(|e| insert_refused(e, "call", &call.id, ("session", call.session_id.as_deref())))
}

/// Records how a running call ended and adds its tokens to its agent.
pub(crate) fn finish(conn: &Connection, id: &str, finish: &CallFinish) -> Result<(), Failure> {
    if !finish.status.is_final() {
        return Err(StoreError::invalid("call status", "a call cannot finish as running").into());
    }
    let tokens_in = opt_int(finish.tokens_in, "tokens_in")?;
    let tokens_out = opt_int(finish.tokens_out, "tokens_out")?;
    let agent: Option<String> = conn
        .prepare_cached(
            "UPDATE calls SET status = ?2, finished_at = ?3, error = ?4, duration_ms = ?5, \
             tokens_in = ?6, tokens_out = ?7, thread_id = coalesce(?8, thread_id) \
             WHERE id = ?1 AND status = 'running' RETURNING agent_id",
        )?
        .query_row(
            params![
                id,
                finish.status.as_str(),
                ms(finish.finished_at),
                finish.error,
                int(finish.duration_ms, "duration_ms")?,
                tokens_in,
                tokens_out,
                finish.thread_id,
            ],
            |r| r.get(0),
        )
        .optional()?;
    let Some(agent) = agent else {
        let status: Option<CallStatus> = conn
            .prepare_cached("SELECT status FROM calls WHERE id = ?1")?
            .query_row([id], |r| name(r, 0))
            .optional()?;
        return Err(match status {
            Some(status) => StoreError::NotRunning {
                id: id.to_owned(),
                status,
            },
            None => StoreError::not_found("call", id),
        }
        .into());
    };
    conn.prepare_cached(
        "UPDATE agents SET tokens_in = tokens_in + ?2, tokens_out = tokens_out + ?3, \
         last_active_at = max(last_active_at, ?4) WHERE id = ?1",
    )?
    .execute(params![
        agent,
        tokens_in.unwrap_or(0),
        tokens_out.unwrap_or(0),
        ms(finish.finished_at),
    ])?;
    if let Some(output) = &finish.output {
        let result = serde_json::to_string(&output.result)
            .map_err(|e| StoreError::invalid("call output", e.to_string()))?;
        conn.prepare_cached(
            "INSERT INTO call_outputs (call_id, result, diff) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![id, result, output.diff])?;
    }
    Ok(())
}

/// A finished call's output, or `None` (no such call, still running, or it produced
/// nothing).
pub(crate) fn output(conn: &Connection, id: &str) -> Result<Option<CallOutput>, Failure> {
    let row: Option<(String, Option<String>)> = conn
        .prepare_cached("SELECT result, diff FROM call_outputs WHERE call_id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((result, diff)) = row else {
        return Ok(None);
    };
    let result = serde_json::from_str(&result).map_err(|e| StoreError::Unreadable {
        what: "output",
        id: id.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(Some(CallOutput { result, diff }))
}

/// One call, or `None`.
pub(crate) fn get(conn: &Connection, id: &str) -> Result<Option<Call>, Failure> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// An agent's finished calls that have a stored output, newest first, each with whether
/// a diff is stored.
pub(crate) fn list_with_output(
    conn: &Connection,
    agent_id: &str,
    limit: u32,
) -> Result<Vec<OutputEntry>, Failure> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, c.agent_id, c.session_id, c.tool, c.arguments_digest, c.started_at, \
         c.finished_at, c.status, c.error, c.duration_ms, c.tokens_in, c.tokens_out, \
         c.thread_id, o.diff IS NOT NULL FROM calls c JOIN call_outputs o ON o.call_id = c.id \
         WHERE c.agent_id = ?1 ORDER BY c.started_at DESC, c.seq DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![agent_id, limit], |row| {
        Ok(OutputEntry {
            call: from_row(row)?,
            has_diff: row.get(13)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// An agent's calls, newest first.
pub(crate) fn list(conn: &Connection, agent_id: &str, limit: u32) -> Result<Vec<Call>, Failure> {
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE agent_id = ?1 ORDER BY started_at DESC, seq DESC LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![agent_id, limit], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
