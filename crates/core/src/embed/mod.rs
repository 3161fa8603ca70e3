//! The embedding facade: [`CodexMcp::builder`] takes a data dir, and optionally a
//! runtime, a store, credentials, agent settings and extra tools; the built [`CodexMcp`]
//! gives an axum [`Router`] that can be nested under any path (every transport works
//! under it, the SSE `endpoint` event included) and a stdio entry point. `mcpd` is
//! built with it too.

pub mod codex_version;
pub mod credentials;
mod error;
pub mod facts;
pub mod file_modes;
pub mod login_share;
pub mod session_key_file;
pub mod store;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use codex_mcp_auth::DetectInputs;
use codex_mcp_runtime::local::{LocalConfig, LocalRuntime};
use codex_mcp_runtime::{AgentRuntime, RuntimeKind};
use codex_mcp_store::SessionStore;
use codex_mcp_tools::ToolKind;
use tokio_util::sync::CancellationToken;

pub use credentials::{AgentCredentialSource, BROKER_PATH};
pub use error::EmbedError;
pub use facts::Facts;

use crate::agents::lifecycle::LifecyclePolicy;
use crate::agents::session_records::SessionRecorder;
use crate::agents::{AgentConfig, AgentManager, Approval, CredentialSource};
use crate::dashboard::{self, Dashboard};
use crate::server::{McpServer, ServerOptions, ToolHandler};
use crate::tools::codex::CodexToolHandler;
use crate::tools::guide::Guide;
use crate::tools::prompts::CatalogPrompt;
use crate::tools::results::CallResults;
use crate::tools::server::{ServerFacts, ServerToolHandler};
use crate::transport::http::metrics::MetricsReporter;
use crate::transport::http::{self, HealthReporter, HttpOptions, HttpState};
use crate::transport::stdio::{self, StdioOptions};

/// How long a `codex --version` probe of the local runtime may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where agents' Codex gets its login from.
enum Credentials {
    /// Detected from these inputs and kept fresh by the bridge (the default: the process
    /// environment and `~/.codex`).
    Detect(DetectInputs),
    /// An already started bridge.
    Bridge(Arc<AgentCredentialSource>),
    /// The embedder's own source.
    Custom(Arc<dyn CredentialSource>),
    /// None: agents use whatever their Codex home holds.
    Nothing,
}

/// Makes one of the embedder's tools once the agent manager exists.
type ToolFactory = Box<dyn FnOnce(&Arc<AgentManager>) -> Arc<dyn ToolHandler> + Send>;

/// Builds a [`CodexMcp`]; every part has a default but the data dir.
pub struct CodexMcpBuilder {
    data_dir: PathBuf,
    runtime: Option<(Arc<dyn AgentRuntime>, Option<String>)>,
    store: Option<Arc<dyn SessionStore>>,
    database_url: Option<String>,
    replica_name: Option<String>,
    retention_days: u64,
    credentials: Credentials,
    agents_reach_server: Option<bool>,
    agent: AgentConfig,
    lifecycle: Option<LifecyclePolicy>,
    max_agents: usize,
    server: ServerOptions,
    http: HttpOptions,
    tools: Vec<ToolFactory>,
    catalogue: bool,
    codex_version: Option<codex_version::CodexVersion>,
    warnings: Vec<String>,
}

impl CodexMcpBuilder {
    /// Agents run in `runtime` (default: host folders under the data dir, the local
    /// runtime); `note` says why, for `health_check`.
    #[must_use]
    pub fn runtime(mut self, runtime: Arc<dyn AgentRuntime>, note: Option<String>) -> Self {
        self.runtime = Some((runtime, note));
        self
    }

    /// Calls and sessions are recorded in `store` (default: SQLite `codex-mcp.db` in
    /// the data dir, private, pruned after the retention period).
    #[must_use]
    pub fn store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// Keeps the record in the PostgreSQL database at `url` (`postgres://user:password@
    /// host:port/name`) instead of SQLite in the data dir; the database is migrated at
    /// build and may be shared by several replicas, each under its own name.
    #[must_use]
    pub fn database_url(mut self, url: Option<String>) -> Self {
        self.database_url = url;
        self
    }

    /// This process's name among the replicas sharing the PostgreSQL database (default:
    /// host and data dir). A second live process with the same name is refused.
    #[must_use]
    pub fn replica_name(mut self, name: Option<String>) -> Self {
        self.replica_name = name;
        self
    }

    /// Call records older than `days` are pruned from the default store (default 30;
    /// 0: kept forever).
    #[must_use]
    pub fn retention_days(mut self, days: u64) -> Self {
        self.retention_days = days;
        self
    }

    /// Credentials are detected from `inputs` (default: the process environment).
    #[must_use]
    pub fn detect_credentials(mut self, inputs: DetectInputs) -> Self {
        self.credentials = Credentials::Detect(inputs);
        self
    }

    /// Agents get their login from `source` instead of the detected one.
    #[must_use]
    pub fn credentials(mut self, source: Arc<dyn CredentialSource>) -> Self {
        self.credentials = Credentials::Custom(source);
        self
    }

    /// Agents get their login from an already started bridge.
    #[must_use]
    pub fn credential_bridge(mut self, bridge: Arc<AgentCredentialSource>) -> Self {
        self.credentials = Credentials::Bridge(bridge);
        self
    }

    /// No credentials are installed: agents use what their Codex home holds.
    #[must_use]
    pub fn without_credentials(mut self) -> Self {
        self.credentials = Credentials::Nothing;
        self
    }

    /// Whether agents' Codex can dial this server for token refreshes (default: with
    /// the local runtime only).
    #[must_use]
    pub fn agents_reach_server(mut self, reach: bool) -> Self {
        self.agents_reach_server = Some(reach);
        self
    }

    /// How agents run Codex (program, model, approval, config, limits).
    #[must_use]
    pub fn agent_config(mut self, config: AgentConfig) -> Self {
        self.agent = config;
        self
    }

    /// The Codex program agents run (default `codex` on `PATH`, or in the image).
    #[must_use]
    pub fn codex_program(mut self, program: impl Into<String>) -> Self {
        self.agent.codex_program = program.into();
        self
    }

    /// The `config.toml` every agent's Codex gets (model provider, features, ...).
    #[must_use]
    pub fn codex_config(mut self, toml: impl Into<String>) -> Self {
        self.agent.codex_config = Some(toml.into());
        self
    }

    /// How Codex may change files (default [`Approval::Suggest`]).
    #[must_use]
    pub fn approval(mut self, approval: Approval) -> Self {
        self.agent.approval = approval;
        self
    }

    /// How many agents may run at once and when idle ones stop.
    #[must_use]
    pub fn lifecycle(mut self, policy: LifecyclePolicy) -> Self {
        self.lifecycle = Some(policy);
        self
    }

    /// Most agents known at once (default 0: no bound).
    #[must_use]
    pub fn max_agents(mut self, max: usize) -> Self {
        self.max_agents = max;
        self
    }

    /// The engine's name, instructions and limits.
    #[must_use]
    pub fn server_options(mut self, options: ServerOptions) -> Self {
        self.server = options;
        self
    }

    /// HTTP limits and policies (hosts, tokens, body size, ...).
    #[must_use]
    pub fn http_options(mut self, options: HttpOptions) -> Self {
        self.http = options;
        self
    }

    /// Adds a tool of the embedder's, served next to the Codex tools.
    #[must_use]
    pub fn tool(self, handler: impl ToolHandler) -> Self {
        self.tool_arc(Arc::new(handler))
    }

    /// Adds a shared tool of the embedder's.
    #[must_use]
    pub fn tool_arc(mut self, handler: Arc<dyn ToolHandler>) -> Self {
        self.tools.push(Box::new(move |_| handler));
        self
    }

    /// Adds a tool made from the agent manager: a Codex-backed tool of the embedder's
    /// (e.g. a [`CodexToolHandler`] over its own [`codex_mcp_tools::ToolSpec`]).
    #[must_use]
    pub fn tool_with<T: ToolHandler>(
        mut self,
        make: impl FnOnce(&Arc<AgentManager>) -> T + Send + 'static,
    ) -> Self {
        self.tools.push(Box::new(move |manager| {
            Arc::new(make(manager)) as Arc<dyn ToolHandler>
        }));
        self
    }

    /// Leaves out the built-in catalogue (plan, review, chat, ... and the server tools):
    /// only the embedder's tools are served.
    #[must_use]
    pub fn without_catalogue(mut self) -> Self {
        self.catalogue = false;
        self
    }

    /// `codex --version` as the embedder probed it (default: probed here for the local
    /// runtime).
    #[must_use]
    pub fn codex_version(mut self, version: codex_version::CodexVersion) -> Self {
        self.codex_version = Some(version);
        self
    }

    /// Warnings shown in `/health` (e.g. how exposed the server is).
    #[must_use]
    pub fn warnings(mut self, warnings: Vec<String>) -> Self {
        self.warnings = warnings;
        self
    }

    /// Opens what was not given (store, runtime, credentials, session key) and builds
    /// the engine; needs a Tokio runtime (background tasks start here).
    pub async fn build(self) -> Result<CodexMcp, EmbedError> {
        let store = match self.store {
            Some(store) => store,
            None => {
                let store = match &self.database_url {
                    Some(url) => {
                        let replica = self
                            .replica_name
                            .clone()
                            .unwrap_or_else(|| store::default_replica_name(&self.data_dir));
                        store::connect(url, &replica).await?
                    }
                    None => store::open(&self.data_dir).await?,
                };
                store::spawn_retention(Arc::clone(&store), self.retention_days);
                store
            }
        };
        let (runtime, runtime_note) = match self.runtime {
            Some(given) => given,
            None => (local_runtime(&self.data_dir).await, None),
        };
        let left = store::reap_left_runs(store.as_ref(), runtime.as_ref()).await?;
        let kind = runtime.kind();
        let reach = self
            .agents_reach_server
            .unwrap_or(kind == RuntimeKind::Local);
        let (source, bridge) = match self.credentials {
            Credentials::Detect(inputs) => {
                let share = login_share::StoreLoginShare(Arc::clone(&store));
                let bridge =
                    AgentCredentialSource::start_shared(inputs, reach, Some(Arc::new(share)))?;
                (
                    Some(Arc::clone(&bridge) as Arc<dyn CredentialSource>),
                    Some(bridge),
                )
            }
            Credentials::Bridge(bridge) => (
                Some(Arc::clone(&bridge) as Arc<dyn CredentialSource>),
                Some(bridge),
            ),
            Credentials::Custom(source) => (Some(source), None),
            Credentials::Nothing => (None, None),
        };
        let codex_version = match (self.codex_version, kind) {
            (Some(v), _) => Some(v),
            (None, RuntimeKind::Local) => {
                let found = codex_version::probe(&self.agent.codex_program, PROBE_TIMEOUT).await;
                if let Some(problem) = &found.problem {
                    tracing::warn!("{problem}: {}", codex_version::FIX);
                }
                Some(found)
            }
            (None, RuntimeKind::Docker | RuntimeKind::Kubernetes) => None,
        };
        let session_key = session_key_file::load_or_create(&self.data_dir)?;
        let codex_program = self.agent.codex_program.clone();
        let task_store: Arc<dyn codex_mcp_store::TaskStore> = store.clone();
        let task_store_ref = Arc::clone(&task_store);
        let mut manager = AgentManager::new(runtime, self.agent, source, store)
            .with_session_key(session_key)
            .with_max_agents(self.max_agents);
        if let Some(policy) = self.lifecycle {
            manager = manager.with_lifecycle(policy);
        }
        let manager = Arc::new(manager);
        manager.spawn_idle_sweeper();
        let facts = Arc::new(Facts {
            kind,
            runtime_note,
            credentials: bridge.clone(),
            codex_program,
            codex_version,
            warnings: self.warnings,
        });
        let mut builder = McpServer::builder(self.server)
            .session_observer(Arc::new(SessionRecorder::new(Arc::clone(&manager))))
            .task_store(task_store);
        if self.catalogue {
            for spec in codex_mcp_tools::catalogue() {
                builder = match spec.kind {
                    ToolKind::Codex(_) => {
                        builder.tool(CodexToolHandler::new(spec, Arc::clone(&manager)))
                    }
                    ToolKind::Server => builder.tool(ServerToolHandler::new(
                        spec,
                        Arc::clone(&manager),
                        facts.clone() as Arc<dyn ServerFacts>,
                    )),
                };
            }
            for prompt in CatalogPrompt::all() {
                builder = builder.prompt(prompt);
            }
            builder = builder
                .resources(Guide::new())
                .resources(CallResults::new(Arc::clone(&manager)));
        }
        for make in self.tools {
            builder = builder.tool_arc(make(&manager));
        }
        let mut options = self.http;
        options
            .health
            .get_or_insert_with(|| facts.clone() as Arc<dyn HealthReporter>);
        options
            .metrics
            .get_or_insert_with(|| Arc::clone(&manager) as Arc<dyn MetricsReporter>);
        if bridge.is_some() && !options.bearer_exempt_paths.iter().any(|p| p == BROKER_PATH) {
            options.bearer_exempt_paths.push(BROKER_PATH.to_string());
        }
        // The dashboard page is static HTML: a browser following a link cannot send a
        // token; the page asks for one and sends it on its feed and cancel requests.
        if !options
            .bearer_exempt_paths
            .iter()
            .any(|p| p == dashboard::PAGE_PATH)
        {
            options
                .bearer_exempt_paths
                .push(dashboard::PAGE_PATH.to_string());
        }
        let server = builder.build();
        if !left.is_empty() {
            let count = left.len();
            let reattached = server.reattach_tasks(task_store_ref.as_ref(), left).await;
            tracing::info!(
                tasks = count,
                reattached,
                "took over the tasks a previous mcpd left running"
            );
        }
        Ok(CodexMcp {
            http: HttpState::new(server.clone(), options),
            server,
            manager,
            credentials: bridge,
        })
    }
}

/// The local runtime in `data_dir`, after stopping Codex processes a previous process
/// left running.
async fn local_runtime(data_dir: &Path) -> Arc<dyn AgentRuntime> {
    let rt = LocalRuntime::new(LocalConfig::new(data_dir));
    let reaped = rt.reap_orphans().await;
    if reaped > 0 {
        tracing::warn!(
            processes = reaped,
            "stopped Codex processes a previous run left running"
        );
    }
    Arc::new(rt)
}

/// The codex-mcp engine, ready to serve: the Codex tools (and the embedder's) over
/// streamable HTTP, HTTP+SSE, REST and stdio.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use codex_mcp_core::CodexMcp;
///
/// let mcp = CodexMcp::builder("/var/lib/my-app/codex").build().await?;
/// let app = axum::Router::new()
///     .route("/", axum::routing::get(|| async { "my app" }))
///     .nest("/ai/mcp", mcp.router());
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
/// axum::serve(listener, app).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct CodexMcp {
    server: McpServer,
    http: HttpState,
    manager: Arc<AgentManager>,
    credentials: Option<Arc<AgentCredentialSource>>,
}

impl CodexMcp {
    /// A builder keeping the store, session key and (by default) agents' folders in
    /// `data_dir`.
    pub fn builder(data_dir: impl Into<PathBuf>) -> CodexMcpBuilder {
        CodexMcpBuilder {
            data_dir: data_dir.into(),
            runtime: None,
            store: None,
            database_url: None,
            replica_name: None,
            retention_days: 30,
            credentials: Credentials::Detect(DetectInputs::from_process_env()),
            agents_reach_server: None,
            agent: AgentConfig {
                codex_program: "codex".to_string(),
                model: None,
                provider: None,
                approval: Approval::Suggest,
                codex_config: None,
                workspaces: Default::default(),
                max_diff_bytes: 16 << 20,
                inline_result_bytes: crate::tools::inline::DEFAULT_INLINE_RESULT_BYTES,
            },
            lifecycle: None,
            max_agents: 0,
            server: ServerOptions::default(),
            http: HttpOptions::default(),
            tools: Vec::new(),
            catalogue: true,
            codex_version: None,
            warnings: Vec::new(),
        }
    }

    /// Every route (`/mcp`, `/sse` + `/messages`, `/tools/{name}`, `/health`,
    /// `/metrics`, `/dashboard`, and the token broker when the bridge is used), behind the
    /// `Host`/`Origin` and bearer checks. Nest it under any prefix.
    pub fn router(&self) -> Router {
        let extra = match &self.credentials {
            Some(bridge) => bridge.broker_router(),
            None => Router::new(),
        };
        let dashboard = Dashboard::new(Arc::clone(&self.manager), self.http.clone());
        http::router_with(self.http.clone(), extra.merge(dashboard.router()))
    }

    /// Serves [`Self::router`] alone on `listener` until `shutdown` resolves (streams
    /// close, in-flight calls get the grace period). Agents that can dial the listener
    /// send their token refreshes to it.
    pub async fn serve_http(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        if let (Some(bridge), Ok(addr)) = (&self.credentials, listener.local_addr()) {
            bridge.serve_broker_at(addr);
        }
        http::serve_router(listener, self.router(), self.http.clone(), shutdown).await
    }

    /// Serves MCP on this process's stdin and stdout until they close or `shutdown` is
    /// cancelled.
    pub async fn serve_stdio(
        &self,
        options: StdioOptions,
        shutdown: CancellationToken,
    ) -> std::io::Result<()> {
        stdio::serve(
            self.server.clone(),
            tokio::io::stdin(),
            tokio::io::stdout(),
            options,
            shutdown,
        )
        .await
    }

    /// Closes every stream and cancels in-flight calls: for embedders serving
    /// [`Self::router`] with their own `axum::serve`, on shutdown.
    pub fn shutdown(&self) {
        self.http.shutdown.cancel();
        self.server.in_flight().cancel_all();
        self.server.sessions().close_all();
    }

    /// The protocol engine (for other transports).
    pub fn server(&self) -> &McpServer {
        &self.server
    }

    /// The agent manager (for the embedder's own Codex-backed tools, see
    /// [`crate::tools::codex::CodexToolHandler`]).
    pub fn manager(&self) -> &Arc<AgentManager> {
        &self.manager
    }

    /// The credential bridge, when agents' credentials come from it.
    pub fn credentials(&self) -> Option<&Arc<AgentCredentialSource>> {
        self.credentials.as_ref()
    }
}
