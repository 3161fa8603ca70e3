//! Why the agent layer could not do what a call asked, as data: the turn service, the
//! agent manager and the server tools return [`AgentError`], and only the MCP edge turns
//! it into the sentence the client reads (its `Display`, kept word for word as before).

use codex_mcp_runtime::RuntimeError;
use codex_mcp_store::{CallStatus, StoreError};
use codex_mcp_tools::{ArgumentError, InvalidAgentId};

use super::snapshot::SnapshotError;
use crate::codex::CodexError;

/// What a call without credentials tells the user.
pub const NO_CREDENTIALS: &str = "No Codex credentials found. Either log in with your ChatGPT account \
(`codex login` on this machine, or `mcpd auth login`), or set OPENAI_API_KEY for mcpd; then retry.";

/// Everything that can stop an agent's call. Each message says what happened and, where
/// it can, the setting or step that fixes it.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The tool's arguments were refused before anything ran.
    #[error(transparent)]
    Arguments(#[from] ArgumentError),
    /// The agent id, from wherever it came, breaks the id rule.
    #[error("{source} (from {from})")]
    InvalidAgent {
        /// The rule it broke.
        source: InvalidAgentId,
        /// Where the id came from (argument, header, token, session).
        from: &'static str,
    },
    /// The bearer token may not act as this agent.
    #[error(
        "the bearer token {token:?} may act as {}, not as agent {agent} (from {from})",
        allowed.join(", ")
    )]
    NotAllowed {
        /// The token's name.
        token: String,
        /// The agents it may act as.
        allowed: Vec<String>,
        /// The agent asked for.
        agent: String,
        /// Where the id came from.
        from: &'static str,
    },
    /// A new agent would pass `CODEX_MCP_MAX_AGENTS`.
    #[error(
        "cannot create agent \"{agent}\": this server already knows {known} agents, the \
limit (CODEX_MCP_MAX_AGENTS={max}). Remove agents that are no longer needed with the \
cleanup_inactive_agents tool (e.g. {{\"idle_seconds\": 86400, \"purge\": true}}) or \
`mcpd agents cleanup --idle-seconds 86400 --purge`, or raise CODEX_MCP_MAX_AGENTS"
    )]
    TooManyAgents {
        /// The refused agent.
        agent: String,
        /// Agents known now.
        known: usize,
        /// The bound.
        max: usize,
    },
    /// Every running environment has a call in flight (`MAX_CONCURRENT_SESSIONS`).
    #[error(
        "all {max} agent environments are busy with calls (MAX_CONCURRENT_SESSIONS={max}): \
retry when one finishes, or raise MAX_CONCURRENT_SESSIONS"
    )]
    Busy {
        /// The bound.
        max: usize,
    },
    /// The credential source has nothing for the agent.
    #[error("{NO_CREDENTIALS}")]
    NoCredentials,
    /// The credential source failed.
    #[error(transparent)]
    Credentials(#[from] CredentialError),
    /// The runtime could not prepare or reach the agent's environment.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// The session store failed.
    #[error("the session store failed: {0}")]
    Store(#[from] StoreError),
    /// Taking the workspace snapshot before the run failed.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// Codex answered but its changes could not be returned as a diff.
    #[error("{source}")]
    Diff {
        /// Why.
        source: SnapshotError,
        /// The thread Codex ran on.
        thread: Option<String>,
    },
    /// Codex's final message did not fit the tool's output schema.
    #[error("Codex's answer did not match the {tool} output schema: {detail}. Raw answer: {raw}")]
    Schema {
        /// The tool.
        tool: &'static str,
        /// What did not fit.
        detail: String,
        /// The answer, shortened.
        raw: String,
        /// The thread Codex ran on.
        thread: Option<String>,
    },
    /// Codex ran and failed (could not start, failed the turn, exited without answer);
    /// `note` says what became of the agent's environment, when that explains it.
    #[error("{error}{}", note.as_ref().map(|n| format!(": {n}")).unwrap_or_default())]
    Codex {
        /// Codex's failure.
        error: CodexError,
        /// What happened to the environment meanwhile.
        note: Option<String>,
    },
    /// The call's time limit passed; Codex was stopped.
    #[error("{0}")]
    TimedOut(CodexError),
    /// The call was cancelled (by the client or the holder of the turn).
    #[error("the call was cancelled and Codex was stopped")]
    Cancelled,
    /// A restarted server found the Codex run of a call its previous process started
    /// gone (or its runtime cannot re-attach to runs): the call is `interrupted`.
    #[error("{}", codex_mcp_store::CALL_INTERRUPTED)]
    RunGone,
}

impl AgentError {
    /// The status a call's record gets when it ends with this error.
    pub fn status(&self) -> CallStatus {
        match self {
            Self::Cancelled => CallStatus::Cancelled,
            Self::TimedOut(_) => CallStatus::TimedOut,
            Self::RunGone => CallStatus::Interrupted,
            _ => CallStatus::Failed,
        }
    }

    /// The Codex thread the failed call ran on, if Codex got that far.
    pub fn thread(&self) -> Option<&str> {
        match self {
            Self::Codex { error, .. } | Self::TimedOut(error) => error.thread_id(),
            Self::Schema { thread, .. } | Self::Diff { thread, .. } => thread.as_deref(),
            _ => None,
        }
    }

    /// A failed Codex run as an agent error (`note`: see [`AgentError::Codex`]).
    pub fn from_codex(error: CodexError, note: Option<String>) -> Self {
        match error {
            CodexError::Cancelled => Self::Cancelled,
            CodexError::TimedOut { .. } => Self::TimedOut(error),
            error => Self::Codex { error, note },
        }
    }
}

/// Why a [`super::CredentialSource`] could not hand out credentials: a sentence the
/// user can act on (it becomes the tool error), and the failure behind it if any.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CredentialError {
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl CredentialError {
    /// A failure told in `message`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            source: None,
        }
    }

    /// The same failure, caused by `source`.
    #[must_use]
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use pretty_assertions::assert_eq;

    use super::*;
    use crate::server::ToolError;

    /// What the client reads for `error` (the MCP edge's translation).
    fn said(error: AgentError) -> String {
        match ToolError::from(error) {
            ToolError::Failed(text) => text,
            other => panic!("not a tool failure: {other:?}"),
        }
    }

    #[test]
    fn every_variant_reads_as_before_at_the_mcp_edge() {
        let exited = CodexError::Exited {
            code: Some(137),
            stderr_tail: String::new(),
            thread_id: Some("t-9".into()),
        };
        let cases: Vec<(AgentError, &str)> = vec![
            (
                codex_mcp_tools::prepare("chat", &serde_json::Map::new())
                    .unwrap_err()
                    .into(),
                "message is required",
            ),
            (
                AgentError::InvalidAgent {
                    source: codex_mcp_tools::AgentId::new("..").unwrap_err(),
                    from: "the agent_id argument",
                },
                "agent_id \"..\" is invalid: use 1-64 of A-Za-z0-9_.- (and not \".\" or \"..\") \
                 (from the agent_id argument)",
            ),
            (
                AgentError::NotAllowed {
                    token: "laptop".into(),
                    allowed: vec!["alice".into(), "alice-2".into()],
                    agent: "bob".into(),
                    from: "the agent_id argument",
                },
                "the bearer token \"laptop\" may act as alice, alice-2, not as agent bob \
                 (from the agent_id argument)",
            ),
            (
                AgentError::TooManyAgents {
                    agent: "eve".into(),
                    known: 3,
                    max: 3,
                },
                "cannot create agent \"eve\": this server already knows 3 agents, the limit \
                 (CODEX_MCP_MAX_AGENTS=3). Remove agents that are no longer needed with the \
                 cleanup_inactive_agents tool (e.g. {\"idle_seconds\": 86400, \"purge\": true}) \
                 or `mcpd agents cleanup --idle-seconds 86400 --purge`, or raise \
                 CODEX_MCP_MAX_AGENTS",
            ),
            (
                AgentError::Busy { max: 2 },
                "all 2 agent environments are busy with calls (MAX_CONCURRENT_SESSIONS=2): \
                 retry when one finishes, or raise MAX_CONCURRENT_SESSIONS",
            ),
            (AgentError::NoCredentials, NO_CREDENTIALS),
            (
                CredentialError::new("the login expired: run `codex login`").into(),
                "the login expired: run `codex login`",
            ),
            (
                StoreError::not_found("agent", "x").into(),
                "the session store failed: agent \"x\" not found",
            ),
            (
                SnapshotError::Failed {
                    code: Some(1),
                    stderr: "no git".into(),
                }
                .into(),
                "workspace snapshot step failed (Some(1)): no git",
            ),
            (
                AgentError::Diff {
                    source: SnapshotError::DiffTooLarge { limit: 10 },
                    thread: None,
                },
                "the changes Codex made are larger than 10 bytes as a diff \
                 (CODEX_MCP_MAX_DIFF_BYTES=10), so they are not returned and nothing was kept; \
                 ask for a smaller change, or raise CODEX_MCP_MAX_DIFF_BYTES",
            ),
            (
                AgentError::Schema {
                    tool: "chat",
                    detail: "not JSON".into(),
                    raw: "hello".into(),
                    thread: None,
                },
                "Codex's answer did not match the chat output schema: not JSON. Raw answer: hello",
            ),
            (
                AgentError::from_codex(exited.clone(), None),
                "Codex exited with code 137 without an answer",
            ),
            (
                AgentError::from_codex(exited, Some("the agent's container stopped".into())),
                "Codex exited with code 137 without an answer: the agent's container stopped",
            ),
            (
                AgentError::from_codex(
                    CodexError::TimedOut {
                        after: Duration::from_secs(5),
                        thread_id: None,
                    },
                    None,
                ),
                "Codex did not finish within 5 s and was stopped; raise timeout_seconds for \
                 longer tasks",
            ),
            (
                AgentError::from_codex(CodexError::Cancelled, None),
                "the call was cancelled and Codex was stopped",
            ),
        ];
        for (error, text) in cases {
            assert_eq!(said(error), text);
        }
    }

    #[test]
    fn the_record_gets_the_status_and_thread_of_the_error() {
        let timed_out = AgentError::from_codex(
            CodexError::TimedOut {
                after: Duration::from_secs(1),
                thread_id: Some("t-1".into()),
            },
            None,
        );
        assert_eq!(timed_out.status(), CallStatus::TimedOut);
        assert_eq!(timed_out.thread(), Some("t-1"));
        assert_eq!(AgentError::Cancelled.status(), CallStatus::Cancelled);
        assert_eq!(AgentError::Busy { max: 1 }.status(), CallStatus::Failed);
        let schema = AgentError::Schema {
            tool: "chat",
            detail: String::new(),
            raw: String::new(),
            thread: Some("t-2".into()),
        };
        assert_eq!(schema.thread(), Some("t-2"));
    }
}
