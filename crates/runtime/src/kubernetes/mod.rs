//! The Kubernetes backend: one pod per agent, its data on three PVCs.
//!
//! - **Names and labels** (`names.rs`): pod `codex-mcp-agent-<key>`, PVCs
//!   `codex-mcp-agent-<key>-{workspace,codex-home,scratch}`, labelled like Docker objects.
//! - **Pod** (`pod.rs`): why a bare pod, and the hardening (non-root, read-only root,
//!   no capabilities, seccomp, no service-account token, limits); an `agent` container
//!   with the workspace read-only and a `writer` container that may write it.
//! - **Processes** (`exec.rs`): the exec API with stdin, streamed output, exit status;
//!   killing through a second exec, like Docker.
//! - **Files** (`files.rs`): one exec whose stdin carries the bytes.
//! - **Lifecycle** (`agents.rs`): `ensure` creates PVCs and pod and waits for it to run;
//!   an idle stop deletes the pod and keeps the PVCs; purge deletes the PVCs too; after a
//!   restart [`KubernetesRuntime::adopt`] finds the pods by label.
//!
//! The cluster comes from the kubeconfig (`KUBECONFIG`, `~/.kube/config`) or, when mcpd
//! runs in a pod, its service account (see `deploy/kubernetes/`).

mod agents;
mod config;
pub mod doctor;
mod exec;
mod files;
pub mod names;
mod pod;

use async_trait::async_trait;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::{Api, Client};

pub use config::{
    DEFAULT_NAMESPACE, KubernetesConfig, Toleration, parse_namespace, parse_node_selector,
    parse_pull_policy, parse_tolerations,
};
pub use pod::{AGENT_CONTAINER, WRITER_CONTAINER};

use crate::locks::AgentLocks;
use crate::{
    AgentEnv, AgentId, AgentRuntime, AgentSpec, AgentStatus, ExecHandle, ExecSpec, FileToWrite,
    RuntimeError, RuntimeKind,
};

/// Agents as Kubernetes pods. See the module documentation.
pub struct KubernetesRuntime {
    client: Client,
    cfg: KubernetesConfig,
    locks: AgentLocks,
}

impl std::fmt::Debug for KubernetesRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubernetesRuntime")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl KubernetesRuntime {
    /// Connects to the cluster of the kubeconfig (or the in-cluster service account) and
    /// checks that it answers. Fails with [`RuntimeError::ClusterUnreachable`] otherwise.
    pub async fn connect(cfg: KubernetesConfig) -> Result<Self, RuntimeError> {
        let unreachable = |detail: String| RuntimeError::ClusterUnreachable { detail };
        // kube's TLS uses rustls' process-wide provider, which rustls cannot choose by
        // itself when a process has both of its back-ends compiled in (an embedder's, the
        // e2e tests'): then the client panics. Ring, as kube's `ring` feature says, unless
        // the process already chose one (an error then, and nothing changes).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = match &cfg.kubeconfig {
            Some(path) => {
                let file = kube::config::Kubeconfig::read_from(path)
                    .map_err(|e| unreachable(format!("{}: {e}", path.display())))?;
                kube::Config::from_custom_kubeconfig(
                    file,
                    &kube::config::KubeConfigOptions::default(),
                )
                .await
                .map_err(|e| unreachable(format!("{}: {e}", path.display())))?
            }
            None => kube::Config::infer()
                .await
                .map_err(|e| unreachable(e.to_string()))?,
        };
        let client = Client::try_from(config).map_err(|e| unreachable(e.to_string()))?;
        client
            .apiserver_version()
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        Ok(Self {
            client,
            cfg,
            locks: AgentLocks::default(),
        })
    }

    /// Checks that this runtime can work: the namespace exists and pods can be listed in it.
    pub async fn probe(&self) -> Result<(), RuntimeError> {
        self.pods()
            .list(&kube::api::ListParams::default().limit(1))
            .await
            .map(|_| ())
            .map_err(|e| self.map_err("list pods", e))
    }

    /// The settings in force.
    pub fn config(&self) -> &KubernetesConfig {
        &self.cfg
    }

    /// The API client, for tests and diagnostics that need more than the trait.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The name of the agent's pod.
    pub fn pod_name(&self, agent: &AgentId) -> String {
        names::pod_name(&self.cfg, agent)
    }

    /// The names of the agent's PVCs, in the order workspace, codex-home, scratch.
    pub fn pvc_names(&self, agent: &AgentId) -> Vec<String> {
        names::VOLUMES
            .iter()
            .map(|(kind, _)| names::pvc_name(&self.cfg, agent, kind))
            .collect()
    }

    /// Finds the agents' pods left by an earlier run (by label), stops the Codex runs
    /// that run left behind in them, and returns their statuses. Nothing is created.
    pub async fn adopt(&self) -> Result<Vec<AgentStatus>, RuntimeError> {
        agents::adopt(self).await
    }

    pub(crate) fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.cfg.namespace)
    }

    pub(crate) fn pvcs(&self) -> Api<PersistentVolumeClaim> {
        Api::namespaced(self.client.clone(), &self.cfg.namespace)
    }

    /// Turns an API error into ours; connection failures become `ClusterUnreachable`.
    pub(crate) fn map_err(&self, op: &'static str, e: kube::Error) -> RuntimeError {
        match e {
            kube::Error::Api(s) => RuntimeError::Kubernetes {
                op,
                status: Some(s.code),
                message: s.message,
            },
            kube::Error::HyperError(_) | kube::Error::Service(_) => {
                RuntimeError::ClusterUnreachable {
                    detail: e.to_string(),
                }
            }
            other => RuntimeError::Kubernetes {
                op,
                status: None,
                message: other.to_string(),
            },
        }
    }

    fn script_error(&self, op: &'static str, e: exec::ScriptError) -> RuntimeError {
        match e {
            exec::ScriptError::Kube(e) => self.map_err(op, e),
            exec::ScriptError::Failed(message) => RuntimeError::Kubernetes {
                op,
                status: None,
                message,
            },
        }
    }

    /// Why an exec could not start: the pod is gone or not running, or the API said no
    /// (the upgrade to a WebSocket hides the API's own answer, so the pod is looked at).
    pub(crate) async fn exec_error(&self, agent: &AgentId, e: kube::Error) -> RuntimeError {
        match self.pods().get_opt(&self.pod_name(agent)).await {
            Ok(None) => RuntimeError::NotFound {
                agent: agent.to_string(),
            },
            Ok(Some(p))
                if agents::phase(&p) != "Running" || p.metadata.deletion_timestamp.is_some() =>
            {
                RuntimeError::NotRunning {
                    agent: agent.to_string(),
                    state: format!("pod {}", agents::phase(&p)),
                }
            }
            _ => self.map_err("exec", e),
        }
    }
}

#[async_trait]
impl AgentRuntime for KubernetesRuntime {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Kubernetes
    }

    async fn ensure(&self, agent: &AgentId, spec: &AgentSpec) -> Result<AgentEnv, RuntimeError> {
        agents::ensure(self, agent, spec).await
    }

    async fn exec(&self, agent: &AgentId, cmd: ExecSpec) -> Result<ExecHandle, RuntimeError> {
        exec::exec(self, agent, cmd).await
    }

    async fn write_file(
        &self,
        agent: &AgentId,
        path: &str,
        bytes: &[u8],
        mode: u32,
    ) -> Result<(), RuntimeError> {
        files::write_files(self, agent, &[FileToWrite { path, bytes, mode }]).await
    }

    async fn write_files(
        &self,
        agent: &AgentId,
        files: &[FileToWrite<'_>],
    ) -> Result<(), RuntimeError> {
        files::write_files(self, agent, files).await
    }

    async fn status(&self, agent: &AgentId) -> Result<Option<AgentStatus>, RuntimeError> {
        agents::status(self, agent, true).await
    }

    async fn oom_kills(&self, agent: &AgentId) -> Result<Option<u64>, RuntimeError> {
        agents::oom_kills(self, agent).await
    }

    /// Not measured yet on Kubernetes (the PVCs' use would need an exec per volume or
    /// the kubelet's stats API): `None`, shown as "not reported".
    async fn disk_usage(&self, _agent: &AgentId) -> Result<Option<crate::DiskUsage>, RuntimeError> {
        Ok(None)
    }

    async fn list(&self) -> Result<Vec<AgentStatus>, RuntimeError> {
        agents::list(self).await
    }

    async fn stop(&self, agent: &AgentId) -> Result<(), RuntimeError> {
        agents::stop(self, agent).await
    }

    async fn remove(&self, agent: &AgentId, purge_data: bool) -> Result<(), RuntimeError> {
        agents::remove(self, agent, purge_data).await
    }
}
