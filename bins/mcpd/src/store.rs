//! The session store of this data dir: opened at startup (refusing to start, with the
//! file and the fix named, when it cannot be used) and pruned by the retention setting.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use codex_mcp_store::{SessionStore, SqliteStore};

use crate::settings::Settings;

/// How often old call records are pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Opens `codex-mcp.db` in the data dir, the dir private (0700) and the database
/// files too (0600; see `file_modes`). Calls a previous process left running are
/// marked interrupted here, before anything new is recorded.
pub async fn open(settings: &Settings) -> anyhow::Result<Arc<dyn SessionStore>> {
    let dir = settings.data_dir.clone();
    crate::file_modes::create_data_dir(&dir);
    let store = tokio::task::spawn_blocking(move || SqliteStore::open(&dir))
        .await
        .context("opening the session store")??;
    crate::file_modes::secure_data_dir(&settings.data_dir).with_context(|| {
        format!(
            "CODEX_MCP_DATA_DIR={}: cannot make it and its database private (modes 0700, 0600)",
            settings.data_dir.display()
        )
    })?;
    let recovered = store.recovered_at_open();
    tracing::info!(
        path = %store.path().display(),
        interrupted_calls = recovered.calls,
        closed_sessions = recovered.sessions,
        "session store open"
    );
    Ok(Arc::new(store))
}

/// Prunes call records older than `CODEX_MCP_CALL_RETENTION_DAYS` now and every hour
/// (nothing when it is 0).
pub fn spawn_retention(store: Arc<dyn SessionStore>, settings: &Settings) {
    let days = settings.call_retention_days;
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
