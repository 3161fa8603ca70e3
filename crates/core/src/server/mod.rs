//! The protocol engine: one object that answers MCP requests for every transport.
//!
//! Transports decode bytes, decide the era, find the session and build a
//! [`CtxParts`]; the engine validates params, dispatches to the registry and shapes the
//! result for the era. Nothing here knows about HTTP or stdio.

mod call_limit;
mod channel;
mod connection;
pub mod context;
pub mod correlation;
mod dispatch;
pub mod grant;
pub mod jobs;
mod reattach;
pub mod registry;
mod task_calls;
mod task_durable;
mod task_wire;
pub mod tasks;

use std::sync::Arc;
use std::time::{Duration, Instant};

use codex_mcp_protocol::lifecycle::{Implementation, ServerCapabilities};
use codex_mcp_protocol::request_state::StateSealer;
use rand::RngCore;
use serde_json::{Value, json};

pub use connection::{Call, Connection, Reply, Step};
pub use context::{
    AskError, CtxParts, Identity, InFlight, Outbound, Pending, RequestCtx, TransportKind,
};
pub use dispatch::{EncodedResponse, not_initialized};
pub use registry::{
    Completer, FnTool, PromptHandler, Question, ResourceProvider, ToolError, ToolHandler,
};
pub use tasks::TaskEntry;

use crate::session::{SessionObserver, SessionTable};
use registry::Ordered;

/// Prefix of the tool-name aliases every transport accepts (`codex_chat` for `chat`).
pub const TOOL_ALIAS_PREFIX: &str = "codex_";

/// Limits and identity of a server.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Name and version reported to clients.
    pub info: Implementation,
    /// Guidance for the model using this server.
    pub instructions: Option<String>,
    /// Items per page of list results.
    pub page_size: usize,
    /// How long clients may cache list results (modern era).
    pub list_ttl: Duration,
    /// Most legacy sessions open at once.
    pub max_sessions: usize,
    /// Sessions idle longer than this are closed.
    pub session_idle_timeout: Duration,
    /// Most tool calls running at once per bearer token, or for the whole server
    /// without tokens (`MCPD_MAX_CALLS_PER_TOKEN`, 64 in mcpd; `0`, the default for
    /// embedders: no bound).
    pub max_calls_per_token: usize,
    /// How long a task stays readable after creation when its client asks for no TTL
    /// (`CODEX_MCP_TASK_TTL_SECONDS` in mcpd).
    pub task_ttl: Duration,
    /// The longest TTL a client may ask for; longer is refused with invalid params
    /// (`CODEX_MCP_TASK_MAX_TTL_SECONDS` in mcpd).
    pub max_task_ttl: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            info: Implementation {
                name: "codex-mcp".into(),
                title: Some("codex-mcp".into()),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            instructions: None,
            page_size: 100,
            list_ttl: Duration::from_secs(60),
            max_sessions: 1024,
            session_idle_timeout: Duration::from_secs(3600),
            max_calls_per_token: 0,
            task_ttl: tasks::TASK_TTL,
            max_task_ttl: tasks::MAX_TASK_TTL,
        }
    }
}

/// Builds an [`McpServer`] from its parts.
#[derive(Default)]
pub struct ServerBuilder {
    options: ServerOptions,
    tools: Ordered<dyn ToolHandler>,
    prompts: Ordered<dyn PromptHandler>,
    resources: Vec<Arc<dyn ResourceProvider>>,
    completer: Option<Arc<dyn Completer>>,
    subscribe: bool,
    extensions: serde_json::Map<String, Value>,
    observer: Option<Arc<dyn SessionObserver>>,
    task_store: Option<Arc<dyn codex_mcp_store::TaskStore>>,
}

impl ServerBuilder {
    /// Starts from options.
    pub fn new(options: ServerOptions) -> Self {
        Self {
            options,
            ..Self::default()
        }
    }

    /// Registers a tool (listing order is registration order).
    #[must_use]
    pub fn tool(mut self, handler: impl ToolHandler) -> Self {
        let handler: Arc<dyn ToolHandler> = Arc::new(handler);
        self.tools.insert(handler.definition().name, handler);
        self
    }

    /// Registers an already shared tool.
    #[must_use]
    pub fn tool_arc(mut self, handler: Arc<dyn ToolHandler>) -> Self {
        self.tools.insert(handler.definition().name, handler);
        self
    }

    /// Registers a prompt.
    #[must_use]
    pub fn prompt(mut self, handler: impl PromptHandler) -> Self {
        let handler: Arc<dyn PromptHandler> = Arc::new(handler);
        self.prompts.insert(handler.definition().name, handler);
        self
    }

    /// Adds a resource provider.
    #[must_use]
    pub fn resources(mut self, provider: impl ResourceProvider) -> Self {
        self.resources.push(Arc::new(provider));
        self
    }

    /// Sets the argument completer.
    #[must_use]
    pub fn completer(mut self, completer: impl Completer) -> Self {
        self.completer = Some(Arc::new(completer));
        self
    }

    /// Advertises resource subscriptions.
    #[must_use]
    pub fn resource_subscriptions(mut self, on: bool) -> Self {
        self.subscribe = on;
        self
    }

    /// Advertises an extension (modern era `capabilities.extensions`).
    #[must_use]
    pub fn extension(mut self, id: &str, settings: Value) -> Self {
        self.extensions.insert(id.to_string(), settings);
        self
    }

    /// Reports sessions opening and closing (e.g. to a durable store).
    #[must_use]
    pub fn session_observer(mut self, observer: Arc<dyn SessionObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Keeps tasks in `store` as well as in memory, so they outlive the session and
    /// the process that created them (tasks of a previous process are read from it).
    #[must_use]
    pub fn task_store(mut self, store: Arc<dyn codex_mcp_store::TaskStore>) -> Self {
        self.task_store = Some(store);
        self
    }

    /// Finishes the server. Inside a Tokio runtime it also starts the task store's
    /// writer and the sweep of expired tasks.
    pub fn build(mut self) -> McpServer {
        let tasks_offered = self
            .tools
            .all()
            .iter()
            .any(|t| t.task_support() != codex_mcp_protocol::tasks_ext::TaskSupport::Forbidden);
        if tasks_offered {
            self.extensions
                .entry(codex_mcp_protocol::tasks_ext::EXTENSION_ID.to_string())
                .or_insert_with(|| json!({}));
        }
        let mut key = vec![0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let sessions =
            SessionTable::new(self.options.max_sessions, self.options.session_idle_timeout)
                .with_observer(self.observer);
        let server = McpServer {
            inner: Arc::new(Inner {
                calls: call_limit::CallLimiter::new(self.options.max_calls_per_token),
                options: self.options,
                tools: self.tools,
                prompts: self.prompts,
                resources: self.resources,
                completer: self.completer,
                subscribe: self.subscribe,
                extensions: self.extensions,
                sealer: StateSealer::new(key),
                sessions,
                in_flight: Arc::new(InFlight::default()),
                started: Instant::now(),
                precomputed: dispatch::Precomputed::default(),
                tasks: tasks::TaskTable::new(self.task_store),
                tasks_offered,
                jobs: jobs::JobBook::default(),
            }),
        };
        server.spawn_task_sweeper();
        server
    }
}

pub(crate) struct Inner {
    pub options: ServerOptions,
    pub tools: Ordered<dyn ToolHandler>,
    pub prompts: Ordered<dyn PromptHandler>,
    pub resources: Vec<Arc<dyn ResourceProvider>>,
    pub completer: Option<Arc<dyn Completer>>,
    pub subscribe: bool,
    pub extensions: serde_json::Map<String, Value>,
    pub sealer: StateSealer,
    pub sessions: SessionTable,
    pub in_flight: Arc<InFlight>,
    /// Tool calls running per bearer token.
    pub calls: call_limit::CallLimiter,
    pub started: Instant,
    /// Serialised answers that depend only on what was registered, made on first use.
    pub precomputed: dispatch::Precomputed,
    /// Tasks of both task wires (2025-11-25 and the 2026-07-28 extension); background
    /// jobs are tasks too.
    pub tasks: tasks::TaskTable,
    /// Whether any tool may run as a task (the task methods exist only then).
    pub tasks_offered: bool,
    /// What the job tools show of each detached call beyond its task.
    pub jobs: jobs::JobBook,
}

/// The engine. Cheap to clone; every clone is the same server.
#[derive(Clone)]
pub struct McpServer {
    pub(crate) inner: Arc<Inner>,
}

impl McpServer {
    /// Starts building a server.
    pub fn builder(options: ServerOptions) -> ServerBuilder {
        ServerBuilder::new(options)
    }

    /// The server's name and version.
    pub fn info(&self) -> &Implementation {
        &self.inner.options.info
    }

    /// Options the server was built with.
    pub fn options(&self) -> &ServerOptions {
        &self.inner.options
    }

    /// Legacy sessions.
    pub fn sessions(&self) -> &SessionTable {
        &self.inner.sessions
    }

    /// Requests running outside any session (stateless era, REST, stdio outside a
    /// session), registered with [`InFlight::register_unnamed`] so no client can cancel
    /// them by id; shutdown cancels them all.
    pub fn in_flight(&self) -> &Arc<InFlight> {
        &self.inner.in_flight
    }

    /// Ends every running task as failed ("the server shut down") and stops its work.
    pub fn cancel_all_tasks(&self) {
        self.inner.tasks.cancel_all();
    }

    /// Waits until every task change so far is in the task store (at once without
    /// one): for shutdown, after [`Self::cancel_all_tasks`].
    pub async fn flush_tasks(&self) {
        self.inner.tasks.flush().await;
    }

    /// Deletes ended tasks past their TTL every [`tasks::SWEEP_EVERY`], and stops those
    /// another replica cancelled every [`tasks::CHECK_EVERY`], while the server lives
    /// (only inside a Tokio runtime).
    fn spawn_task_sweeper(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let inner = Arc::downgrade(&self.inner);
        runtime.spawn(async move {
            let mut tick = tokio::time::interval(tasks::CHECK_EVERY);
            let mut last_sweep = tokio::time::Instant::now();
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = inner.upgrade() else { return };
                inner.tasks.stop_cancelled_elsewhere().await;
                if last_sweep.elapsed() >= tasks::SWEEP_EVERY {
                    last_sweep = tokio::time::Instant::now();
                    inner.tasks.sweep().await;
                }
            }
        });
    }

    /// Time since the server was built.
    pub fn uptime(&self) -> Duration {
        self.inner.started.elapsed()
    }

    /// What the server offers in an era, derived from what was registered. Resource
    /// subscriptions exist only in the legacy era (2026-07-28 replaced them with
    /// `subscriptions/listen`, which this engine does not offer).
    pub fn capabilities(&self, era: codex_mcp_protocol::Era) -> ServerCapabilities {
        let inner = &self.inner;
        let subscribe = inner.subscribe && era == codex_mcp_protocol::Era::Legacy;
        ServerCapabilities {
            tools: (!inner.tools.is_empty()).then(|| json!({ "listChanged": false })),
            resources: (!inner.resources.is_empty())
                .then(|| json!({ "subscribe": subscribe, "listChanged": false })),
            prompts: (!inner.prompts.is_empty()).then(|| json!({ "listChanged": false })),
            logging: Some(json!({})),
            completions: inner.completer.as_ref().map(|_| json!({})),
            extensions: (!inner.extensions.is_empty()).then(|| inner.extensions.clone()),
            tasks: (inner.tasks_offered && era == codex_mcp_protocol::Era::Legacy)
                .then(codex_mcp_protocol::tasks::server_capability),
            experimental: None,
        }
    }

    /// Tool definitions in listing order.
    pub fn tool_definitions(&self) -> Vec<codex_mcp_protocol::tools::Tool> {
        self.inner
            .tools
            .all()
            .iter()
            .map(|t| t.definition())
            .collect()
    }

    /// One tool's definition, by its name or its `codex_` alias.
    pub fn tool_definition(&self, name: &str) -> Option<codex_mcp_protocol::tools::Tool> {
        self.tool(name).map(|t| t.definition())
    }

    /// Whether a tool with this name (or `codex_` alias) is registered.
    pub fn has_tool(&self, name: &str) -> bool {
        self.tool(name).is_some()
    }

    /// The tool called `name`, or `codex_<tool>`: the original project's names are
    /// accepted as aliases on every transport (see `docs/tools.md`).
    pub(crate) fn tool(&self, name: &str) -> Option<&Arc<dyn ToolHandler>> {
        self.inner.tools.get(name).or_else(|| {
            name.strip_prefix(TOOL_ALIAS_PREFIX)
                .and_then(|n| self.inner.tools.get(n))
        })
    }
}
