//! Agent rows: creation, updates, activity, usage totals and deletion.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::StoreError;
use crate::model::{
    Agent, AgentActivity, AgentDeleted, AgentPage, AgentUpdate, AgentUsage, NewAgent, Timestamp,
};
use crate::sqlite::convert::{count, ms, name, ts};
use crate::sqlite::failure::Failure;
use crate::sqlite::{calls, threads};

/// Columns of [`from_row`]; `calls_running` is counted through a partial index.
const SELECT: &str = "SELECT a.id, a.created_at, a.last_active_at, a.runtime, a.container, \
     a.workspace, a.status, a.calls_made, \
     (SELECT count(*) FROM calls c WHERE c.agent_id = a.id AND c.status = 'running'), \
     a.tokens_in, a.tokens_out FROM agents a";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Agent> {
    Ok(Agent {
        id: row.get(0)?,
        created_at: ts(row, 1)?,
        last_active_at: ts(row, 2)?,
        runtime: row.get(3)?,
        container: row.get(4)?,
        workspace: row.get(5)?,
        status: name(row, 6)?,
        usage: AgentUsage {
            calls_made: count(row, 7)?,
            calls_running: count(row, 8)?,
            tokens_in: count(row, 9)?,
            tokens_out: count(row, 10)?,
        },
    })
}

/// Inserts the agent unless it exists; returns the stored row.
pub(crate) fn ensure(conn: &Connection, agent: &NewAgent) -> Result<Agent, Failure> {
    conn.prepare_cached(
        "INSERT INTO agents (id, created_at, last_active_at, runtime, container, workspace, status) \
         VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO NOTHING",
    )?
    .execute(params![
        agent.id,
        ms(agent.at),
        agent.runtime,
        agent.container,
        agent.workspace,
        agent.status.as_str(),
    ])?;
    require(conn, &agent.id)
}

/// One agent, or `None`.
pub(crate) fn get(conn: &Connection, id: &str) -> Result<Option<Agent>, Failure> {
    Ok(conn
        .prepare_cached(&format!("{SELECT} WHERE a.id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

fn require(conn: &Connection, id: &str) -> Result<Agent, Failure> {
    get(conn, id)?.ok_or_else(|| StoreError::not_found("agent", id).into())
}

/// All agents, most recently active first.
pub(crate) fn list(conn: &Connection) -> Result<Vec<Agent>, Failure> {
    let mut stmt =
        conn.prepare_cached(&format!("{SELECT} ORDER BY a.last_active_at DESC, a.id"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One page of [`list`]; the order is served by the index `agents_by_activity`.
pub(crate) fn page(conn: &Connection, offset: u64, limit: u32) -> Result<AgentPage, Failure> {
    let total = conn
        .prepare_cached("SELECT count(*) FROM agents")?
        .query_row([], |r| count(r, 0))?;
    // SQLite takes a signed 64-bit OFFSET; anything beyond it is past the end anyway.
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} ORDER BY a.last_active_at DESC, a.id LIMIT ?1 OFFSET ?2"
    ))?;
    let agents = stmt
        .query_map(params![limit, offset], from_row)?
        .collect::<Result<_, _>>()?;
    Ok(AgentPage { agents, total })
}

/// The agents among `ids`, most recently active first.
pub(crate) fn get_many(conn: &Connection, ids: &[String]) -> Result<Vec<Agent>, Failure> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // One JSON array parameter, so the statement is the same (and cached) for any count.
    let ids =
        serde_json::to_string(ids).map_err(|e| StoreError::invalid("agent ids", e.to_string()))?;
    let mut stmt = conn.prepare_cached(&format!(
        "{SELECT} WHERE a.id IN (SELECT value FROM json_each(?1)) \
         ORDER BY a.last_active_at DESC, a.id"
    ))?;
    let rows = stmt.query_map([ids], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Each agent's threads and newest `limit` calls, read in one transaction (one snapshot):
/// two indexed statements per agent, on one connection and one blocking thread.
pub(crate) fn activity(
    conn: &Connection,
    ids: &[String],
    limit: u32,
) -> Result<HashMap<String, AgentActivity>, Failure> {
    let snapshot = conn.unchecked_transaction()?;
    let mut found = HashMap::with_capacity(ids.len());
    for id in ids {
        if found.contains_key(id) {
            continue;
        }
        let activity = AgentActivity {
            threads: threads::list(&snapshot, id)?,
            recent_calls: calls::list(&snapshot, id, limit)?,
        };
        found.insert(id.clone(), activity);
    }
    snapshot.finish()?;
    Ok(found)
}

/// Applies the fields set in `update`; returns the stored row.
pub(crate) fn update(conn: &Connection, id: &str, update: &AgentUpdate) -> Result<Agent, Failure> {
    let changed = conn
        .prepare_cached(
            "UPDATE agents SET \
             runtime = coalesce(?2, runtime), \
             container = CASE WHEN ?3 THEN ?4 ELSE container END, \
             workspace = CASE WHEN ?5 THEN ?6 ELSE workspace END, \
             status = coalesce(?7, status) \
             WHERE id = ?1",
        )?
        .execute(params![
            id,
            update.runtime,
            update.container.is_some(),
            update.container.clone().flatten(),
            update.workspace.is_some(),
            update.workspace.clone().flatten(),
            update.status.map(|s| s.as_str()),
        ])?;
    if changed == 0 {
        return Err(StoreError::not_found("agent", id).into());
    }
    require(conn, id)
}

/// Moves `last_active_at` forward to `at`; fails if the agent does not exist.
pub(crate) fn touch(conn: &Connection, id: &str, at: Timestamp) -> Result<(), Failure> {
    let changed = conn
        .prepare_cached("UPDATE agents SET last_active_at = max(last_active_at, ?2) WHERE id = ?1")?
        .execute(params![id, ms(at)])?;
    if changed == 0 {
        return Err(StoreError::not_found("agent", id).into());
    }
    Ok(())
}

/// Deletes the agent; its sessions, calls and threads go with it (ON DELETE CASCADE).
pub(crate) fn delete(conn: &Connection, id: &str) -> Result<Option<AgentDeleted>, Failure> {
    let count = |sql: &str| -> Result<u64, Failure> {
        Ok(conn.prepare_cached(sql)?.query_row([id], |r| count(r, 0))?)
    };
    let deleted = AgentDeleted {
        sessions: count("SELECT count(*) FROM sessions WHERE agent_id = ?1")?,
        calls: count("SELECT count(*) FROM calls WHERE agent_id = ?1")?,
        threads: count("SELECT count(*) FROM threads WHERE agent_id = ?1")?,
    };
    let removed = conn
        .prepare_cached("DELETE FROM agents WHERE id = ?1")?
        .execute([id])?;
    Ok((removed > 0).then_some(deleted))
}
