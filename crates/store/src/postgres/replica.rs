//! Replicas sharing one database: each mcpd claims a name with a session-level advisory
//! lock held on a connection of its own for its whole life. PostgreSQL drops the lock the
//! moment that connection goes (the process exited or was killed), so "is replica X
//! alive?" is "is X's lock taken?", with no heartbeats and no clocks. Recovery uses it to
//! interrupt only the calls of replicas that are gone.

use std::time::Duration;

use crate::error::StoreError;
use crate::model::{Recovered, Timestamp};
use crate::postgres::calls;
use crate::postgres::failure::Location;
use crate::postgres::resume;

/// First key of every replica lock ("CMCP"); the second is `hashtext(name)`.
const REPLICA_LOCKS: i32 = 0x434d_4350;

/// How long to wait for a previous process's lock to go (a restart races the server
/// noticing that the old connection closed).
const LOCK_WAIT: Duration = Duration::from_secs(3);

/// This process's claim on its replica name.
pub(crate) struct Replica {
    /// The name (`CODEX_MCP_REPLICA_NAME`, or host and data dir).
    pub(crate) name: String,
    /// The connection holding the lock; dropping it releases the lock.
    lock: tokio_postgres::Client,
}

impl Replica {
    /// Claims `name`, waiting briefly for a previous process of that name to be noticed
    /// gone; a live one is [`StoreError::DatabaseInUse`].
    pub(crate) async fn claim(
        lock: tokio_postgres::Client,
        at: &Location,
        name: &str,
    ) -> Result<Self, StoreError> {
        let deadline = tokio::time::Instant::now() + LOCK_WAIT;
        loop {
            if try_lock(&lock, at, Some(name)).await? {
                return Ok(Self {
                    name: name.to_owned(),
                    lock,
                });
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(StoreError::DatabaseInUse {
                    location: at.0.clone(),
                    instance: name.to_owned(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Interrupts the calls and closes the sessions of every replica that is gone, and
    /// of this one too when `including_mine` (at startup: what this name recorded before
    /// belongs to a previous process).
    pub(crate) async fn sweep(
        &self,
        c: &mut deadpool_postgres::Client,
        at: &Location,
        when: Timestamp,
        including_mine: bool,
    ) -> Result<Recovered, StoreError> {
        let mut total = Recovered::default();
        for instance in calls::instances_with_work(&*c, at).await? {
            let mine = instance.as_deref() == Some(self.name.as_str());
            if mine && !including_mine {
                continue;
            }
            // Holding the gone replica's lock while its rows are updated keeps a
            // restarting replica of that name from recording meanwhile.
            let held = !mine && instance.is_some();
            if held && !try_lock(&self.lock, at, instance.as_deref()).await? {
                continue;
            }
            let recovered = recover_one(c, at, instance.as_deref(), when, mine).await;
            if held {
                unlock(&self.lock, at, instance.as_deref()).await?;
            }
            let recovered = recovered?;
            total.calls += recovered.calls;
            total.sessions += recovered.sessions;
            total.tasks += recovered.tasks;
        }
        Ok(total)
    }
}

impl Replica {
    /// The running calls of the other replicas that are alive (their lock is taken):
    /// runs this replica must not stop when it adopts a shared container engine.
    pub(crate) async fn live_runs_elsewhere(
        &self,
        c: &deadpool_postgres::Client,
        at: &Location,
    ) -> Result<Vec<String>, StoreError> {
        let mut runs = Vec::new();
        for instance in calls::instances_with_work(c, at).await? {
            let Some(name) = instance.filter(|n| *n != self.name) else {
                continue;
            };
            // Taking the lock means the replica is gone: its calls are no one's runs.
            if try_lock(&self.lock, at, Some(&name)).await? {
                unlock(&self.lock, at, Some(&name)).await?;
                continue;
            }
            runs.extend(resume::running_calls(c, at, &name).await?);
        }
        Ok(runs)
    }
}

async fn recover_one(
    c: &mut deadpool_postgres::Client,
    at: &Location,
    instance: Option<&str>,
    when: Timestamp,
    keep_resumable: bool,
) -> Result<Recovered, StoreError> {
    let tx = c.transaction().await.map_err(|e| at.db(&e))?;
    let recovered = calls::recover(&tx, at, instance, when, keep_resumable).await?;
    tx.commit().await.map_err(|e| at.db(&e))?;
    Ok(recovered)
}

async fn try_lock(
    lock: &tokio_postgres::Client,
    at: &Location,
    name: Option<&str>,
) -> Result<bool, StoreError> {
    let row = lock
        .query_one(
            "SELECT pg_try_advisory_lock($1, hashtext($2)) AS taken",
            &[&REPLICA_LOCKS, &name],
        )
        .await
        .map_err(|e| at.db(&e))?;
    at.get(&row, "taken")
}

async fn unlock(
    lock: &tokio_postgres::Client,
    at: &Location,
    name: Option<&str>,
) -> Result<(), StoreError> {
    lock.execute(
        "SELECT pg_advisory_unlock($1, hashtext($2))",
        &[&REPLICA_LOCKS, &name],
    )
    .await
    .map(drop)
    .map_err(|e| at.db(&e))
}
