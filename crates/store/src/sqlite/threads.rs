//! Conversation -> Codex thread mappings.

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::StoreError;
use crate::model::{Thread, Timestamp};
use crate::sqlite::convert::{ms, ts};
use crate::sqlite::failure::{Constraint, Failure, constraint};

const COLUMNS: &str = "agent_id, conversation_key, thread_id, created_at, last_used_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Thread> {
    Ok(Thread {
        agent_id: row.get(0)?,
        conversation_key: row.get(1)?,
        thread_id: row.get(2)?,
        created_at: ts(row, 3)?,
        last_used_at: ts(row, 4)?,
    })
}

/// The mapping for one conversation, or `None`.
pub(crate) fn get(conn: &Connection, agent_id: &str, key: &str) -> Result<Option<Thread>, Failure> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM threads WHERE agent_id = ?1 AND conversation_key = ?2"
        ))?
        .query_row([agent_id, key], from_row)
        .optional()?)
}

/// Inserts or replaces the mapping. A new thread id restarts `created_at`; the same
/// one only moves `last_used_at` forward.
pub(crate) fn put(
    conn: &Connection,
    agent_id: &str,
    key: &str,
    thread_id: &str,
    at: Timestamp,
) -> Result<Thread, Failure> {
    let stored = conn
        .prepare_cached(&format!(
            "INSERT INTO threads ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?4) \
             ON CONFLICT (agent_id, conversation_key) DO UPDATE SET \
             created_at = CASE WHEN thread_id = excluded.thread_id \
                          THEN created_at ELSE excluded.created_at END, \
             last_used_at = CASE WHEN thread_id = excluded.thread_id \
                            THEN max(last_used_at, excluded.last_used_at) \
                            ELSE excluded.last_used_at END, \
             thread_id = excluded.thread_id \
             RETURNING {COLUMNS}"
        ))?
        .query_row(params![agent_id, key, thread_id, ms(at)], from_row);
    match stored {
        Ok(thread) => Ok(thread),
        Err(e) if constraint(&e) == Some(Constraint::ForeignKey) => {
            Err(StoreError::not_found("agent", agent_id).into())
        }
        Err(e) => Err(e.into()),
    }
}

/// An agent's mappings, most recently used first.
pub(crate) fn list(conn: &Connection, agent_id: &str) -> Result<Vec<Thread>, Failure> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM threads WHERE agent_id = ?1 \
         ORDER BY last_used_at DESC, conversation_key"
    ))?;
    let rows = stmt.query_map([agent_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Removes one mapping; returns whether it existed.
pub(crate) fn forget(conn: &Connection, agent_id: &str, key: &str) -> Result<bool, Failure> {
    let removed = conn
        .prepare_cached("DELETE FROM threads WHERE agent_id = ?1 AND conversation_key = ?2")?
        .execute([agent_id, key])?;
    Ok(removed > 0)
}
