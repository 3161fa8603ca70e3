//! The Docker backend: one long-running, hardened container per agent.
//!
//! - **Names and labels** ([`labels`]): container `codex-mcp-agent-<id>`, volumes
//!   `codex-mcp-agent-<id>-{workspace,codex-home,scratch}`, all labelled
//!   `codex-mcp.managed=true` and `codex-mcp.agent=<id>`.
//! - **Layout** (`layout.rs`): the workspace read-only at `/workspace` for every process,
//!   writable at `/live/workspace` only for processes run with group 2000 (auto-mode
//!   writing tools); the container's security-relevant settings recorded in a label, so a
//!   changed setting recreates it (volumes kept).
//! - **Containers** (`container.rs`): created from the agent image running `sleep infinity`
//!   under Docker's init, as user 1000:1000 with every capability dropped,
//!   `no-new-privileges`, a read-only root file system (tmpfs `/tmp` and `/home/agent`),
//!   a pids limit, CPU and memory limits and the configured network mode. The Docker socket
//!   is never mounted.
//! - **Processes** (`exec.rs`): the exec API, attached; each process runs under a tiny `sh`
//!   wrapper that records its pid, so that killing it (another exec) can take its whole
//!   tree, which the API itself cannot do, and copies its output to files in `/tmp`, so
//!   it survives the server and a restarted server can re-attach to it (`durable.rs`).
//! - **Files** (`archive.rs`): the archive (tar upload) API, so file contents never appear in
//!   an environment, label or command line. The Codex home files of a turn are not
//!   uploaded but carried in at the head of the run's stdin (`carry.rs`): no API call.
//! - **Known state** (`known.rs`): a container this server left running is trusted by
//!   `ensure` (no inspect per turn); an exec that finds it stopped or gone readies it
//!   again and tries once more.
//! - **Volumes** (`volume.rs`): the agent's data, created with the container, removed only
//!   on purge.
//! - **Stats** (`stats.rs`): one non-streaming stats call for CPU and memory.
//!
//! Recovery is by name and label: [`DockerRuntime::adopt`] finds existing agents after a
//! restart and `ensure` re-creates a container that died or was removed, with its volumes.

mod archive;
mod carry;
mod config;
mod container;
mod durable;
pub(crate) mod exec;
mod known;
pub mod labels;
mod layout;
mod oneoff;
pub(crate) mod prepare;
mod run_helper;
mod stats;
mod volume;

use async_trait::async_trait;
use bollard::Docker;
use bollard::errors::Error as BollardError;
use tracing::warn;

pub use config::{
    DEFAULT_ENDPOINT, DEFAULT_IMAGE, DEFAULT_PREFIX, DockerConfig, parse_agent_images,
};
pub use prepare::{CODEX_DIST, ImageReport};

use crate::locks::AgentLocks;
use crate::{
    AgentEnv, AgentId, AgentRuntime, AgentSpec, AgentStatus, ExecHandle, ExecSpec, RuntimeError,
    RuntimeKind,
};

/// Agents as Docker containers. See the module documentation.
#[derive(Debug)]
pub struct DockerRuntime {
    docker: Docker,
    cfg: DockerConfig,
    locks: AgentLocks,
    /// The CPU limit actually applied: the configured one, capped at the engine's CPUs
    /// (the engine refuses a container asking for more CPUs than the host has).
    nano_cpus: Option<i64>,
    /// Each agent image's id as this server first saw it, by image (see `image_id`).
    image_ids: tokio::sync::Mutex<std::collections::HashMap<String, String>>,
    /// Running processes that may write the workspace, by agent (see `exec.rs`).
    writers: exec::Writers,
    /// Pinned Codex volumes this server has seen filled (see `prepare.rs`).
    codex_filled: tokio::sync::Mutex<std::collections::HashSet<String>>,
    /// Containers this server left running, trusted by `ensure` (see `known.rs`).
    known: known::Known,
}

impl DockerRuntime {
    /// Connects to the engine at `cfg.endpoint` and agrees on an API version (the engine
    /// may be older than bollard: 20.10 speaks 1.41). Fails with
    /// [`RuntimeError::EngineUnreachable`] when nothing answers.
    pub async fn connect(cfg: DockerConfig) -> Result<Self, RuntimeError> {
        let unreachable = |e: BollardError| RuntimeError::EngineUnreachable {
            endpoint: cfg.endpoint.clone(),
            detail: e.to_string(),
        };
        let docker = Docker::connect_with_unix(
            cfg.socket_path(),
            cfg.request_timeout.as_secs().max(1),
            bollard::API_DEFAULT_VERSION,
        )
        .map_err(unreachable)?
        .negotiate_version()
        .await
        .map_err(unreachable)?;
        let host_nano_cpus = match docker.info().await {
            Ok(info) => info.ncpu.and_then(|n| n.checked_mul(1_000_000_000)),
            Err(e) => {
                warn!(error = %e, "could not read the engine's CPU count");
                None
            }
        };
        let nano_cpus = match (cfg.nano_cpus, host_nano_cpus) {
            (Some(want), Some(host)) if want > host => {
                warn!(
                    requested = want as f64 / 1e9,
                    available = host as f64 / 1e9,
                    "CONTAINER_CPU_LIMIT exceeds the engine's CPUs: capped to all of them"
                );
                Some(host)
            }
            (want, _) => want,
        };
        Ok(Self {
            docker,
            cfg,
            locks: AgentLocks::default(),
            nano_cpus,
            image_ids: tokio::sync::Mutex::default(),
            writers: exec::Writers::default(),
            codex_filled: tokio::sync::Mutex::default(),
            known: known::Known::default(),
        })
    }

    /// Checks that this runtime can work: the engine answers and the agent image exists.
    /// `CODEX_MCP_RUNTIME=auto` picks Docker only when this succeeds.
    pub async fn probe(&self) -> Result<(), RuntimeError> {
        self.docker.ping().await.map_err(self.err("ping"))?;
        self.check_image(&self.cfg.image).await
    }

    /// The settings in force.
    pub fn config(&self) -> &DockerConfig {
        &self.cfg
    }

    /// The CPU limit given to new containers, in billionths of a CPU: the configured limit
    /// capped at the engine's CPU count.
    pub fn effective_nano_cpus(&self) -> Option<i64> {
        self.nano_cpus
    }

    /// The engine client, for tests and diagnostics that need more than the trait.
    pub fn client(&self) -> &Docker {
        &self.docker
    }

    /// The name of the agent's container.
    pub fn container_name(&self, agent: &AgentId) -> String {
        labels::container_name(&self.cfg, agent)
    }

    /// The names of the agent's volumes, in the order workspace, codex-home, scratch.
    pub fn volume_names(&self, agent: &AgentId) -> Vec<String> {
        labels::VOLUMES
            .iter()
            .map(|(kind, _)| labels::volume_name(&self.cfg, agent, kind))
            .collect()
    }

    /// Finds the agents' containers left by an earlier run (by label and name), so the
    /// engine can reconcile its records after a restart. Nothing is started, duplicated or
    /// changed here: the runtime keeps no state of its own, and `ensure` finds each
    /// container again by its name and starts it if needed. Returns their statuses, without
    /// resource figures (those take a second per container). Containers that carry our
    /// labels under an unexpected name are logged and left alone.
    pub async fn adopt(&self) -> Result<Vec<AgentStatus>, RuntimeError> {
        container::adopt(self, &[]).await
    }

    /// [`DockerRuntime::adopt`], but the runs named in `keep` (by the run id they were
    /// started with, [`ExecSpec::run_id`]) are left running, for the engine to
    /// [`reattach`](AgentRuntime::reattach) to them; every other run a previous server
    /// left behind is stopped as `adopt` does.
    pub async fn adopt_keeping(&self, keep: &[String]) -> Result<Vec<AgentStatus>, RuntimeError> {
        container::adopt(self, keep).await
    }

    /// Runs `codex --version` in a one-off container of the agent image (no network, no
    /// capabilities, removed afterwards) and returns what it printed, e.g.
    /// `codex-cli 0.169.0`. For diagnostics (`mcpd doctor`).
    pub async fn image_codex_version(&self) -> Result<String, RuntimeError> {
        oneoff::codex_version(self, &self.cfg.image).await
    }

    /// [`DockerRuntime::image_codex_version`] of any image (e.g. the helper image, whose
    /// Codex agents without one of their own get).
    pub async fn codex_version_of(&self, image: &str) -> Result<String, RuntimeError> {
        oneoff::codex_version(self, image).await
    }

    /// Checks what `image` offers an agent (shell, git, Codex, an agent user) in a
    /// one-off container of it, for `mcpd doctor`: what is missing and how to fix it.
    pub async fn check_image_requirements(&self, image: &str) -> Result<ImageReport, RuntimeError> {
        prepare::check_requirements(self, image).await
    }

    pub(crate) async fn check_image(&self, image: &str) -> Result<(), RuntimeError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(()),
            Err(e) if status_of(&e) == Some(404) => Err(RuntimeError::ImageMissing {
                image: image.to_string(),
            }),
            Err(e) => Err(self.map_err("inspect image", e)),
        }
    }

    /// `image`'s id: asked of the engine when `fresh` or not yet known, else remembered.
    /// `None` when the image cannot be inspected.
    pub(crate) async fn image_id(&self, image: &str, fresh: bool) -> Option<String> {
        let mut known = self.image_ids.lock().await;
        if fresh || !known.contains_key(image) {
            let id = self.docker.inspect_image(image).await.ok()?.id?;
            known.insert(image.to_string(), id);
        }
        known.get(image).cloned()
    }

    /// Turns an engine error into ours; connection failures become `EngineUnreachable`.
    fn map_err(&self, op: &'static str, e: BollardError) -> RuntimeError {
        match e {
            BollardError::DockerResponseServerError {
                status_code,
                message,
            } => RuntimeError::Docker {
                op,
                status: Some(status_code),
                message,
            },
            BollardError::SocketNotFoundError(_)
            | BollardError::HyperLegacyError { .. }
            | BollardError::HyperResponseError { .. }
            | BollardError::IOError { .. }
            | BollardError::RequestTimeoutError => RuntimeError::EngineUnreachable {
                endpoint: self.cfg.endpoint.clone(),
                detail: e.to_string(),
            },
            other => RuntimeError::Docker {
                op,
                status: None,
                message: other.to_string(),
            },
        }
    }

    fn err(&self, op: &'static str) -> impl FnOnce(BollardError) -> RuntimeError + '_ {
        move |e| self.map_err(op, e)
    }
}

/// The HTTP status of an engine answer, if it was one.
pub(crate) fn status_of(e: &BollardError) -> Option<u16> {
    match e {
        BollardError::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

#[async_trait]
impl AgentRuntime for DockerRuntime {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Docker
    }

    async fn ensure(&self, agent: &AgentId, spec: &AgentSpec) -> Result<AgentEnv, RuntimeError> {
        container::ensure(self, agent, spec).await
    }

    async fn exec(&self, agent: &AgentId, cmd: ExecSpec) -> Result<ExecHandle, RuntimeError> {
        exec::exec(self, agent, cmd).await
    }

    async fn reattach(
        &self,
        agent: &AgentId,
        run_id: &str,
    ) -> Result<Option<ExecHandle>, RuntimeError> {
        durable::reattach(self, agent, run_id).await
    }

    async fn reap_left_runs(&self, keep: &[String]) -> Result<(), RuntimeError> {
        container::adopt(self, keep).await.map(drop)
    }

    async fn write_file(
        &self,
        agent: &AgentId,
        path: &str,
        bytes: &[u8],
        mode: u32,
    ) -> Result<(), RuntimeError> {
        archive::write_file(self, agent, path, bytes, mode).await
    }

    async fn write_files(
        &self,
        agent: &AgentId,
        files: &[crate::FileToWrite<'_>],
    ) -> Result<(), RuntimeError> {
        archive::write_files(self, agent, files).await
    }

    async fn stage_files(
        &self,
        agent: &AgentId,
        run_id: &str,
        files: &[crate::FileToWrite<'_>],
    ) -> Result<Option<crate::StagedFiles>, RuntimeError> {
        archive::stage_files(self, agent, run_id, files).await
    }

    async fn stop_run(&self, agent: &AgentId, run_id: &str) -> Result<(), RuntimeError> {
        durable::stop(self, agent, run_id).await
    }

    async fn status(&self, agent: &AgentId) -> Result<Option<AgentStatus>, RuntimeError> {
        container::status(self, agent, true).await
    }

    async fn oom_kills(&self, agent: &AgentId) -> Result<Option<u64>, RuntimeError> {
        exec::oom_kills(self, &self.container_name(agent)).await
    }

    async fn disk_usage(&self, agent: &AgentId) -> Result<Option<crate::DiskUsage>, RuntimeError> {
        exec::disk_usage(self, agent).await
    }

    async fn list(&self) -> Result<Vec<AgentStatus>, RuntimeError> {
        container::list(self).await
    }

    async fn stop(&self, agent: &AgentId) -> Result<(), RuntimeError> {
        container::stop(self, agent).await
    }

    async fn remove(&self, agent: &AgentId, purge_data: bool) -> Result<(), RuntimeError> {
        container::remove(self, agent, purge_data).await
    }
}
