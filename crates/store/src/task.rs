//! The records of durable tasks: MCP tasks (`tools/call` with `params.task`) and
//! background jobs (`"background": true`) are the same record.
//!
//! A task belongs to an owner (the token scope it was created under, chosen by the
//! caller) and is only visible to that owner, so another token's task id reads like an
//! unknown id. It outlives the session that created it and the process (a restart
//! marks it `failed`), and it is deleted once its TTL has passed and it has ended.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::{Timestamp, UnknownValue, string_enum};

string_enum! {
    /// Where a task stands; the names are MCP's `TaskStatus` values.
    pub enum TaskStatus {
        /// The work is running.
        Working = "working",
        /// The work waits for input from the client.
        InputRequired = "input_required",
        /// The work ended with a result.
        Completed = "completed",
        /// The work ended with an error (including a restart of mcpd).
        Failed = "failed",
        /// The client cancelled it.
        Cancelled = "cancelled",
    }
}

impl TaskStatus {
    /// Whether the task has ended (`completed`, `failed` or `cancelled`).
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }
}

/// A task as it is created (status `working`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewTask {
    /// The task id, chosen by the caller (unique).
    pub id: String,
    /// Whose task it is: the caller's token scope (any non-empty string; the same for
    /// every session of one token, one value when no tokens are configured).
    pub owner: String,
    /// The agent it runs for; must exist when given.
    pub agent_id: Option<String>,
    /// The tool it runs.
    pub tool: String,
    /// The correlation id of the tool call doing the work, if known.
    pub call_id: Option<String>,
    /// When it was created; also its first `updated_at`.
    pub created_at: Timestamp,
    /// How long after creation it is kept, in milliseconds; `None` keeps it forever.
    pub ttl_ms: Option<u64>,
    /// How often the client should poll, in milliseconds.
    pub poll_interval_ms: Option<u64>,
    /// The first status message, if any.
    pub status_message: Option<String>,
}

/// A task as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// The task id.
    pub id: String,
    /// Whose task it is.
    pub owner: String,
    /// The agent it runs for.
    pub agent_id: Option<String>,
    /// The tool it runs.
    pub tool: String,
    /// The tool call doing the work.
    pub call_id: Option<String>,
    /// Where it stands.
    pub status: TaskStatus,
    /// The latest progress or status message.
    pub status_message: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When its status or message last changed.
    pub updated_at: Timestamp,
    /// How long after creation it is kept, in milliseconds; `None` forever.
    pub ttl_ms: Option<u64>,
    /// The suggested polling interval, in milliseconds.
    pub poll_interval_ms: Option<u64>,
    /// The result the work produced (for MCP, the whole `CallToolResult`), once ended.
    pub result: Option<serde_json::Value>,
    /// Why it failed or was cancelled, once ended that way.
    pub error: Option<String>,
}

/// The error recorded on a call that was running when its server stopped and that no
/// restarted server finished.
pub const CALL_INTERRUPTED: &str = "mcpd stopped while this call was running";

/// The error (and status message) of a task that was running when its server stopped
/// and whose work could not be re-attached.
pub const TASK_INTERRUPTED: &str = "the server restarted while this task was running; run it again";

/// A task a previous process of this server left running with its call's Codex run
/// possibly still alive: what a restarted server needs to re-attach to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftTask {
    /// The task as stored (`working` or `input_required`, with its `call_id`).
    pub task: Task,
    /// The call doing its work, still `running` in the store.
    pub call_id: String,
    /// The agent the call runs as.
    pub agent_id: String,
    /// The tool call's arguments, as received.
    pub arguments: serde_json::Value,
}

/// A change to a running task: its status (`working` or `input_required`) and message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskProgress {
    /// The new non-terminal status.
    pub status: TaskStatus,
    /// The new status message; `None` keeps the previous one.
    pub status_message: Option<String>,
    /// When it changed.
    pub at: Timestamp,
}

/// How a task ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFinish {
    /// `completed`, `failed` or `cancelled`.
    pub status: TaskStatus,
    /// The final status message; `None` keeps the previous one.
    pub status_message: Option<String>,
    /// The result to hand out (a failed tool call has one too: its error result).
    pub result: Option<serde_json::Value>,
    /// Why it failed or was cancelled.
    pub error: Option<String>,
    /// When it ended.
    pub at: Timestamp,
}

/// One page of an owner's tasks, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskPage {
    /// The tasks on this page.
    pub tasks: Vec<Task>,
    /// The cursor for the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn task_status_names_round_trip_and_terminal_ones_are_known() {
        for status in TaskStatus::ALL {
            assert_eq!(status.as_str().parse::<TaskStatus>(), Ok(*status));
        }
        let terminal: Vec<_> = TaskStatus::ALL
            .iter()
            .filter(|s| s.is_terminal())
            .map(|s| s.as_str())
            .collect();
        assert_eq!(terminal, vec!["completed", "failed", "cancelled"]);
        assert_eq!(
            "done".parse::<TaskStatus>(),
            Err(UnknownValue {
                kind: "TaskStatus",
                value: "done".into()
            })
        );
    }
}
