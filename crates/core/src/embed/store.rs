//! The session store: SQLite in the data dir by default, or a PostgreSQL database when a
//! URL is given; opened at startup (refusing to start, with the file or database and the
//! fix named, when it cannot be used) and pruned by the retention setting.

use std::sync::Arc;
use std::time::Duration;

use std::path::Path;

use codex_mcp_store::{PostgresStore, SessionStore, SqliteStore};

use super::{EmbedError, file_modes};

/// How often old call records are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Opens `codex-mcp.db` in the data dir, the dir private (0700) and the database
/// files too (0600; see `file_modes`). Calls a previous process left running are
/// marked interrupted here, before anything new is recorded.
pub async fn open(data_dir: &Path) -> Result<Arc<dyn SessionStore>, EmbedError> {
    let dir = data_dir.to_path_buf();
    file_modes::create_data_dir(&dir);
    let store = tokio::task::spawn_blocking(move || SqliteStore::open(&dir))
        .await
        .map_err(|e| EmbedError::DataDir {
            dir: data_dir.to_path_buf(),
            why: format!("opening the session store did not finish: {e}"),
        })?
        .map_err(|source| EmbedError::Store {
            dir: data_dir.to_path_buf(),
            source,
        })?;
    file_modes::secure_data_dir(data_dir).map_err(|e| EmbedError::DataDir {
        dir: data_dir.to_path_buf(),
        why: format!("cannot make it and its database private (modes 0700, 0600): {e}"),
    })?;
    let recovered = store.recovered_at_open();
    tracing::info!(
        path = %store.path().display(),
        interrupted_calls = recovered.calls,
        closed_sessions = recovered.sessions,
        failed_tasks = recovered.tasks,
        full_integrity_check = store.checked_at_open(),
        "session store open"
    );
    Ok(Arc::new(store))
}

/// How often a replica looks for calls left running by replicas that are gone.
const SWEEP_EVERY: Duration = Duration::from_secs(5);

/// The replica name of an mcpd that was given none: this host and its data dir, so a
/// restarted process takes over its own name and two data dirs are two replicas.
pub fn default_replica_name(data_dir: &Path) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{host}:{}", data_dir.display())
}

/// Connects to the PostgreSQL database at `url` (mcpd: `CODEX_MCP_DATABASE_URL`) as
/// replica `replica`, migrating it; calls a previous process of that name or a gone
/// replica left running are marked interrupted here, and then every few seconds (a
/// replica killed mid-call). Requires a Tokio runtime.
pub async fn connect(url: &str, replica: &str) -> Result<Arc<dyn SessionStore>, EmbedError> {
    let store = PostgresStore::connect(url, replica)
        .await
        .map_err(EmbedError::Database)?;
    let recovered = store.recovered_at_open();
    tracing::info!(
        database = %store.location(),
        replica = %store.replica(),
        interrupted_calls = recovered.calls,
        closed_sessions = recovered.sessions,
        "session store open"
    );
    let store: Arc<dyn SessionStore> = Arc::new(store);
    spawn_sweeper(Arc::downgrade(&store));
    Ok(store)
}

/// Sweeps for calls of gone replicas every [`SWEEP_EVERY`] while the store lives.
fn spawn_sweeper(store: std::sync::Weak<dyn SessionStore>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(store) = store.upgrade() else { return };
            match store.sweep_interrupted(codex_mcp_store::now()).await {
                Ok(r) if r.calls > 0 || r.sessions > 0 => tracing::warn!(
                    calls = r.calls,
                    sessions = r.sessions,
                    "marked calls of a replica that is gone as interrupted"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not sweep for calls of gone replicas"),
            }
        }
    });
}

/// Prunes call records older than `days` (mcpd: `CODEX_MCP_CALL_RETENTION_DAYS`) now and
/// every hour (nothing when it is 0). Requires a Tokio runtime.
pub fn spawn_retention(store: Arc<dyn SessionStore>, days: u64) {
    if days == 0 {
        return;
    }
    let age = Duration::from_secs(days.saturating_mul(86_400));
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PRUNE_EVERY);
        loop {
            tick.tick().await;
            match store.prune_calls_older_than(age).await {
                Ok(p) if p.calls > 0 || p.sessions > 0 => tracing::info!(
                    calls = p.calls,
                    sessions = p.sessions,
                    days,
                    "pruned old call records (CODEX_MCP_CALL_RETENTION_DAYS)"
                ),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not prune old call records"),
            }
        }
    });
}

/// Before anything is recorded or run: stops every Codex run a previous process left in
/// `runtime` but those of the tasks the store kept to re-attach and those of live
/// replicas sharing the runtime; returns the kept tasks, for the engine to take over.
pub(super) async fn reap_left_runs(
    store: &dyn SessionStore,
    runtime: &dyn codex_mcp_runtime::AgentRuntime,
) -> Result<Vec<codex_mcp_store::LeftTask>, EmbedError> {
    let left = store
        .left_running()
        .await
        .map_err(EmbedError::LeftRunning)?;
    let mut keep: Vec<String> = left.iter().map(|t| t.call_id.clone()).collect();
    keep.extend(
        store
            .live_runs_elsewhere()
            .await
            .map_err(EmbedError::LeftRunning)?,
    );
    runtime.reap_left_runs(&keep).await?;
    Ok(left)
}
