//! The PostgreSQL schema, as ordered migrations tracked in `codex_mcp_schema`.
//!
//! Migration `i` (0-based) brings the database from schema `i` to `i + 1`, in one
//! transaction together with the version bump, under a transaction-scoped advisory lock
//! so two processes starting at once migrate one after the other. The tables mirror the
//! SQLite schema of the same version (times as unix milliseconds, enums as their wire
//! names), so both backends keep the same records. Never edit a released migration;
//! append one.

use deadpool_postgres::Client;

use crate::error::StoreError;
use crate::postgres::failure::reason;

/// Advisory lock key serialising migrations ("CMCPmigr").
const MIGRATION_LOCK: i64 = 0x434d_4350_6d69_6772;

/// Schema 1: agents, sessions, calls, call outputs, threads (SQLite schemas 1 and 2).
const V1: &str = r"
CREATE TABLE agents (
    id             TEXT PRIMARY KEY,
    created_at     BIGINT NOT NULL,
    last_active_at BIGINT NOT NULL,
    runtime        TEXT NOT NULL,
    container      TEXT,
    workspace      TEXT,
    status         TEXT NOT NULL,
    calls_made     BIGINT NOT NULL DEFAULT 0,
    tokens_in      BIGINT NOT NULL DEFAULT 0,
    tokens_out     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX agents_by_activity ON agents(last_active_at DESC, id);

CREATE TABLE sessions (
    seq              BIGSERIAL UNIQUE,
    id               TEXT PRIMARY KEY,
    agent_id         TEXT REFERENCES agents(id) ON DELETE CASCADE,
    client_name      TEXT,
    client_version   TEXT,
    transport        TEXT NOT NULL,
    protocol_version TEXT NOT NULL,
    opened_at        BIGINT NOT NULL,
    closed_at        BIGINT
);
CREATE INDEX sessions_by_agent ON sessions(agent_id, opened_at);
CREATE INDEX sessions_by_opened ON sessions(opened_at DESC, seq DESC);
CREATE INDEX sessions_by_closed ON sessions(closed_at) WHERE closed_at IS NOT NULL;

CREATE TABLE calls (
    seq              BIGSERIAL PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    agent_id         TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    session_id       TEXT REFERENCES sessions(id) ON DELETE SET NULL,
    tool             TEXT NOT NULL,
    arguments_digest TEXT NOT NULL,
    started_at       BIGINT NOT NULL,
    finished_at      BIGINT,
    status           TEXT NOT NULL CHECK (status IN
                         ('running', 'succeeded', 'failed', 'cancelled', 'timed_out', 'interrupted')),
    error            TEXT,
    duration_ms      BIGINT,
    tokens_in        BIGINT,
    tokens_out       BIGINT,
    thread_id        TEXT
);
CREATE INDEX calls_by_agent ON calls(agent_id, started_at, seq);
CREATE INDEX calls_by_session ON calls(session_id) WHERE session_id IS NOT NULL;
CREATE INDEX calls_by_finished ON calls(finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX calls_running ON calls(agent_id) WHERE status = 'running';

CREATE TABLE call_outputs (
    call_id TEXT PRIMARY KEY REFERENCES calls(id) ON DELETE CASCADE,
    result  TEXT NOT NULL,
    diff    TEXT
);

CREATE TABLE threads (
    agent_id         TEXT NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
    conversation_key TEXT NOT NULL,
    thread_id        TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    last_used_at     BIGINT NOT NULL,
    PRIMARY KEY (agent_id, conversation_key)
);
";

/// Schema 2: which mcpd replica recorded each call and session, so recovery after a
/// replica dies touches only that replica's rows.
const V2: &str = r"
ALTER TABLE calls ADD COLUMN instance TEXT;
ALTER TABLE sessions ADD COLUMN instance TEXT;
CREATE INDEX calls_running_by_instance ON calls(instance) WHERE status = 'running';
CREATE INDEX sessions_open_by_instance ON sessions(instance) WHERE closed_at IS NULL;
";

/// Schema 3: durable tasks (MCP tasks and background jobs; SQLite schema 3), with the
/// replica running each.
const V3: &str = r"
CREATE TABLE tasks (
    seq              BIGSERIAL PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    owner            TEXT NOT NULL CHECK (owner <> ''),
    agent_id         TEXT REFERENCES agents(id) ON DELETE CASCADE,
    tool             TEXT NOT NULL,
    call_id          TEXT,
    status           TEXT NOT NULL CHECK (status IN
                         ('working', 'input_required', 'completed', 'failed', 'cancelled')),
    status_message   TEXT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    ttl_ms           BIGINT CHECK (ttl_ms >= 0),
    poll_interval_ms BIGINT CHECK (poll_interval_ms >= 0),
    result           TEXT,
    error            TEXT,
    instance         TEXT
);
CREATE INDEX tasks_by_owner ON tasks(owner, seq);
CREATE INDEX tasks_by_agent ON tasks(agent_id) WHERE agent_id IS NOT NULL;
CREATE INDEX tasks_running_by_instance ON tasks(instance)
    WHERE status IN ('working', 'input_required');
CREATE INDEX tasks_by_expiry ON tasks((created_at + ttl_ms)) WHERE ttl_ms IS NOT NULL;
";

/// Schema 4: a task's arguments (SQLite schema 5), so a restarted replica can re-attach
/// to the task's Codex run and finish its call.
const V4: &str = r"
ALTER TABLE tasks ADD COLUMN arguments TEXT;
";

/// Schema 5: the ChatGPT login the replicas share, as the last refresh left it (one row;
/// `docs/scaling.md`). PostgreSQL only: a SQLite store has one process, nobody to share with.
const V5: &str = r"
CREATE TABLE shared_login (
    id         BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id),
    auth_json  BYTEA NOT NULL,
    replica    TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
";

/// Every migration, oldest first. The schema version is `MIGRATIONS.len()`.
pub(crate) const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5];

/// Applies the migrations the database has not seen yet; returns the versions before
/// and after.
pub(crate) async fn migrate(
    client: &mut Client,
    location: &str,
    migrations: &[&str],
) -> Result<(i64, i64), StoreError> {
    let known = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
    let unreachable = |e: tokio_postgres::Error| StoreError::Unreachable {
        location: location.to_owned(),
        reason: reason(&e),
    };
    let tx = client.transaction().await.map_err(unreachable)?;
    let failed = |version: i64| {
        move |e: tokio_postgres::Error| StoreError::DatabaseMigration {
            location: location.to_owned(),
            version,
            reason: reason(&e),
        }
    };
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(failed(known))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS codex_mcp_schema (\
         id BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (id), version BIGINT NOT NULL); \
         INSERT INTO codex_mcp_schema (version) VALUES (0) ON CONFLICT (id) DO NOTHING;",
    )
    .await
    .map_err(failed(known))?;
    let found: i64 = tx
        .query_one("SELECT version FROM codex_mcp_schema", &[])
        .await
        .map_err(failed(known))?
        .try_get(0)
        .map_err(failed(known))?;
    if found > known {
        return Err(StoreError::DatabaseNewerSchema {
            location: location.to_owned(),
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
        tx.batch_execute(sql).await.map_err(failed(version))?;
    }
    tx.execute("UPDATE codex_mcp_schema SET version = $1", &[&known])
        .await
        .map_err(failed(known))?;
    tx.commit().await.map_err(failed(known))?;
    Ok((found, known))
}
