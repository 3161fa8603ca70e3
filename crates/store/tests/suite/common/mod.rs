//! Fixtures shared by the integration tests.

use chrono::{DateTime, Duration, Utc};
use codex_mcp_store::{
    AgentStatus, CallFinish, CallStart, CallStatus, NewAgent, NewSession, Timestamp, Transport,
};

/// A fixed instant (millisecond precision) plus `secs` seconds.
pub fn at(secs: i64) -> Timestamp {
    DateTime::<Utc>::from_timestamp_millis(1_760_000_000_123).unwrap() + Duration::seconds(secs)
}

pub fn agent(id: &str, secs: i64) -> NewAgent {
    NewAgent {
        id: id.into(),
        runtime: "docker".into(),
        container: Some(format!("codex-mcp-{id}")),
        workspace: Some(format!("/workspace/{id}")),
        status: AgentStatus::Running,
        at: at(secs),
    }
}

pub fn session(id: &str, agent: Option<&str>, secs: i64) -> NewSession {
    NewSession {
        id: id.into(),
        agent_id: agent.map(str::to_owned),
        client_name: Some("claude-code".into()),
        client_version: Some("2.1.0".into()),
        transport: Transport::StreamableHttp,
        protocol_version: "2025-06-18".into(),
        opened_at: at(secs),
    }
}

pub fn call(id: &str, agent: &str, session: Option<&str>, secs: i64) -> CallStart {
    CallStart {
        id: id.into(),
        agent_id: agent.into(),
        session_id: session.map(str::to_owned),
        tool: "review".into(),
        arguments_digest: codex_mcp_store::arguments_digest(&serde_json::json!({ "call": id })),
        thread_id: None,
        started_at: at(secs),
    }
}

pub fn finish(status: CallStatus, secs: i64) -> CallFinish {
    CallFinish {
        status,
        finished_at: at(secs),
        error: (status != CallStatus::Succeeded).then(|| format!("ended {status}")),
        duration_ms: 1500,
        tokens_in: Some(100),
        tokens_out: Some(20),
        thread_id: Some("thread-1".into()),
        output: None,
    }
}

/// Which backend a shared test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// `codex-mcp.db` in a temp dir.
    Sqlite,
    /// A database on a private PostgreSQL cluster (testkit's `PgServer`).
    Postgres,
}

/// A store under test, and what keeps its data alive across [`TestStore::reopen`].
pub struct TestStore {
    pub store: std::sync::Arc<dyn codex_mcp_store::SessionStore>,
    /// What opening it recovered from the previous process.
    pub recovered: codex_mcp_store::Recovered,
    backend: Backend,
    dir: tempfile::TempDir,
    pg: Option<codex_mcp_testkit::PgServer>,
}

impl std::ops::Deref for TestStore {
    type Target = dyn codex_mcp_store::SessionStore;

    fn deref(&self) -> &Self::Target {
        &*self.store
    }
}

impl TestStore {
    /// A fresh, empty store; `None` when PostgreSQL is missing outside CI (the test is
    /// reported SKIPPED); under CI=true a missing PostgreSQL fails.
    pub async fn open(backend: Backend) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(codex_mcp_testkit::PgServer::start_or_skip()?),
        };
        let (store, recovered) = Self::connect(backend, &dir, pg.as_ref()).await;
        Some(Self {
            store,
            recovered,
            backend,
            dir,
            pg,
        })
    }

    async fn connect(
        backend: Backend,
        dir: &tempfile::TempDir,
        pg: Option<&codex_mcp_testkit::PgServer>,
    ) -> (
        std::sync::Arc<dyn codex_mcp_store::SessionStore>,
        codex_mcp_store::Recovered,
    ) {
        match (backend, pg) {
            (Backend::Postgres, Some(pg)) => {
                let store = codex_mcp_store::PostgresStore::connect(&pg.url(), "test-replica")
                    .await
                    .unwrap();
                let recovered = store.recovered_at_open();
                (std::sync::Arc::new(store), recovered)
            }
            _ => {
                let store = codex_mcp_store::SqliteStore::open(dir.path()).unwrap();
                let recovered = store.recovered_at_open();
                (std::sync::Arc::new(store), recovered)
            }
        }
    }

    /// Closes the store (as a stopping mcpd does) and opens it again on the same data.
    pub async fn reopen(self) -> Self {
        let Self {
            store,
            backend,
            dir,
            pg,
            ..
        } = self;
        drop(store);
        let (store, recovered) = Self::connect(backend, &dir, pg.as_ref()).await;
        Self {
            store,
            recovered,
            backend,
            dir,
            pg,
        }
    }
}

/// Runs each named `async fn(TestStore)` of the calling module on both backends, as the
/// tests `sqlite::<name>` and `postgres::<name>`, so no test is written twice.
macro_rules! on_both_backends {
    ($($test:ident),+ $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    let store = $crate::suite::common::TestStore::open(
                        $crate::suite::common::Backend::Sqlite,
                    )
                    .await
                    .unwrap();
                    super::$test(store).await;
                }
            )+
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn $test() {
                    let Some(store) = $crate::suite::common::TestStore::open(
                        $crate::suite::common::Backend::Postgres,
                    )
                    .await
                    else {
                        return;
                    };
                    super::$test(store).await;
                }
            )+
        }
    };
}
pub(crate) use on_both_backends;
pub fn new_task(id: &str, owner: &str, agent: Option<&str>, secs: i64) -> codex_mcp_store::NewTask {
    codex_mcp_store::NewTask {
        id: id.into(),
        owner: owner.into(),
        agent_id: agent.map(str::to_owned),
        tool: "review".into(),
        call_id: Some(format!("call-{id}")),
        created_at: at(secs),
        ttl_ms: Some(60_000),
        poll_interval_ms: Some(1_000),
        status_message: None,
    }
}
