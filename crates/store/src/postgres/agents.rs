//! Agent, session and thread rows on PostgreSQL (the same statements as the SQLite
//! backend's, in PostgreSQL's dialect).

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use tokio_postgres::Row;

use crate::error::StoreError;
use crate::model::{
    Agent, AgentActivity, AgentDeleted, AgentPage, AgentUpdate, AgentUsage, NewAgent, NewSession,
    Session, Thread, Timestamp,
};
use crate::postgres::failure::{Constraint, Location, constraint};
use crate::postgres::{cached, calls};
use crate::values::ms;

/// Columns of [`agent`]; `calls_running` is counted through a partial index.
const AGENT: &str = "SELECT a.id, a.created_at, a.last_active_at, a.runtime, a.container, \
     a.workspace, a.status, a.calls_made, \
     (SELECT count(*) FROM calls c WHERE c.agent_id = a.id AND c.status = 'running') \
     AS calls_running, a.tokens_in, a.tokens_out FROM agents a";

fn agent(at: &Location, row: &Row) -> Result<Agent, StoreError> {
    Ok(Agent {
        id: at.get(row, "id")?,
        created_at: at.ts(row, "created_at")?,
        last_active_at: at.ts(row, "last_active_at")?,
        runtime: at.get(row, "runtime")?,
        container: at.get(row, "container")?,
        workspace: at.get(row, "workspace")?,
        status: at.name(row, "status")?,
        usage: AgentUsage {
            calls_made: at.count(row, "calls_made")?,
            calls_running: at.count(row, "calls_running")?,
            tokens_in: at.count(row, "tokens_in")?,
            tokens_out: at.count(row, "tokens_out")?,
        },
    })
}

/// Inserts the agent unless it exists; returns the stored row.
pub(crate) async fn ensure(
    c: &impl GenericClient,
    at: &Location,
    new: &NewAgent,
) -> Result<Agent, StoreError> {
    cached::execute(
        c,
        "INSERT INTO agents (id, created_at, last_active_at, runtime, container, workspace, \
         status) VALUES ($1, $2, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING",
        &[
            &new.id,
            &ms(new.at),
            &new.runtime,
            &new.container,
            &new.workspace,
            &new.status.as_str(),
        ],
    )
    .await
    .map_err(|e| at.db(&e))?;
    require(c, at, &new.id).await
}

/// One agent, or `None`.
pub(crate) async fn get(
    c: &impl GenericClient,
    at: &Location,
    id: &str,
) -> Result<Option<Agent>, StoreError> {
    let row = cached::query_opt(c, &format!("{AGENT} WHERE a.id = $1"), &[&id])
        .await
        .map_err(|e| at.db(&e))?;
    row.map(|r| agent(at, &r)).transpose()
}

async fn require(c: &impl GenericClient, at: &Location, id: &str) -> Result<Agent, StoreError> {
    get(c, at, id)
        .await?
        .ok_or_else(|| StoreError::not_found("agent", id))
}

/// All agents, most recently active first.
pub(crate) async fn list(c: &impl GenericClient, at: &Location) -> Result<Vec<Agent>, StoreError> {
    let rows = cached::query(
        c,
        &format!("{AGENT} ORDER BY a.last_active_at DESC, a.id COLLATE \"C\""),
        &[],
    )
    .await
    .map_err(|e| at.db(&e))?;
    rows.iter().map(|r| agent(at, r)).collect()
}

/// One page of [`list`]; the order is served by the index `agents_by_activity`.
pub(crate) async fn page(
    c: &impl GenericClient,
    at: &Location,
    offset: u64,
    limit: u32,
) -> Result<AgentPage, StoreError> {
    let row = cached::query_one(c, "SELECT count(*) AS total FROM agents", &[])
        .await
        .map_err(|e| at.db(&e))?;
    let total = at.count(&row, "total")?;
    let offset = i64::try_from(offset).unwrap_or(i64::MAX);
    let rows = cached::query(
        c,
        &format!("{AGENT} ORDER BY a.last_active_at DESC, a.id COLLATE \"C\" LIMIT $1 OFFSET $2"),
        &[&i64::from(limit), &offset],
    )
    .await
    .map_err(|e| at.db(&e))?;
    Ok(AgentPage {
        agents: rows
            .iter()
            .map(|r| agent(at, r))
            .collect::<Result<_, _>>()?,
        total,
    })
}

/// The agents among `ids`, most recently active first.
pub(crate) async fn get_many(
    c: &impl GenericClient,
    at: &Location,
    ids: &[String],
) -> Result<Vec<Agent>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = cached::query(
        c,
        &format!("{AGENT} WHERE a.id = ANY($1) ORDER BY a.last_active_at DESC, a.id COLLATE \"C\""),
        &[&ids],
    )
    .await
    .map_err(|e| at.db(&e))?;
    rows.iter().map(|r| agent(at, r)).collect()
}

/// Applies the fields set in `update`; returns the stored row.
pub(crate) async fn update(
    c: &impl GenericClient,
    at: &Location,
    id: &str,
    update: &AgentUpdate,
) -> Result<Agent, StoreError> {
    let changed = cached::execute(
        c,
        "UPDATE agents SET \
             runtime = coalesce($2, runtime), \
             container = CASE WHEN $3 THEN $4 ELSE container END, \
             workspace = CASE WHEN $5 THEN $6 ELSE workspace END, \
             status = coalesce($7, status) \
             WHERE id = $1",
        &[
            &id,
            &update.runtime,
            &update.container.is_some(),
            &update.container.clone().flatten(),
            &update.workspace.is_some(),
            &update.workspace.clone().flatten(),
            &update.status.map(|s| s.as_str()),
        ],
    )
    .await
    .map_err(|e| at.db(&e))?;
    if changed == 0 {
        return Err(StoreError::not_found("agent", id));
    }
    require(c, at, id).await
}

/// Moves `last_active_at` forward to `when`; fails if the agent does not exist.
pub(crate) async fn touch(
    c: &impl GenericClient,
    at: &Location,
    id: &str,
    when: Timestamp,
) -> Result<(), StoreError> {
    let changed = cached::execute(
        c,
        "UPDATE agents SET last_active_at = greatest(last_active_at, $2) WHERE id = $1",
        &[&id, &ms(when)],
    )
    .await
    .map_err(|e| at.db(&e))?;
    if changed == 0 {
        return Err(StoreError::not_found("agent", id));
    }
    Ok(())
}

/// Deletes the agent; its sessions, calls and threads go with it (ON DELETE CASCADE).
/// Run it in a transaction so the counts match what was deleted.
pub(crate) async fn delete(
    c: &impl GenericClient,
    at: &Location,
    id: &str,
) -> Result<Option<AgentDeleted>, StoreError> {
    let row = cached::query_one(
        c,
        "SELECT (SELECT count(*) FROM sessions WHERE agent_id = $1) AS sessions, \
             (SELECT count(*) FROM calls WHERE agent_id = $1) AS calls, \
             (SELECT count(*) FROM threads WHERE agent_id = $1) AS threads",
        &[&id],
    )
    .await
    .map_err(|e| at.db(&e))?;
    let deleted = AgentDeleted {
        sessions: at.count(&row, "sessions")?,
        calls: at.count(&row, "calls")?,
        threads: at.count(&row, "threads")?,
    };
    let removed = cached::execute(c, "DELETE FROM agents WHERE id = $1", &[&id])
        .await
        .map_err(|e| at.db(&e))?;
    Ok((removed > 0).then_some(deleted))
}

fn session(at: &Location, row: &Row) -> Result<Session, StoreError> {
    Ok(Session {
        id: at.get(row, "id")?,
        agent_id: at.get(row, "agent_id")?,
        client_name: at.get(row, "client_name")?,
        client_version: at.get(row, "client_version")?,
        transport: at.name(row, "transport")?,
        protocol_version: at.get(row, "protocol_version")?,
        opened_at: at.ts(row, "opened_at")?,
        closed_at: at.opt_ts(row, "closed_at")?,
    })
}

/// Inserts a new session of replica `instance`; its agent, when given, must exist.
pub(crate) async fn open_session(
    c: &impl GenericClient,
    at: &Location,
    instance: &str,
    s: &NewSession,
) -> Result<(), StoreError> {
    let inserted = cached::execute(
        c,
        "INSERT INTO sessions (id, agent_id, client_name, client_version, transport, \
             protocol_version, opened_at, instance) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &s.id,
            &s.agent_id,
            &s.client_name,
            &s.client_version,
            &s.transport.as_str(),
            &s.protocol_version,
            &ms(s.opened_at),
            &instance,
        ],
    )
    .await;
    match inserted {
        Ok(_) => Ok(()),
        Err(e) => Err(match constraint(&e) {
            Some(Constraint::Unique) => StoreError::AlreadyExists {
                kind: "session",
                id: s.id.clone(),
            },
            Some(Constraint::ForeignKey) => {
                StoreError::not_found("agent", s.agent_id.clone().unwrap_or_default())
            }
            None => at.db(&e),
        }),
    }
}

/// Sets `closed_at` unless already set.
pub(crate) async fn close_session(
    c: &impl GenericClient,
    at: &Location,
    id: &str,
    when: Timestamp,
) -> Result<(), StoreError> {
    let changed = cached::execute(
        c,
        "UPDATE sessions SET closed_at = coalesce(closed_at, $2) WHERE id = $1",
        &[&id, &ms(when)],
    )
    .await
    .map_err(|e| at.db(&e))?;
    if changed == 0 {
        return Err(StoreError::not_found("session", id));
    }
    Ok(())
}

/// The replica other than `mine` holding session `id` open, if any.
pub(crate) async fn session_elsewhere(
    c: &impl GenericClient,
    at: &Location,
    id: &str,
    mine: &str,
) -> Result<Option<String>, StoreError> {
    let row = cached::query_opt(
        c,
        "SELECT instance FROM sessions \
             WHERE id = $1 AND closed_at IS NULL AND instance IS NOT NULL AND instance <> $2",
        &[&id, &mine],
    )
    .await
    .map_err(|e| at.db(&e))?;
    row.map(|r| at.get(&r, "instance")).transpose()
}

/// Sessions newest first, filtered by agent and openness.
pub(crate) async fn list_sessions(
    c: &impl GenericClient,
    at: &Location,
    agent_id: Option<&str>,
    open_only: bool,
) -> Result<Vec<Session>, StoreError> {
    let rows = cached::query(
        c,
        "SELECT id, agent_id, client_name, client_version, transport, protocol_version, \
             opened_at, closed_at FROM sessions \
             WHERE ($1::text IS NULL OR agent_id = $1) AND (NOT $2 OR closed_at IS NULL) \
             ORDER BY opened_at DESC, seq DESC",
        &[&agent_id, &open_only],
    )
    .await
    .map_err(|e| at.db(&e))?;
    rows.iter().map(|r| session(at, r)).collect()
}

const THREAD: &str = "agent_id, conversation_key, thread_id, created_at, last_used_at";

fn thread(at: &Location, row: &Row) -> Result<Thread, StoreError> {
    Ok(Thread {
        agent_id: at.get(row, "agent_id")?,
        conversation_key: at.get(row, "conversation_key")?,
        thread_id: at.get(row, "thread_id")?,
        created_at: at.ts(row, "created_at")?,
        last_used_at: at.ts(row, "last_used_at")?,
    })
}

/// The mapping for one conversation, or `None`.
pub(crate) async fn get_thread(
    c: &impl GenericClient,
    at: &Location,
    agent_id: &str,
    key: &str,
) -> Result<Option<Thread>, StoreError> {
    let row = cached::query_opt(
        c,
        &format!("SELECT {THREAD} FROM threads WHERE agent_id = $1 AND conversation_key = $2"),
        &[&agent_id, &key],
    )
    .await
    .map_err(|e| at.db(&e))?;
    row.map(|r| thread(at, &r)).transpose()
}

/// Inserts or replaces the mapping. A new thread id restarts `created_at`; the same one
/// only moves `last_used_at` forward.
pub(crate) async fn put_thread(
    c: &impl GenericClient,
    at: &Location,
    agent_id: &str,
    key: &str,
    thread_id: &str,
    when: Timestamp,
) -> Result<Thread, StoreError> {
    let stored = cached::query_one(
        c,
        &format!(
            "INSERT INTO threads ({THREAD}) VALUES ($1, $2, $3, $4, $4) \
                 ON CONFLICT (agent_id, conversation_key) DO UPDATE SET \
                 created_at = CASE WHEN threads.thread_id = excluded.thread_id \
                              THEN threads.created_at ELSE excluded.created_at END, \
                 last_used_at = CASE WHEN threads.thread_id = excluded.thread_id \
                                THEN greatest(threads.last_used_at, excluded.last_used_at) \
                                ELSE excluded.last_used_at END, \
                 thread_id = excluded.thread_id \
                 RETURNING {THREAD}"
        ),
        &[&agent_id, &key, &thread_id, &ms(when)],
    )
    .await;
    match stored {
        Ok(row) => thread(at, &row),
        Err(e) if constraint(&e) == Some(Constraint::ForeignKey) => {
            Err(StoreError::not_found("agent", agent_id))
        }
        Err(e) => Err(at.db(&e)),
    }
}

/// An agent's mappings, most recently used first.
pub(crate) async fn list_threads(
    c: &impl GenericClient,
    at: &Location,
    agent_id: &str,
) -> Result<Vec<Thread>, StoreError> {
    let rows = cached::query(
        c,
        &format!(
            "SELECT {THREAD} FROM threads WHERE agent_id = $1 \
                 ORDER BY last_used_at DESC, conversation_key COLLATE \"C\""
        ),
        &[&agent_id],
    )
    .await
    .map_err(|e| at.db(&e))?;
    rows.iter().map(|r| thread(at, r)).collect()
}

/// Each agent's threads and newest `limit` calls: two statements for any number of
/// agents, sent together on one connection.
pub(crate) async fn activity(
    c: &impl GenericClient,
    at: &Location,
    ids: &[String],
    limit: u32,
) -> Result<HashMap<String, AgentActivity>, StoreError> {
    let mut unique = ids.to_vec();
    unique.sort_unstable();
    unique.dedup();
    let threads = async {
        let rows = cached::query(
            c,
            &format!(
                "SELECT {THREAD} FROM threads WHERE agent_id = ANY($1) \
                 ORDER BY last_used_at DESC, conversation_key COLLATE \"C\""
            ),
            &[&unique],
        )
        .await
        .map_err(|e| at.db(&e))?;
        rows.iter()
            .map(|r| thread(at, r))
            .collect::<Result<Vec<_>, _>>()
    };
    let (threads, calls) = tokio::try_join!(threads, calls::list_each(c, at, &unique, limit))?;
    let mut found: HashMap<String, AgentActivity> = unique
        .into_iter()
        .map(|id| (id, AgentActivity::default()))
        .collect();
    for thread in threads {
        if let Some(activity) = found.get_mut(&thread.agent_id) {
            activity.threads.push(thread);
        }
    }
    for call in calls {
        if let Some(activity) = found.get_mut(&call.agent_id) {
            activity.recent_calls.push(call);
        }
    }
    Ok(found)
}

/// Removes one mapping; returns whether it existed.
pub(crate) async fn forget_thread(
    c: &impl GenericClient,
    at: &Location,
    agent_id: &str,
    key: &str,
) -> Result<bool, StoreError> {
    let removed = cached::execute(
        c,
        "DELETE FROM threads WHERE agent_id = $1 AND conversation_key = $2",
        &[&agent_id, &key],
    )
    .await
    .map_err(|e| at.db(&e))?;
    Ok(removed > 0)
}
