//! The PostgreSQL backend, for deployments that keep their record in a database server
//! (`CODEX_MCP_DATABASE_URL=postgres://...`).
//!
//! A pool of connections (deadpool) runs each store operation as one statement or one
//! transaction. The schema mirrors SQLite's (module `migrations`), so both backends keep
//! the same records with the same semantics; the shared store test suite runs on both.
//!
//! Several mcpd replicas may share one database, each under its own replica name (module
//! `replica`): calls and sessions record which replica made them, and recovery
//! interrupts only those of replicas that are gone.

mod agents;
mod cached;
mod calls;
mod conversation_lock;
mod failure;
mod migrations;
mod replica;
mod resume;
mod shared_login;
mod tasks;

use std::collections::HashMap;
use std::fmt;

use chrono::Utc;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

use crate::conversation_hold::ConversationHold;
use crate::error::StoreError;
use crate::model::{
    Agent, AgentActivity, AgentDeleted, AgentPage, AgentUpdate, Call, CallFinish, CallOutput,
    CallStart, NewAgent, NewSession, OutputEntry, Pruned, Recovered, Session, Thread, Timestamp,
};
use crate::session_store::SessionStore;
use crate::task::{LeftTask, NewTask, Task, TaskFinish, TaskPage, TaskProgress};
use crate::task_store::TaskStore;
use failure::{Location, reason};
use replica::Replica;

/// Connections in the pool: enough for concurrent calls, few for the server.
const POOL_SIZE: usize = 16;

/// Rows deleted per pruning statement, so pruning never holds locks for long.
const PRUNE_CHUNK: i64 = 2000;

/// The PostgreSQL-backed [`SessionStore`].
pub struct PostgresStore {
    pool: Pool,
    /// How to open the connections that hold conversation locks (outside the pool).
    config: tokio_postgres::Config,
    at: Location,
    recovered: Recovered,
    // Holds this replica's name for as long as the store lives; dropping it closes the
    // lock connection and releases the name.
    replica: Replica,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("location", &self.at.0)
            .field("replica", &self.replica.name)
            .field("recovered", &self.recovered)
            .finish_non_exhaustive()
    }
}

/// `postgres://host:port/name` of a connection URL: what logs and errors may show
/// (never the user's password).
pub fn redacted_location(url: &str) -> String {
    match url.parse::<tokio_postgres::Config>() {
        Ok(config) => location_of(&config),
        Err(_) => "postgres://(unparsable URL)".to_owned(),
    }
}

fn location_of(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("postgres://{host}:{port}/{db}")
}

impl PostgresStore {
    /// The schema version this build writes (the migrations it knows).
    pub fn schema_version() -> i64 {
        i64::try_from(migrations::MIGRATIONS.len()).unwrap_or(i64::MAX)
    }

    /// Connects to the database at `url` (a `postgres://` URL or a libpq key=value
    /// string) as the replica `replica` (unique among the processes sharing the
    /// database), migrates it, and marks `interrupted` the calls left running by a
    /// previous process of that name and by replicas that are gone. Fails with a typed
    /// error naming the database (never the password) and the fix.
    pub async fn connect(url: &str, replica: &str) -> Result<Self, StoreError> {
        if replica.is_empty() {
            return Err(StoreError::invalid("replica name", "it is empty"));
        }
        let config: tokio_postgres::Config = url.parse().map_err(|e| {
            StoreError::invalid(
                "CODEX_MCP_DATABASE_URL",
                format!("not a PostgreSQL connection string ({e})"),
            )
        })?;
        let at = Location(location_of(&config));
        let unreachable = |e: &tokio_postgres::Error| StoreError::Unreachable {
            location: at.0.clone(),
            reason: reason(e),
        };
        let (lock, connection) = config.connect(NoTls).await.map_err(|e| unreachable(&e))?;
        let location = at.0.clone();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::warn!(location, error = %e, "the PostgreSQL lock connection ended");
            }
        });
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| StoreError::invalid("CODEX_MCP_DATABASE_URL", e.to_string()))?;
        let mut client = pool.get().await.map_err(|e| at.pool(&e))?;
        migrations::migrate(&mut client, &at.0, migrations::MIGRATIONS).await?;
        let replica = Replica::claim(lock, &at, replica).await?;
        let recovered = replica.sweep(&mut client, &at, Utc::now(), true).await?;
        if recovered.calls > 0 || recovered.sessions > 0 {
            tracing::warn!(
                location = %at.0,
                calls = recovered.calls,
                sessions = recovered.sessions,
                replica = %replica.name,
                "marked calls left running by a previous mcpd as interrupted"
            );
        }
        Ok(Self {
            pool,
            config,
            at,
            recovered,
            replica,
        })
    }

    /// What [`Self::connect`] recovered from a previous process.
    pub fn recovered_at_open(&self) -> Recovered {
        self.recovered
    }

    /// The database, as `postgres://host:port/name` (never the password).
    pub fn location(&self) -> &str {
        &self.at.0
    }

    /// The replica name this process holds.
    pub fn replica(&self) -> &str {
        &self.replica.name
    }

    async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        self.pool.get().await.map_err(|e| self.at.pool(&e))
    }
}

/// Runs `$body` with `$tx` bound to a transaction on a pooled connection, committing
/// when it succeeds (an error drops, so rolls back, the transaction).
macro_rules! in_transaction {
    ($self:ident, |$tx:ident| $body:expr) => {{
        let mut client = $self.client().await?;
        let $tx = client.transaction().await.map_err(|e| $self.at.db(&e))?;
        let value = $body;
        $tx.commit().await.map_err(|e| $self.at.db(&e))?;
        Ok(value)
    }};
}

#[async_trait::async_trait]
impl TaskStore for PostgresStore {
    async fn create_task(&self, task: NewTask) -> Result<Task, StoreError> {
        tasks::create(&self.client().await?, &self.at, &self.replica.name, &task).await
    }

    async fn get_task(&self, owner: &str, id: &str) -> Result<Option<Task>, StoreError> {
        tasks::get(&self.client().await?, &self.at, owner, id).await
    }

    async fn list_tasks(
        &self,
        owner: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<TaskPage, StoreError> {
        tasks::list(&self.client().await?, &self.at, owner, cursor, limit).await
    }

    async fn update_task(&self, id: &str, progress: TaskProgress) -> Result<Task, StoreError> {
        tasks::update(&self.client().await?, &self.at, id, &progress).await
    }

    async fn finish_task(&self, id: &str, finish: TaskFinish) -> Result<Task, StoreError> {
        tasks::finish(&self.client().await?, &self.at, id, &finish).await
    }

    async fn expire_tasks(&self, now: Timestamp) -> Result<u64, StoreError> {
        tasks::expire(&self.client().await?, &self.at, now).await
    }

    async fn bind_task_call(
        &self,
        id: &str,
        call_id: &str,
        arguments: &serde_json::Value,
    ) -> Result<(), StoreError> {
        resume::bind(&self.client().await?, &self.at, id, call_id, arguments).await
    }

    async fn left_running(&self) -> Result<Vec<LeftTask>, StoreError> {
        resume::left_running(&self.client().await?, &self.at, &self.replica.name).await
    }

    async fn fail_left_running(&self, task: &LeftTask, at: Timestamp) -> Result<(), StoreError> {
        resume::fail(&self.client().await?, &self.at, task, at).await
    }
}

#[async_trait::async_trait]
impl SessionStore for PostgresStore {
    async fn ensure_agent(&self, agent: NewAgent) -> Result<Agent, StoreError> {
        agents::ensure(&self.client().await?, &self.at, &agent).await
    }

    async fn update_agent(&self, id: &str, update: AgentUpdate) -> Result<Agent, StoreError> {
        agents::update(&self.client().await?, &self.at, id, &update).await
    }

    async fn touch_agent(&self, id: &str, at: Timestamp) -> Result<(), StoreError> {
        agents::touch(&self.client().await?, &self.at, id, at).await
    }

    async fn get_agent(&self, id: &str) -> Result<Option<Agent>, StoreError> {
        agents::get(&self.client().await?, &self.at, id).await
    }

    async fn list_agents(&self) -> Result<Vec<Agent>, StoreError> {
        agents::list(&self.client().await?, &self.at).await
    }

    async fn list_agents_page(&self, offset: u64, limit: u32) -> Result<AgentPage, StoreError> {
        agents::page(&self.client().await?, &self.at, offset, limit).await
    }

    async fn get_agents(&self, ids: &[String]) -> Result<Vec<Agent>, StoreError> {
        agents::get_many(&self.client().await?, &self.at, ids).await
    }

    async fn delete_agent(&self, id: &str) -> Result<Option<AgentDeleted>, StoreError> {
        in_transaction!(self, |tx| agents::delete(&tx, &self.at, id).await?)
    }

    async fn open_session(&self, session: NewSession) -> Result<(), StoreError> {
        agents::open_session(
            &self.client().await?,
            &self.at,
            &self.replica.name,
            &session,
        )
        .await
    }

    async fn close_session(&self, id: &str, at: Timestamp) -> Result<(), StoreError> {
        agents::close_session(&self.client().await?, &self.at, id, at).await
    }

    async fn list_sessions(
        &self,
        agent_id: Option<&str>,
        open_only: bool,
    ) -> Result<Vec<Session>, StoreError> {
        agents::list_sessions(&self.client().await?, &self.at, agent_id, open_only).await
    }

    async fn session_elsewhere(&self, id: &str) -> Result<Option<String>, StoreError> {
        agents::session_elsewhere(&self.client().await?, &self.at, id, &self.replica.name).await
    }

    async fn start_call(&self, call: CallStart) -> Result<(), StoreError> {
        in_transaction!(self, |tx| calls::start(
            &tx,
            &self.at,
            &self.replica.name,
            &call
        )
        .await?)
    }

    async fn finish_call(&self, id: &str, finish: CallFinish) -> Result<(), StoreError> {
        in_transaction!(self, |tx| calls::finish(&tx, &self.at, id, &finish).await?)
    }

    async fn get_call_output(&self, id: &str) -> Result<Option<CallOutput>, StoreError> {
        calls::output(&self.client().await?, &self.at, id).await
    }

    async fn get_call(&self, id: &str) -> Result<Option<Call>, StoreError> {
        calls::get(&self.client().await?, &self.at, id).await
    }

    async fn list_calls(&self, agent_id: &str, limit: u32) -> Result<Vec<Call>, StoreError> {
        calls::list(&self.client().await?, &self.at, agent_id, limit).await
    }

    async fn list_agent_outputs(
        &self,
        agent_id: &str,
        limit: u32,
    ) -> Result<Vec<OutputEntry>, StoreError> {
        calls::list_with_output(&self.client().await?, &self.at, agent_id, limit).await
    }

    async fn get_thread(
        &self,
        agent_id: &str,
        conversation_key: &str,
    ) -> Result<Option<Thread>, StoreError> {
        agents::get_thread(&self.client().await?, &self.at, agent_id, conversation_key).await
    }

    async fn put_thread(
        &self,
        agent_id: &str,
        conversation_key: &str,
        thread_id: &str,
        at: Timestamp,
    ) -> Result<Thread, StoreError> {
        let client = self.client().await?;
        agents::put_thread(&client, &self.at, agent_id, conversation_key, thread_id, at).await
    }

    async fn list_threads(&self, agent_id: &str) -> Result<Vec<Thread>, StoreError> {
        agents::list_threads(&self.client().await?, &self.at, agent_id).await
    }

    async fn agents_activity(
        &self,
        ids: &[String],
        calls: u32,
    ) -> Result<HashMap<String, AgentActivity>, StoreError> {
        agents::activity(&self.client().await?, &self.at, ids, calls).await
    }

    async fn forget_thread(
        &self,
        agent_id: &str,
        conversation_key: &str,
    ) -> Result<bool, StoreError> {
        agents::forget_thread(&self.client().await?, &self.at, agent_id, conversation_key).await
    }

    async fn recover_interrupted(&self, at: Timestamp) -> Result<Recovered, StoreError> {
        let mut client = self.client().await?;
        self.replica.sweep(&mut client, &self.at, at, true).await
    }

    async fn sweep_interrupted(&self, at: Timestamp) -> Result<Recovered, StoreError> {
        let mut client = self.client().await?;
        self.replica.sweep(&mut client, &self.at, at, false).await
    }

    async fn live_runs_elsewhere(&self) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        self.replica.live_runs_elsewhere(&client, &self.at).await
    }

    async fn prune_before(&self, cutoff: Timestamp) -> Result<Pruned, StoreError> {
        let client = self.client().await?;
        let mut pruned = Pruned::default();
        loop {
            let n = calls::prune_calls(&client, &self.at, cutoff, PRUNE_CHUNK).await?;
            pruned.calls += n;
            if n < PRUNE_CHUNK.unsigned_abs() {
                break;
            }
        }
        loop {
            let n = calls::prune_sessions(&client, &self.at, cutoff, PRUNE_CHUNK).await?;
            pruned.sessions += n;
            if n < PRUNE_CHUNK.unsigned_abs() {
                break;
            }
        }
        Ok(pruned)
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.client()
            .await?
            .simple_query("SELECT 1")
            .await
            .map(drop)
            .map_err(|e| self.at.db(&e))
    }

    async fn hold_conversation(
        &self,
        agent_id: &str,
        conversation_key: &str,
    ) -> Result<ConversationHold, StoreError> {
        let key = format!("{agent_id}\n{conversation_key}");
        conversation_lock::hold(
            &self.config,
            &self.at,
            conversation_lock::CONVERSATION_LOCKS,
            &key,
        )
        .await
    }

    async fn hold_login_refresh(&self) -> Result<ConversationHold, StoreError> {
        conversation_lock::hold(
            &self.config,
            &self.at,
            conversation_lock::LOGIN_REFRESH,
            "login",
        )
        .await
    }

    async fn shared_login(&self) -> Result<Option<Vec<u8>>, StoreError> {
        let client = self.client().await?;
        shared_login::load(&client, &self.at).await
    }

    async fn publish_login(&self, auth_json: &[u8]) -> Result<(), StoreError> {
        let client = self.client().await?;
        shared_login::publish(&client, &self.at, auth_json, &self.replica.name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_location_never_shows_the_password() {
        assert_eq!(
            redacted_location("postgres://alice:s3cret@db.internal:6543/codex?sslmode=disable"),
            "postgres://db.internal:6543/codex"
        );
        assert_eq!(
            redacted_location("host=127.0.0.1 user=bob password=hunter2"),
            "postgres://127.0.0.1:5432/bob"
        );
        assert_eq!(
            redacted_location("mysql://nope"),
            "postgres://(unparsable URL)"
        );
    }
}
