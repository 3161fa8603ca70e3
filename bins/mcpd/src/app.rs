//! Wiring: builds the engine, the agent runtime and the tools from the settings.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use codex_mcp_core::agents::lifecycle::LifecyclePolicy;
use codex_mcp_core::agents::session_records::SessionRecorder;
use codex_mcp_core::agents::{AgentConfig, AgentManager, Approval, CredentialSource};
use codex_mcp_core::server::{McpServer, ServerOptions};
use codex_mcp_core::tools::codex::CodexToolHandler;
use codex_mcp_core::tools::prompts::CatalogPrompt;
use codex_mcp_core::tools::server::{ServerFacts, ServerToolHandler};
use codex_mcp_core::transport::http::metrics::MetricsReporter;
use codex_mcp_core::transport::http::{HealthReporter, HostPolicy, HttpOptions};
use codex_mcp_protocol::lifecycle::Implementation;
use codex_mcp_runtime::docker::{DockerConfig, DockerRuntime};
use codex_mcp_runtime::local::{LocalConfig, LocalRuntime};
use codex_mcp_runtime::{AgentRuntime, RuntimeKind};
use codex_mcp_tools::ToolKind;
use codex_mcp_tools::tools::health::{CodexHealth, CredentialsHealth};
use serde_json::{Value, json};

use crate::credentials::AgentCredentialSource;
use crate::settings::{ApprovalMode, RuntimeChoice, Settings};

const INSTRUCTIONS: &str = "codex-mcp hands work to OpenAI's Codex CLI. Each agent gets its own \
persistent environment (workspace, Codex home, conversation history). Pass agent_id (or the \
X-Agent-Id header) to keep your work in one environment. Call health_check first if unsure.";

/// Facts about this deployment for `health_check` and `/health`.
pub struct Facts {
    runtime: &'static str,
    runtime_note: Option<String>,
    credentials: Arc<AgentCredentialSource>,
    codex_program: String,
    /// `codex --version` as probed at startup (local runtime only).
    codex_version: Option<crate::codex_version::CodexVersion>,
    kind: RuntimeKind,
    /// How exposed this server is (`exposure`), shown in `/health`.
    warnings: Vec<String>,
}

impl ServerFacts for Facts {
    fn runtime(&self) -> (String, Option<String>) {
        (self.runtime.to_string(), self.runtime_note.clone())
    }

    fn credentials(&self) -> CredentialsHealth {
        self.credentials.health()
    }

    fn codex(&self) -> CodexHealth {
        let available = match self.kind {
            RuntimeKind::Docker => true,
            _ => {
                let p = std::path::Path::new(&self.codex_program);
                if p.components().count() > 1 {
                    p.is_file()
                } else {
                    std::env::var_os("PATH").is_some_and(|path| {
                        std::env::split_paths(&path).any(|d| d.join(p).is_file())
                    })
                }
            }
        };
        let version = self.codex_version.as_ref();
        // A missing binary is named by `available`; a version problem only when it runs.
        let problem = version
            .and_then(|v| v.problem.as_ref())
            .filter(|_| available)
            .map(|p| format!("{p}: {}", crate::codex_version::FIX));
        CodexHealth {
            available: available && problem.is_none(),
            version: version.map(|v| v.line.clone()).filter(|l| !l.is_empty()),
            problem,
        }
    }
}

impl HealthReporter for Facts {
    fn report(&self) -> Value {
        let credentials = self.credentials();
        json!({
            "runtime": self.runtime,
            "runtime_note": self.runtime_note,
            "credentials": credentials,
            "codex": self.codex(),
            "warnings": self.warnings,
        })
    }
}

/// The Docker backend's settings: mcpd's, plus the engine's own `DOCKER_HOST` (read as
/// the docker CLI reads it).
pub fn docker_config(settings: &Settings) -> Result<DockerConfig, codex_mcp_runtime::RuntimeError> {
    let mut cfg = DockerConfig::from_lookup(|k| {
        (k == "DOCKER_HOST")
            .then(|| std::env::var(k).ok())
            .flatten()
    })?;
    if let Some(instance) = &settings.instance {
        cfg = cfg
            .with_name_prefix(format!("codex-mcp-{instance}-agent-"))
            .with_label("codex-mcp.instance", instance.clone());
    }
    Ok(cfg
        .with_image(settings.agent_image.clone())
        .with_network_mode(settings.container_network_mode.clone())
        .with_workspace_roots(settings.workspace_roots.clone())
        .with_limits(
            Some((settings.container_cpu_limit * 1e9) as i64),
            Some(settings.container_memory_limit_bytes),
        ))
}

async fn runtime(settings: &Settings) -> anyhow::Result<(Arc<dyn AgentRuntime>, Option<String>)> {
    let local = || async {
        let cfg = LocalConfig::new(&settings.data_dir)
            .with_workspace_roots(settings.workspace_roots.clone());
        let rt = LocalRuntime::new(cfg);
        let reaped = rt.reap_orphans().await;
        if reaped > 0 {
            tracing::warn!(
                processes = reaped,
                "stopped Codex processes a previous mcpd left running"
            );
        }
        Arc::new(rt) as Arc<dyn AgentRuntime>
    };
    let docker = || async {
        let cfg = docker_config(settings)?;
        let rt = DockerRuntime::connect(cfg).await?;
        rt.probe().await?;
        rt.adopt().await?;
        Ok::<_, codex_mcp_runtime::RuntimeError>(rt)
    };
    let tokens = settings.tokens_file.is_some();
    // Only reached with MCPD_ALLOW_LOCAL_RUNTIME_WITH_TOKENS (see `exposure`).
    let local_note = || tokens.then(crate::exposure::local_with_tokens_warning);
    match settings.runtime {
        RuntimeChoice::Local => Ok((local().await, local_note())),
        RuntimeChoice::Docker => {
            let rt = docker().await.context("CODEX_MCP_RUNTIME=docker")?;
            Ok((Arc::new(rt), None))
        }
        RuntimeChoice::Auto if !settings.persistent_mode => Ok((
            local().await,
            Some(local_note().unwrap_or_else(|| {
                "PERSISTENT_MODE=false: agents use host folders, not containers".into()
            })),
        )),
        RuntimeChoice::Auto => match docker().await {
            Ok(rt) => Ok((Arc::new(rt), None)),
            Err(e) if tokens && !settings.allow_local_runtime_with_tokens => {
                anyhow::bail!(
                    "CODEX_MCP_RUNTIME=auto: Docker is not usable ({e}), and with \
                     MCPD_TOKENS_FILE set mcpd does not fall back to the local runtime, whose \
                     Codex could read every file of this host. Fix Docker, or set \
                     MCPD_ALLOW_LOCAL_RUNTIME_WITH_TOKENS=1 to accept the fallback"
                )
            }
            Err(e) => {
                let mut note = format!(
                    "Docker is not usable ({e}); agents run in host folders (local runtime)"
                );
                if let Some(warning) = local_note() {
                    note = format!("{note}. {warning}");
                }
                tracing::warn!("{note}");
                Ok((local().await, Some(note)))
            }
        },
    }
}

/// The engine, HTTP options and the agents' credentials (whose broker route the HTTP
/// server mounts) for these settings.
pub async fn build(
    settings: &Settings,
) -> anyhow::Result<(
    McpServer,
    HttpOptions,
    Arc<AgentCredentialSource>,
    Arc<AgentManager>,
)> {
    let store = crate::store::open(settings).await?;
    crate::store::spawn_retention(Arc::clone(&store), settings);
    let (runtime, runtime_note) = runtime(settings).await?;
    let kind = runtime.kind();
    let codex_config = match &settings.codex_config {
        Some(path) => Some(std::fs::read_to_string(path).with_context(|| {
            format!("CODEX_MCP_CODEX_CONFIG={}: cannot read it", path.display())
        })?),
        None => None,
    };
    let codex_program = match (kind, &settings.codex_bin) {
        (RuntimeKind::Local, Some(bin)) => bin.display().to_string(),
        _ => "codex".to_string(),
    };
    let agents_reach_server =
        kind == RuntimeKind::Local || settings.container_network_mode == "host";
    let credentials = AgentCredentialSource::start(settings, agents_reach_server)?;
    let codex_for_facts = codex_program.clone();
    let codex_version = match kind {
        RuntimeKind::Local => {
            let found = crate::codex_version::probe(&codex_program, Duration::from_secs(10)).await;
            if let Some(problem) = &found.problem {
                tracing::warn!("{problem}: {}", crate::codex_version::FIX);
            }
            Some(found)
        }
        RuntimeKind::Docker => None,
    };
    let manager = Arc::new(
        AgentManager::new(
            runtime,
            AgentConfig {
                codex_program,
                model: settings.codex_model.clone(),
                provider: settings.codex_provider.clone(),
                approval: match settings.approval_mode {
                    ApprovalMode::Suggest => Approval::Suggest,
                    ApprovalMode::Auto => Approval::Auto,
                    ApprovalMode::Manual => Approval::Manual,
                },
                codex_config,
                workspaces: settings.agent_workspaces.iter().cloned().collect(),
                max_diff_bytes: usize::try_from(settings.max_diff_bytes).unwrap_or(usize::MAX),
            },
            Some(credentials.clone() as Arc<dyn CredentialSource>),
            store,
        )
        .with_lifecycle(LifecyclePolicy {
            max_running: settings.max_concurrent_sessions,
            idle_timeout: Duration::from_secs(settings.session_timeout_seconds),
        })
        .with_session_key(
            crate::session_key::load_or_create(&settings.data_dir).map_err(anyhow::Error::msg)?,
        )
        .with_max_agents(settings.max_agents),
    );
    manager.spawn_idle_sweeper();
    let facts = Arc::new(Facts {
        runtime: match kind {
            RuntimeKind::Docker => "docker",
            RuntimeKind::Local => "local",
        },
        runtime_note,
        credentials: credentials.clone(),
        codex_program: codex_for_facts,
        codex_version,
        kind,
        warnings: settings.exposure_warnings.clone(),
    });
    let options = ServerOptions {
        info: Implementation {
            name: "mcpd".into(),
            title: Some("codex-mcp".into()),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        instructions: Some(INSTRUCTIONS.into()),
        session_idle_timeout: Duration::from_secs(settings.session_timeout_seconds),
        max_sessions: settings.max_sessions,
        max_calls_per_token: settings.max_calls_per_token,
        ..ServerOptions::default()
    };
    let mut builder = McpServer::builder(options)
        .session_observer(Arc::new(SessionRecorder::new(Arc::clone(&manager))));
    for spec in codex_mcp_tools::catalogue() {
        match spec.kind {
            ToolKind::Codex(_) => {
                builder = builder.tool(CodexToolHandler::new(spec, Arc::clone(&manager)))
            }
            ToolKind::Server => {
                builder = builder.tool(ServerToolHandler::new(
                    spec,
                    Arc::clone(&manager),
                    facts.clone() as Arc<dyn ServerFacts>,
                ));
            }
        }
    }
    for prompt in CatalogPrompt::all() {
        builder = builder.prompt(prompt);
    }
    let server = builder.build();
    let tokens = match &settings.tokens_file {
        Some(path) => {
            let table = crate::tokens::load(path).map_err(anyhow::Error::msg)?;
            tracing::info!(
                tokens = table.len(),
                "bearer tokens required (MCPD_TOKENS_FILE)"
            );
            Some(table)
        }
        None => None,
    };
    let http = HttpOptions {
        host_policy: HostPolicy::loopback()
            .with_hosts(settings.allowed_hosts.iter().cloned())
            .with_origins(settings.allowed_origins.iter().cloned()),
        health: Some(facts as Arc<dyn HealthReporter>),
        metrics: Some(Arc::clone(&manager) as Arc<dyn MetricsReporter>),
        tokens,
        // The dashboard page is static HTML: a browser following a link cannot send a
        // token; the page asks for one and sends it on its feed and cancel requests.
        bearer_exempt_paths: vec![
            crate::credentials::BROKER_PATH.to_string(),
            codex_mcp_core::dashboard::PAGE_PATH.to_string(),
        ],
        ..HttpOptions::default()
    };
    Ok((server, http, credentials, manager))
}
