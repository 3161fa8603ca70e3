//! The agent manager: one persistent environment per agent, prepared for Codex
//! (configuration, credentials, output schemas) and remembered across calls (Codex
//! threads, token totals).

mod codex_home;
mod conversation_lock;
pub mod disk;
pub mod error;
pub mod identity;
pub mod lifecycle;
pub mod live;
mod metrics;
mod orphans;
pub mod quota;
pub mod records;
pub mod session_key;
pub mod session_records;
pub mod snapshot;
pub mod turn;

use std::collections::HashMap;
use std::sync::Arc;

use codex_mcp_runtime::{AgentEnv, AgentId, AgentRuntime, StagedFiles};
use codex_mcp_store::SessionStore;
use parking_lot::Mutex;

use crate::codex::{Sandbox, Usage};

pub use error::{AgentError, CredentialError, NO_CREDENTIALS};
pub use turn::{Turn, TurnFuture, TurnOutcome, TurnProgress, TurnProgressStream, TurnRequest};

/// How Codex may change an agent's files (`CODEX_APPROVAL_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Approval {
    /// Work on a scratch copy and return the diff; the workspace stays untouched.
    Suggest,
    /// Apply changes to the workspace and return the diff.
    Auto,
    /// Like `Suggest` until approvals can be forwarded to the client.
    Manual,
}

impl Approval {
    /// Whether changes land in the real workspace.
    pub fn applies_changes(self) -> bool {
        matches!(self, Self::Auto)
    }
}

/// Credentials to install into each agent's Codex home, asked for before every call so
/// a rotated or refreshed login reaches a running agent in time.
#[async_trait::async_trait]
pub trait CredentialSource: Send + Sync + 'static {
    /// `agent`'s `auth.json` bytes and a fingerprint that changes when they do;
    /// `Ok(None)` when there are no credentials; `Err` with a sentence saying what is
    /// wrong (it becomes the tool error).
    async fn for_agent(&self, agent: &AgentId)
    -> Result<Option<AgentCredentials>, CredentialError>;

    /// `agent` was purged: whatever it was handed that still works elsewhere (the
    /// token broker's tickets) must stop working. The default hands out nothing such.
    fn revoke(&self, _agent: &str) {}
}

/// One version of an agent's credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentCredentials {
    /// Contents of `auth.json`.
    pub auth_json: Vec<u8>,
    /// Changes whenever the contents do.
    pub fingerprint: String,
    /// Variables for the agent's Codex process (e.g. where to send token refreshes);
    /// never secrets.
    pub env: Vec<(String, String)>,
}

impl std::fmt::Debug for AgentCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentCredentials")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// How agents run Codex.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The Codex program inside the environment (`codex`, or `CODEX_BIN` on the host).
    pub codex_program: String,
    /// `CODEX_MODEL`: passed as `-m` only when set.
    pub model: Option<String>,
    /// `CODEX_PROVIDER`: passed as `-c model_provider=...` only when set.
    pub provider: Option<String>,
    /// `CODEX_APPROVAL_MODE`.
    pub approval: Approval,
    /// Contents of `CODEX_MCP_CODEX_CONFIG`, written as every agent's `config.toml`.
    pub codex_config: Option<String>,
    /// Host folders used as particular agents' workspaces (`CODEX_MCP_AGENT_WORKSPACES`);
    /// the runtime checks them against its allowed roots.
    pub workspaces: HashMap<String, std::path::PathBuf>,
    /// Largest diff a call returns, in bytes (`CODEX_MCP_MAX_DIFF_BYTES`); a larger one
    /// is an error, never held in memory.
    pub max_diff_bytes: usize,
    /// Largest structured result returned inline, in bytes
    /// (`CODEX_MCP_INLINE_RESULT_BYTES`); past it the longest strings are cut and the
    /// result links to its full text as a resource.
    pub inline_result_bytes: usize,
}

/// Memory of one agent beyond its environment.
#[derive(Default)]
struct AgentMemory {
    schemas: Vec<&'static str>,
}

/// Keeps agents' environments ready and remembers their conversations.
pub struct AgentManager {
    runtime: Arc<dyn AgentRuntime>,
    config: AgentConfig,
    credentials: Option<Arc<dyn CredentialSource>>,
    store: Arc<dyn SessionStore>,
    memory: Mutex<HashMap<String, AgentMemory>>,
    totals: Mutex<HashMap<String, Usage>>,
    live: records::SharedLive,
    lifecycle: lifecycle::Lifecycle,
    metrics: metrics::CallMetrics,
    session_key: session_key::SessionAgentKey,
    /// Most agents known at once (`CODEX_MCP_MAX_AGENTS`; `0`: no bound).
    max_agents: usize,
    /// Held while a new agent is checked against `max_agents` and recorded.
    new_agents: tokio::sync::Mutex<()>,
    /// Live calls for the dashboard (published on start, progress and end).
    dashboard: Arc<live::DashboardHub>,
    /// One turn at a time per agent conversation.
    conversations: conversation_lock::ConversationLocks,
    /// Agents' disk use, measured at most every [`disk::DISK_REFRESH`].
    disk: disk::DiskCache,
    /// Interrupted calls whose left-behind run this process has stopped (or found gone).
    orphans: orphans::CheckedRuns,
}

/// What a prepared agent offers a call.
#[derive(Debug, Clone)]
pub struct ReadyAgent {
    /// The agent.
    pub id: AgentId,
    /// Paths inside its environment.
    pub env: AgentEnv,
    /// Extra variables for its Codex process (from the credential source).
    pub codex_env: Vec<(String, String)>,
    /// The Codex home's files staged for this turn's run, which installs them as it
    /// starts (`None`: the runtime wrote them at once).
    pub staged: Option<StagedFiles>,
    /// The tool whose output schema is among `staged`, remembered as installed once
    /// the run succeeded.
    pub staged_schema: Option<&'static str>,
}

impl AgentManager {
    /// A manager over a runtime, recording into `store`.
    pub fn new(
        runtime: Arc<dyn AgentRuntime>,
        config: AgentConfig,
        credentials: Option<Arc<dyn CredentialSource>>,
        store: Arc<dyn SessionStore>,
    ) -> Self {
        Self {
            runtime,
            config,
            credentials,
            store,
            memory: Mutex::new(HashMap::new()),
            totals: Mutex::new(HashMap::new()),
            live: Mutex::default(),
            lifecycle: lifecycle::Lifecycle::new(lifecycle::LifecyclePolicy::default()),
            metrics: metrics::CallMetrics::default(),
            session_key: session_key::SessionAgentKey::random(),
            max_agents: 0,
            new_agents: tokio::sync::Mutex::new(()),
            dashboard: Arc::default(),
            conversations: conversation_lock::ConversationLocks::default(),
            disk: disk::DiskCache::default(),
            orphans: orphans::CheckedRuns::default(),
        }
    }

    /// The live calls the dashboard shows.
    pub fn dashboard(&self) -> &Arc<live::DashboardHub> {
        &self.dashboard
    }

    /// The same manager deriving session agents' ids with `key`. Without it the key is
    /// random per process, so a session-only caller's agent id changes on restart.
    #[must_use]
    pub fn with_session_key(mut self, key: session_key::SessionAgentKey) -> Self {
        self.session_key = key;
        self
    }

    /// The agent a call runs as (see [`identity::resolve`]).
    pub fn resolve_agent(
        &self,
        argument: Option<&str>,
        identity: &crate::server::Identity,
    ) -> Result<AgentId, AgentError> {
        identity::resolve(argument, identity, &self.session_key)
    }

    /// The same manager refusing new agents once `max` are known (`0`: no bound).
    #[must_use]
    pub fn with_max_agents(mut self, max: usize) -> Self {
        self.max_agents = max;
        self
    }

    /// The same manager with other limits on running environments.
    #[must_use]
    pub fn with_lifecycle(mut self, policy: lifecycle::LifecyclePolicy) -> Self {
        self.lifecycle = lifecycle::Lifecycle::new(policy);
        self
    }

    /// The durable record of agents, sessions, calls and threads.
    pub fn store(&self) -> &Arc<dyn SessionStore> {
        &self.store
    }

    /// Forgets what was written into an agent's Codex home (after it was removed).
    fn forget_memory(&self, agent: &str) {
        self.memory.lock().remove(agent);
        self.release_slot(agent);
    }

    /// The runtime agents live in.
    pub fn runtime(&self) -> &Arc<dyn AgentRuntime> {
        &self.runtime
    }

    /// The configuration.
    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    /// The sandbox a call with or without writes gets in this runtime: Codex's own on
    /// the host, the container itself in Docker (where Codex's sandbox cannot work).
    pub fn sandbox(&self, writes: bool) -> Sandbox {
        match (self.runtime.kind(), writes) {
            (kind, _) if kind.is_isolated() => Sandbox::External,
            (_, true) => Sandbox::WorkspaceWrite,
            (_, false) => Sandbox::ReadOnly,
        }
    }

    /// Turns the thread's running totals into this call's tokens.
    pub fn call_tokens(&self, thread: Option<&str>, totals: Usage) -> Usage {
        let Some(thread) = thread else { return totals };
        let previous = self
            .totals
            .lock()
            .insert(thread.to_string(), totals)
            .unwrap_or_default();
        Usage {
            input_tokens: totals.input_tokens.saturating_sub(previous.input_tokens),
            cached_input_tokens: totals
                .cached_input_tokens
                .saturating_sub(previous.cached_input_tokens),
            output_tokens: totals.output_tokens.saturating_sub(previous.output_tokens),
            reasoning_output_tokens: totals
                .reasoning_output_tokens
                .saturating_sub(previous.reasoning_output_tokens),
        }
    }

    /// `-c` overrides every run gets.
    pub fn config_overrides(&self) -> Vec<String> {
        self.config
            .provider
            .iter()
            .map(|p| format!("model_provider=\"{p}\""))
            .collect()
    }
}
