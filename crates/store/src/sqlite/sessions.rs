//! MCP session rows.

use rusqlite::{Connection, Row, params};

use crate::error::StoreError;
use crate::model::{NewSession, Session, Timestamp};
use crate::sqlite::convert::{ms, name, opt_ts, ts};
use crate::sqlite::failure::{Failure, insert_refused};

fn from_row(row: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id: row.get(0)?,
        agent_id: row.get(1)?,
        client_name: row.get(2)?,
        client_version: row.get(3)?,
        transport: name(row, 4)?,
        protocol_version: row.get(5)?,
        opened_at: ts(row, 6)?,
        closed_at: opt_ts(row, 7)?,
    })
}

/// Inserts a new session; its agent, when given, must exist.
pub(crate) fn open(conn: &Connection, session: &NewSession) -> Result<(), Failure> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO sessions (id, agent_id, client_name, client_version, transport, \
             protocol_version, opened_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![
            session.id,
            session.agent_id,
            session.client_name,
            session.client_version,
            session.transport.as_str(),
            session.protocol_version,
            ms(session.opened_at),
        ]);
    inserted.map(|_| ()).map_err(|e| {
        insert_refused(
            e,
            "session",
            &session.id,
            ("agent", session.agent_id.as_deref()),
        )
    })
}

/// Sets `closed_at` unless already set.
pub(crate) fn close(conn: &Connection, id: &str, at: Timestamp) -> Result<(), Failure> {
    let changed = conn
        .prepare_cached("UPDATE sessions SET closed_at = coalesce(closed_at, ?2) WHERE id = ?1")?
        .execute(params![id, ms(at)])?;
    if changed == 0 {
        return Err(StoreError::not_found("session", id).into());
    }
    Ok(())
}

/// Sessions newest first, filtered by agent and openness.
pub(crate) fn list(
    conn: &Connection,
    agent_id: Option<&str>,
    open_only: bool,
) -> Result<Vec<Session>, Failure> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, agent_id, client_name, client_version, transport, protocol_version, \
         opened_at, closed_at FROM sessions \
         WHERE (?1 IS NULL OR agent_id = ?1) AND (NOT ?2 OR closed_at IS NULL) \
         ORDER BY opened_at DESC, rowid DESC",
    )?;
    let rows = stmt.query_map(params![agent_id, open_only], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
