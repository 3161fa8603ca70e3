//! Tasks taken over by a restarted server: the call bound to a task (so a restart can
//! re-attach to it), and the table entry of a task a previous process left running.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Map, Value};

use super::{TaskEntry, TaskTable};
use crate::server::task_durable::{self, Write};

impl TaskTable {
    /// Takes over a running task of the store that a previous process of this server
    /// left (it is re-attached to its work): held here again, changes written through.
    pub(crate) fn resume(&self, stored: &codex_mcp_store::Task) -> Arc<TaskEntry> {
        // A task without a TTL (none of this engine's) is kept as long as any may be.
        let ttl = stored
            .ttl_ms
            .map_or(super::MAX_TASK_TTL, Duration::from_millis);
        let owner = task_durable::owner_of_key(&stored.owner);
        let mut entry = self.entry(
            stored.id.clone(),
            owner,
            stored.created_at,
            ttl,
            stored.status_message.clone(),
        );
        // Its TTL counts from its creation, as before the restart.
        let age = (Utc::now() - stored.created_at)
            .to_std()
            .unwrap_or(Duration::ZERO);
        entry.expires = Instant::now() + ttl.saturating_sub(age);
        self.insert(Arc::new(entry))
    }
}

impl TaskEntry {
    /// Records the call doing this task's work and its arguments in the store, so a
    /// restarted server can re-attach to the call and finish the task.
    pub(crate) fn bind_call(&self, call_id: &str, arguments: &Map<String, Value>) {
        if let Some(writer) = &self.writer {
            writer.send(Write::Bind(
                self.id.clone(),
                call_id.to_string(),
                Value::Object(arguments.clone()),
            ));
        }
    }
}
