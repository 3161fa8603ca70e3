//! Wiring: builds the engine, the agent runtime and the tools from the settings.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use codex_mcp_core::agents::lifecycle::LifecyclePolicy;
use codex_mcp_core::transport::http::HostPolicy;
use codex_mcp_core::{AgentConfig, CodexMcp, EmbedError, HttpOptions, ServerOptions};
use codex_mcp_protocol::lifecycle::Implementation;
use codex_mcp_runtime::docker::{DockerConfig, DockerRuntime};
use codex_mcp_runtime::kubernetes::{KubernetesConfig, KubernetesRuntime};
use codex_mcp_runtime::local::{LocalConfig, LocalRuntime};
use codex_mcp_runtime::{AgentRuntime, RuntimeKind};

use crate::settings::{RuntimeChoice, Settings};

const INSTRUCTIONS: &str = "codex-mcp hands work to OpenAI's Codex CLI. Each agent gets its own \
persistent environment (workspace, Codex home, conversation history). Pass agent_id (or the \
X-Agent-Id header) to keep your work in one environment. Call health_check first if unsure.";

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
        .with_agent_images(settings.agent_images.clone())
        .with_network_mode(settings.container_network_mode.clone())
        .with_workspace_roots(settings.workspace_roots.clone())
        .with_limits(
            Some((settings.container_cpu_limit * 1e9) as i64),
            Some(settings.container_memory_limit_bytes),
        ))
}

/// The Kubernetes backend's settings: `CODEX_MCP_K8S_*` with the shared image and limits.
pub fn kubernetes_config(settings: &Settings) -> KubernetesConfig {
    let k = &settings.kubernetes;
    let mut cfg = KubernetesConfig::default();
    if let Some(instance) = &settings.instance {
        cfg = cfg
            .with_name_prefix(format!("codex-mcp-{instance}-agent-"))
            .with_label("codex-mcp.instance", instance.clone());
    }
    cfg.with_namespace(k.namespace.clone())
        .with_image(settings.agent_image.clone())
        .with_image_pull_policy(k.image_pull_policy.clone())
        .with_storage_class(k.storage_class.clone())
        .with_volume_bytes(k.volume_bytes)
        .with_node_selector(k.node_selector.clone())
        .with_tolerations(k.tolerations.clone())
        .with_host_network(k.host_network)
        .with_limits(
            Some((settings.container_cpu_limit * 1000.0).ceil() as u64),
            Some(settings.container_memory_limit_bytes),
        )
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
        // Adopting its containers (stopping the Codex runs a previous mcpd left,
        // but those the engine re-attaches to) happens at build, once the store is read.
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
        RuntimeChoice::Kubernetes => {
            let k8s = async {
                let rt = KubernetesRuntime::connect(kubernetes_config(settings)).await?;
                rt.probe().await?;
                rt.adopt().await?;
                Ok::<_, codex_mcp_runtime::RuntimeError>(rt)
            };
            let rt = k8s.await.context("CODEX_MCP_RUNTIME=kubernetes")?;
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

/// The engine for these settings, built through the same facade an embedder uses.
pub async fn build(settings: &Settings) -> anyhow::Result<CodexMcp> {
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
    let agents_reach_server = match kind {
        RuntimeKind::Local => true,
        RuntimeKind::Docker => settings.container_network_mode == "host",
        RuntimeKind::Kubernetes => settings.kubernetes.host_network,
    };
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
        task_ttl: Duration::from_secs(settings.task_ttl_seconds),
        max_task_ttl: Duration::from_secs(settings.task_max_ttl_seconds),
        ..ServerOptions::default()
    };
    if let Some(table) = &settings.tokens {
        tracing::info!(
            tokens = table.len(),
            "bearer tokens required (MCPD_TOKENS_FILE)"
        );
    }
    let http = HttpOptions {
        host_policy: HostPolicy::loopback()
            .with_hosts(settings.allowed_hosts.iter().cloned())
            .with_origins(settings.allowed_origins.iter().cloned()),
        tokens: settings.tokens.clone(),
        ..HttpOptions::default()
    };
    let mcp = CodexMcp::builder(&settings.data_dir)
        .runtime(runtime, runtime_note)
        .database_url(settings.database_url.clone())
        .replica_name(settings.replica_name.clone())
        .retention_days(settings.call_retention_days)
        .detect_credentials(crate::credentials::detect_inputs(settings))
        .agents_reach_server(agents_reach_server)
        .agent_config(AgentConfig {
            codex_program,
            model: settings.codex_model.clone(),
            provider: settings.codex_provider.clone(),
            approval: settings.approval_mode,
            codex_config,
            workspaces: settings.agent_workspaces.iter().cloned().collect(),
            max_diff_bytes: usize::try_from(settings.max_diff_bytes).unwrap_or(usize::MAX),
            inline_result_bytes: usize::try_from(settings.inline_result_bytes)
                .unwrap_or(usize::MAX),
        })
        .lifecycle(LifecyclePolicy {
            max_running: settings.max_concurrent_sessions,
            idle_timeout: Duration::from_secs(settings.session_timeout_seconds),
        })
        .max_agents(settings.max_agents)
        .server_options(options)
        .http_options(http)
        .warnings(settings.exposure_warnings.clone())
        .build()
        .await
        .map_err(|e| match e {
            EmbedError::DataDir { .. } | EmbedError::Store { .. } => {
                anyhow::Error::new(e).context("CODEX_MCP_DATA_DIR")
            }
            other => anyhow::Error::new(other),
        })?;
    Ok(mcp)
}
