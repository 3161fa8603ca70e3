//! The records the store keeps, as plain serde data.
//!
//! Times are `chrono::DateTime<Utc>` ([`Timestamp`]) and are kept to the millisecond:
//! a value read back equals the value written once both are truncated to milliseconds
//! (see [`crate::now`]). Token counts and durations are `u64`; ids are the caller's
//! strings (agent ids, MCP session ids, call correlation ids, Codex thread ids).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A point in time, kept by the store with millisecond precision.
pub type Timestamp = DateTime<Utc>;

/// Declares a string-valued enum with its wire names, `as_str`, `Display` and `FromStr`,
/// so the database text and the serde name can never drift apart.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+ }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The name used on the wire and in the database.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err(UnknownValue {
                        kind: stringify!($name),
                        value: other.to_owned(),
                    }),
                }
            }
        }
    };
}
pub(crate) use string_enum;

/// A string that names no value of the enum it was parsed as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownValue {
    /// The enum's name.
    pub kind: &'static str,
    /// The text that did not match.
    pub value: String,
}

string_enum! {
    /// Where an agent's environment stands, as last reported by the runtime.
    pub enum AgentStatus {
        /// Its environment is being created.
        Starting = "starting",
        /// Its environment exists and can run Codex.
        Running = "running",
        /// Its environment exists but is stopped (it restarts on the next call).
        Stopped = "stopped",
        /// Creating or starting its environment failed.
        Failed = "failed",
        /// Its environment was cleaned up; its history is kept until the agent is deleted.
        Removed = "removed",
    }
}

string_enum! {
    /// How a tool call ended, or that it has not ended yet.
    pub enum CallStatus {
        /// In progress.
        Running = "running",
        /// Returned a result.
        Succeeded = "succeeded",
        /// Returned an error.
        Failed = "failed",
        /// The client cancelled it.
        Cancelled = "cancelled",
        /// It ran past its deadline and was stopped.
        TimedOut = "timed_out",
        /// mcpd stopped while it was running; marked at the next start.
        Interrupted = "interrupted",
    }
}

impl CallStatus {
    /// Whether the call has ended (every status but `running`).
    pub const fn is_final(self) -> bool {
        !matches!(self, Self::Running)
    }
}

string_enum! {
    /// The MCP transport a session arrived on.
    pub enum Transport {
        /// Streamable HTTP (`/mcp`).
        StreamableHttp = "streamable_http",
        /// The 2024-11-05 HTTP+SSE transport (`/sse` + `/messages`).
        Sse = "sse",
        /// MCP over stdin/stdout (`mcpd serve --stdio`).
        Stdio = "stdio",
        /// The plain REST endpoints (`/tools/{name}`).
        Rest = "rest",
    }
}

/// What the caller knows when it first meets an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAgent {
    /// The agent id (1–64 of `[A-Za-z0-9_.-]`, checked by the caller).
    pub id: String,
    /// Which runtime hosts it (`docker`, `local`).
    pub runtime: String,
    /// Its container id or name, if it has one yet.
    pub container: Option<String>,
    /// Its workspace path, if known.
    pub workspace: Option<String>,
    /// Where its environment stands.
    pub status: AgentStatus,
    /// When it was first seen; becomes both `created_at` and `last_active_at`.
    pub at: Timestamp,
}

/// An agent as stored, with its usage totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// The agent id.
    pub id: String,
    /// When it was first seen.
    pub created_at: Timestamp,
    /// Its latest activity (a call started or finished, or an explicit touch).
    pub last_active_at: Timestamp,
    /// Which runtime hosts it.
    pub runtime: String,
    /// Its container id or name.
    pub container: Option<String>,
    /// Its workspace path.
    pub workspace: Option<String>,
    /// Where its environment stands.
    pub status: AgentStatus,
    /// Its calls and tokens.
    pub usage: AgentUsage,
}

/// One page of the agents, most recently active first, with how many there are in all:
/// what a listing needs to show a page and say whether more follow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentPage {
    /// The page's agents.
    pub agents: Vec<Agent>,
    /// Every stored agent, on this page or not.
    pub total: u64,
}

/// Lifetime totals for one agent. Kept as counters on the agent, so pruning old call
/// records does not shrink them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentUsage {
    /// Calls started, ever.
    pub calls_made: u64,
    /// Calls running now.
    pub calls_running: u64,
    /// Input tokens over all finished calls.
    pub tokens_in: u64,
    /// Output tokens over all finished calls.
    pub tokens_out: u64,
}

/// A partial change to an agent's environment fields; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentUpdate {
    /// New runtime name.
    pub runtime: Option<String>,
    /// New container: `Some(None)` clears it (the container was removed).
    pub container: Option<Option<String>>,
    /// New workspace: `Some(None)` clears it.
    pub workspace: Option<Option<String>>,
    /// New status.
    pub status: Option<AgentStatus>,
}

/// What was removed with an agent by [`crate::SessionStore::delete_agent`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentDeleted {
    /// Its MCP sessions.
    pub sessions: u64,
    /// Its call records.
    pub calls: u64,
    /// Its Codex thread mappings.
    pub threads: u64,
}

/// An MCP session as it opens.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSession {
    /// The session id (`Mcp-Session-Id`, or one the server made up for stdio and SSE).
    pub id: String,
    /// The agent bound to the connection, if one is known at open.
    pub agent_id: Option<String>,
    /// `clientInfo.name` from the client.
    pub client_name: Option<String>,
    /// `clientInfo.version` from the client.
    pub client_version: Option<String>,
    /// The transport it arrived on.
    pub transport: Transport,
    /// The negotiated protocol revision, e.g. `2025-06-18` (it implies the era).
    pub protocol_version: String,
    /// When it opened.
    pub opened_at: Timestamp,
}

/// An MCP session as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The session id.
    pub id: String,
    /// The agent bound to it.
    pub agent_id: Option<String>,
    /// `clientInfo.name`.
    pub client_name: Option<String>,
    /// `clientInfo.version`.
    pub client_version: Option<String>,
    /// The transport.
    pub transport: Transport,
    /// The negotiated protocol revision.
    pub protocol_version: String,
    /// When it opened.
    pub opened_at: Timestamp,
    /// When it closed; `None` while open.
    pub closed_at: Option<Timestamp>,
}

/// A tool call as it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallStart {
    /// The correlation id (also in logs and progress notifications).
    pub id: String,
    /// The agent it runs for; must exist.
    pub agent_id: String,
    /// The MCP session it came on, if any; must exist when given.
    pub session_id: Option<String>,
    /// The tool name.
    pub tool: String,
    /// A digest of its arguments (see [`crate::arguments_digest`]), never the arguments
    /// themselves, which may hold secrets or large code.
    pub arguments_digest: String,
    /// The Codex thread it resumes, when known at start.
    pub thread_id: Option<String>,
    /// When it started.
    pub started_at: Timestamp,
}

/// How a tool call ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallFinish {
    /// The final status; `running` is refused.
    pub status: CallStatus,
    /// When it ended.
    pub finished_at: Timestamp,
    /// The error shown to the client, for failures.
    pub error: Option<String>,
    /// Its duration as measured by the caller's monotonic clock.
    pub duration_ms: u64,
    /// Input tokens Codex reported, if any.
    pub tokens_in: Option<u64>,
    /// Output tokens Codex reported, if any.
    pub tokens_out: Option<u64>,
    /// The Codex thread it ran in; replaces the one given at start when `Some`.
    pub thread_id: Option<String>,
    /// What the call produced, kept so a task, a job or a resource can hand it out
    /// after the request that started it is gone; `None` when it produced nothing.
    pub output: Option<CallOutput>,
}

/// A finished call's full output, stored beside its record and pruned with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallOutput {
    /// The tool's structured result, without the diff.
    pub result: serde_json::Value,
    /// The diff a writing tool produced (kept apart: it can be megabytes, and is read
    /// on its own as a resource).
    pub diff: Option<String>,
}

/// Which stored outputs [`crate::SessionStore::list_call_outputs`] lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputQuery {
    /// Only these agents' calls; `None` for every agent.
    pub agents: Option<Vec<String>>,
    /// At most this many, newest first.
    pub limit: u32,
}

/// A finished call that has a stored output, as listed (the output itself is read with
/// [`crate::SessionStore::get_call_output`]: it can be megabytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputEntry {
    /// The call.
    pub call: Call,
    /// Whether a diff is stored beside the result.
    pub has_diff: bool,
}

/// A tool call as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The correlation id.
    pub id: String,
    /// The agent.
    pub agent_id: String,
    /// The MCP session, if any (cleared if that session was deleted).
    pub session_id: Option<String>,
    /// The tool name.
    pub tool: String,
    /// The digest of its arguments.
    pub arguments_digest: String,
    /// When it started.
    pub started_at: Timestamp,
    /// When it ended; `None` while running.
    pub finished_at: Option<Timestamp>,
    /// Its status.
    pub status: CallStatus,
    /// The error, for failures and interruptions.
    pub error: Option<String>,
    /// Its duration; `None` while running or when interrupted.
    pub duration_ms: Option<u64>,
    /// Input tokens.
    pub tokens_in: Option<u64>,
    /// Output tokens.
    pub tokens_out: Option<u64>,
    /// The Codex thread it ran in.
    pub thread_id: Option<String>,
}

/// The Codex thread that continues one conversation of one agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Thread {
    /// The agent.
    pub agent_id: String,
    /// The caller's key for the conversation (e.g. a tool's `conversation_id` argument).
    pub conversation_key: String,
    /// The Codex thread id to `codex exec resume`.
    pub thread_id: String,
    /// When this thread id was first stored for the conversation.
    pub created_at: Timestamp,
    /// When it was last stored or used.
    pub last_used_at: Timestamp,
}

/// An agent's conversations and latest calls: what a session listing shows of it beyond
/// its totals ([`crate::SessionStore::agents_activity`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentActivity {
    /// Its conversations, most recently used first (as [`crate::SessionStore::list_threads`]).
    pub threads: Vec<Thread>,
    /// Its newest calls, newest first (as [`crate::SessionStore::list_calls`]).
    pub recent_calls: Vec<Call>,
}

/// What startup recovery changed (see [`crate::SessionStore::recover_interrupted`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovered {
    /// Calls that were `running` and are now `interrupted`.
    pub calls: u64,
    /// Sessions that were open and are now closed.
    pub sessions: u64,
    /// Tasks that were `working` or `input_required` and are now `failed`.
    pub tasks: u64,
}

/// What retention pruning removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pruned {
    /// Finished call records.
    pub calls: u64,
    /// Closed sessions no remaining call refers to.
    pub sessions: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn enum_names_round_trip_through_text_and_serde() {
        for status in CallStatus::ALL {
            assert_eq!(status.as_str().parse::<CallStatus>(), Ok(*status));
            let json = serde_json::to_string(status).unwrap_or_default();
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        for status in AgentStatus::ALL {
            assert_eq!(status.as_str().parse::<AgentStatus>(), Ok(*status));
        }
        for transport in Transport::ALL {
            assert_eq!(transport.as_str().parse::<Transport>(), Ok(*transport));
        }
    }

    #[test]
    fn unknown_text_is_a_typed_error() {
        assert_eq!(
            "exploded".parse::<CallStatus>(),
            Err(UnknownValue {
                kind: "CallStatus",
                value: "exploded".into()
            })
        );
    }

    #[test]
    fn only_running_is_not_final() {
        let not_final: Vec<_> = CallStatus::ALL.iter().filter(|s| !s.is_final()).collect();
        assert_eq!(not_final, vec![&CallStatus::Running]);
    }
}
