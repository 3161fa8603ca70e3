//! Tasks cancelled through another replica. A replica that does not run a task can still
//! cancel it (`tasks/cancel`, `cancel_job`): it ends the task `cancelled` in the shared
//! store ([`TaskTable::cancel_stored`]). The replica running it notices here, on a short
//! tick, and stops the work, so the Codex process goes as with a cancel sent to it.

use std::sync::Arc;
use std::time::Duration;

use codex_mcp_protocol::tasks_ext::TaskStatus;

use super::{TaskEntry, TaskTable};
use crate::server::task_durable::{self, owner_key};

/// How often a replica looks for its running tasks cancelled elsewhere.
pub(crate) const CHECK_EVERY: Duration = Duration::from_secs(1);

impl TaskTable {
    /// Stops every task this process runs that the store says was cancelled (by another
    /// replica). One store read per running task; nothing without a store or tasks.
    pub(crate) async fn stop_cancelled_elsewhere(&self) {
        let Some(durable) = &self.durable else {
            return;
        };
        let running: Vec<Arc<TaskEntry>> = self
            .tasks
            .lock()
            .values()
            .filter(|t| {
                matches!(
                    t.state.lock().status,
                    TaskStatus::Working | TaskStatus::InputRequired
                )
            })
            .cloned()
            .collect();
        for task in running {
            let owner = owner_key(task.owner.as_deref());
            match task_durable::read(durable.store.as_ref(), &owner, &task.id).await {
                Ok(Some(stored)) if stored.status == codex_mcp_store::TaskStatus::Cancelled => {
                    tracing::info!(task = %task.id, "task cancelled through another replica: stopping it");
                    task.cancel();
                }
                // Not flushed yet, still running, or ended by this process meanwhile.
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(task = %task.id, error = %e.message, "could not check a task")
                }
            }
        }
    }
}
