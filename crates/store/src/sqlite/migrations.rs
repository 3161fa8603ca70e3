//! The schema, as an ordered list of migrations tracked by `PRAGMA user_version`.
//!
//! Migration `i` (0-based) brings the file from schema `i` to schema `i + 1`. Pending
//! migrations run in one IMMEDIATE transaction together with the `user_version` bump,
//! so a failure leaves the file exactly as it was. Never edit a released migration;
//! append a new one.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use crate::error::StoreError;
use crate::sqlite::failure::classify;

/// `PRAGMA application_id` of a codex-mcp database: "CMCP".
pub(crate) const APPLICATION_ID: i32 = 0x434d_4350;

/// Schema 1: agents, sessions, calls, threads.
const V1: &str = r"
CREATE TABLE agents (
    id             TEXT PRIMARY KEY NOT NULL,
    created_at     INTEGER NOT NULL,
    last_active_at INTEGER NOT NULL,
    runtime        TEXT NOT NULL,
    container      TEXT,
    workspace      TEXT,
    status         TEXT NOT NULL,
    calls_made     INTEGER NOT NULL DEFAULT 0,
    tokens_in      INTEGER NOT NULL DEFAULT 0,
    tokens_out     INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE sessions (
    id               TEXT PRIMARY KEY NOT NULL,
    agent_id         TEXT REFERENCES agents(id) ON DELETE CASCADE,
    client_name      TEXT,
    client_version   TEXT,
    transport        TEXT NOT NULL,
    protocol_version TEXT NOT NULL,
    opened_at        INTEGER NOT NULL,
    closed_at        INTEGER
) STRICT;
CREATE INDEX sessions_by_agent ON sessions(agent_id, opened_at);
CREATE INDEX sessions_by_closed ON sessions(closed_at) WHERE closed_at IS NOT NULL;

CREATE TABLE calls (
    seq              INTEGER PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    agent_id         TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    session_id       TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    tool             TEXT NOT NULL,
    arguments_digest TEXT NOT NULL,
    started_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    status           TEXT NOT NULL CHECK (status IN
                         ('running', 'succeeded', 'failed', 'cancelled', 'timed_out', 'interrupted')),
    error            TEXT,
    duration_ms      INTEGER,
    tokens_in        INTEGER,
    tokens_out       INTEGER,
    thread_id        TEXT
) STRICT;
CREATE INDEX calls_by_agent ON calls(agent_id, started_at, seq);
CREATE INDEX calls_by_session ON calls(session_id) WHERE session_id IS NOT NULL;
CREATE INDEX calls_by_finished ON calls(finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX calls_running ON calls(agent_id) WHERE status = 'running';

CREATE TABLE threads (
    agent_id         TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    conversation_key TEXT NOT NULL,
    thread_id        TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    last_used_at     INTEGER NOT NULL,
    PRIMARY KEY (agent_id, conversation_key)
) STRICT, WITHOUT ROWID;
";

/// Schema 2: each finished call's output (structured result and diff), deleted with its
/// call. A table of its own keeps the `calls` rows small for the listings.
const V2: &str = r"
CREATE TABLE call_outputs (
    call_id TEXT PRIMARY KEY NOT NULL REFERENCES calls(id) ON DELETE CASCADE,
    result  TEXT NOT NULL,
    diff    TEXT
) STRICT;
";

/// Schema 3: durable tasks (MCP tasks and background jobs). `seq` orders the owner's
/// listing and is its cursor; `call_id` has no foreign key because a task may outlive
/// its call record (retention) and may be created before the call is recorded.
const V3: &str = r"
CREATE TABLE tasks (
    seq              INTEGER PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    owner            TEXT NOT NULL CHECK (owner <> ''),
    agent_id         TEXT REFERENCES agents(id) ON DELETE CASCADE,
    tool             TEXT NOT NULL,
    call_id          TEXT,
    status           TEXT NOT NULL CHECK (status IN
                         ('working', 'input_required', 'completed', 'failed', 'cancelled')),
    status_message   TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    ttl_ms           INTEGER CHECK (ttl_ms >= 0),
    poll_interval_ms INTEGER CHECK (poll_interval_ms >= 0),
    result           TEXT,
    error            TEXT
) STRICT;
CREATE INDEX tasks_by_owner ON tasks(owner, seq);
CREATE INDEX tasks_by_agent ON tasks(agent_id) WHERE agent_id IS NOT NULL;
CREATE INDEX tasks_running ON tasks(status) WHERE status IN ('working', 'input_required');
CREATE INDEX tasks_by_expiry ON tasks(created_at + ttl_ms) WHERE ttl_ms IS NOT NULL;
";

/// Schema 4: agents in order of last activity, so a page of the agent listing reads
/// the page instead of sorting the whole table (PostgreSQL has had it from its start).
const V4: &str = r"
CREATE INDEX agents_by_activity ON agents(last_active_at DESC, id);
";

/// Schema 5: a task's arguments (the tool call's JSON object, as received), so a
/// restarted server can re-attach to the task's Codex run and finish its call.
const V5: &str = r"
ALTER TABLE tasks ADD COLUMN arguments TEXT;
";

/// Every migration, oldest first. The schema version is `MIGRATIONS.len()`.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5];

/// The newest schema this build knows.
pub(crate) fn known_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// The schema version recorded in the file.
pub(crate) fn user_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Applies the migrations `conn` has not seen yet; returns the versions before and after.
pub(crate) fn migrate(
    conn: &mut Connection,
    path: &Path,
    migrations: &[&str],
) -> Result<(i64, i64), StoreError> {
    let known = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| classify(&e, path))?;
    // Read inside the write transaction so nobody migrates underneath us.
    let found = user_version(&tx).map_err(|e| classify(&e, path))?;
    if found > known {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found,
            known,
        });
    }
    if found == known {
        return Ok((found, found));
    }
    let start = usize::try_from(found).unwrap_or(0);
    for (index, sql) in migrations.iter().enumerate().skip(start) {
        let version = i64::try_from(index + 1).unwrap_or(i64::MAX);
        tx.execute_batch(sql).map_err(|e| StoreError::Migration {
            path: path.to_path_buf(),
            version,
            reason: e.to_string(),
        })?;
    }
    let stamp = |e: rusqlite::Error| StoreError::Migration {
        path: path.to_path_buf(),
        version: known,
        reason: e.to_string(),
    };
    tx.pragma_update(None, "user_version", known)
        .map_err(stamp)?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(stamp)?;
    tx.commit().map_err(|e| classify(&e, path))?;
    Ok((found, known))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::path::PathBuf;

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn fresh_database_gets_every_migration_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        let path = PathBuf::from("mem");
        assert_eq!(migrate(&mut conn, &path, MIGRATIONS).unwrap(), (0, 5));
        assert_eq!(migrate(&mut conn, &path, MIGRATIONS).unwrap(), (5, 5));
        assert_eq!(user_version(&conn).unwrap(), known_version());
        assert_eq!(
            tables(&conn),
            vec![
                "agents",
                "call_outputs",
                "calls",
                "sessions",
                "tasks",
                "threads"
            ]
        );
    }

    #[test]
    fn a_schema_1_file_gains_call_outputs_and_keeps_its_calls() {
        let mut conn = Connection::open_in_memory().unwrap();
        let path = PathBuf::from("mem");
        migrate(&mut conn, &path, &[V1]).unwrap();
        conn.execute_batch(
            "INSERT INTO agents (id, created_at, last_active_at, runtime, status) \
             VALUES ('a', 1, 1, 'local', 'ready'); \
             INSERT INTO calls (id, agent_id, tool, arguments_digest, started_at, status) \
             VALUES ('c', 'a', 'chat', 'd', 1, 'running');",
        )
        .unwrap();
        assert_eq!(migrate(&mut conn, &path, MIGRATIONS).unwrap(), (1, 5));
        let calls: i64 = conn
            .query_row("SELECT count(*) FROM calls", [], |r| r.get(0))
            .unwrap();
        assert_eq!(calls, 1);
        conn.execute(
            "INSERT INTO call_outputs (call_id, result) VALUES ('c', '{}')",
            [],
        )
        .unwrap();
    }

    #[test]
    fn a_schema_2_file_gains_tasks_and_keeps_its_outputs() {
        let mut conn = Connection::open_in_memory().unwrap();
        let path = PathBuf::from("mem");
        migrate(&mut conn, &path, &[V1, V2]).unwrap();
        conn.execute_batch(
            "INSERT INTO agents (id, created_at, last_active_at, runtime, status) \
             VALUES ('a', 1, 1, 'local', 'ready'); \
             INSERT INTO calls (id, agent_id, tool, arguments_digest, started_at, status) \
             VALUES ('c', 'a', 'chat', 'd', 1, 'succeeded'); \
             INSERT INTO call_outputs (call_id, result) VALUES ('c', '{}');",
        )
        .unwrap();
        assert_eq!(migrate(&mut conn, &path, MIGRATIONS).unwrap(), (2, 5));
        let outputs: i64 = conn
            .query_row("SELECT count(*) FROM call_outputs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(outputs, 1);
        conn.execute(
            "INSERT INTO tasks (id, owner, agent_id, tool, status, created_at, updated_at) \
             VALUES ('t', 'o', 'a', 'chat', 'working', 1, 1)",
            [],
        )
        .unwrap();
    }

    #[test]
    fn a_schema_4_file_gains_task_arguments_and_its_tasks_have_none() {
        let mut conn = Connection::open_in_memory().unwrap();
        let path = PathBuf::from("mem");
        migrate(&mut conn, &path, &[V1, V2, V3, V4]).unwrap();
        conn.execute(
            "INSERT INTO tasks (id, owner, tool, status, created_at, updated_at) \
             VALUES ('t', 'o', 'chat', 'working', 1, 1)",
            [],
        )
        .unwrap();
        assert_eq!(migrate(&mut conn, &path, MIGRATIONS).unwrap(), (4, 5));
        let arguments: Option<String> = conn
            .query_row("SELECT arguments FROM tasks WHERE id = 't'", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(
            arguments, None,
            "a task of an older mcpd cannot be re-attached"
        );
    }

    #[test]
    fn a_schema_3_file_gains_the_activity_index_that_pages_the_agents() {
        let mut conn = Connection::open_in_memory().unwrap();
        let path = PathBuf::from("mem");
        migrate(&mut conn, &path, &[V1, V2, V3]).unwrap();
        assert_eq!(migrate(&mut conn, &path, MIGRATIONS).unwrap(), (3, 5));
        let plan: Vec<String> = conn
            .prepare(
                "EXPLAIN QUERY PLAN SELECT id FROM agents a \
                 ORDER BY a.last_active_at DESC, a.id LIMIT 10 OFFSET 20",
            )
            .unwrap()
            .query_map([], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            plan,
            vec!["SCAN a USING COVERING INDEX agents_by_activity".to_string()],
            "the page is read in index order, not sorted"
        );
    }

    #[test]
    fn later_migrations_apply_on_top_of_earlier_ones() {
        let mut conn = Connection::open_in_memory().unwrap();
        let path = PathBuf::from("mem");
        migrate(&mut conn, &path, &[V1]).unwrap();
        let v2 = "ALTER TABLE agents ADD COLUMN note TEXT;";
        assert_eq!(migrate(&mut conn, &path, &[V1, v2]).unwrap(), (1, 2));
        conn.execute("UPDATE agents SET note = 'x'", []).unwrap();
    }

    #[test]
    fn failed_migration_changes_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        let path = PathBuf::from("/d/codex-mcp.db");
        migrate(&mut conn, &path, &[V1]).unwrap();
        let broken = "CREATE TABLE extra (a INTEGER); SELECT * FROM no_such_table;";
        let err = migrate(&mut conn, &path, &[V1, broken]).unwrap_err();
        assert!(
            matches!(&err, StoreError::Migration { version: 2, .. }),
            "{err:?}"
        );
        assert_eq!(user_version(&conn).unwrap(), 1);
        assert_eq!(
            tables(&conn),
            vec!["agents", "calls", "sessions", "threads"]
        );
    }

    #[test]
    fn newer_file_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", 9).unwrap();
        let path = PathBuf::from("/d/codex-mcp.db");
        assert_eq!(
            migrate(&mut conn, &path, MIGRATIONS).unwrap_err(),
            StoreError::NewerSchema {
                path,
                found: 9,
                known: 5
            }
        );
    }
}
