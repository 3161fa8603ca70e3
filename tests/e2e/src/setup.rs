//! One `mcpd` with the real Codex and a scripted model, on either runtime, for the tool
//! tests; and [`runtime_tests!`](crate::runtime_tests) to run one suite on both.

use std::path::PathBuf;

use codex_mcp_testkit::{CodexHome, ScriptedModel, codex_bin_or_skip, temp_dir};

use crate::Mcpd;
use crate::docker::{AGENT_IMAGE, DockerScope, docker_ready_or_skip};
use crate::kubernetes::KubeScope;

/// Where the agents of a test live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// Host folders under the data dir; Codex is the pinned binary on the host.
    Local,
    /// One container per agent from [`AGENT_IMAGE`], network mode `host` so that Codex
    /// inside reaches the scripted model on 127.0.0.1.
    Docker,
    /// One pod per agent in the test cluster (`scripts/k8s-cluster.sh`), on the host's
    /// network like `Docker`; `mcpd` outside the cluster with a kubeconfig.
    Kubernetes,
}

impl Runtime {
    /// The name `health_check` reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Docker => "docker",
            Self::Kubernetes => "kubernetes",
        }
    }
}

/// A running `mcpd` with its model, data dir and (Docker) engine slice.
pub struct Setup {
    /// The server.
    pub mcpd: Mcpd,
    /// The model behind every agent's Codex.
    pub model: ScriptedModel,
    /// `CODEX_MCP_DATA_DIR`.
    pub data: PathBuf,
    /// The runtime in use.
    pub runtime: Runtime,
    /// The test's engine slice (Docker only); dropped after `mcpd`, removing everything.
    pub docker: Option<DockerScope>,
    /// The test's namespace (Kubernetes only); dropped after `mcpd`, deleting everything.
    pub kube: Option<KubeScope>,
    /// Holds the Codex home and `server-config.toml`.
    pub home: PathBuf,
    /// The environment `mcpd` was started with.
    pub env: Vec<(&'static str, String)>,
    _dirs: Vec<tempfile::TempDir>,
}

/// The environment `mcpd` gets for `runtime`, before `extra_env` overrides it.
fn base_env(
    runtime: Runtime,
    codex: &std::path::Path,
    data: &std::path::Path,
    home: &std::path::Path,
    config: &std::path::Path,
    scope: Option<&DockerScope>,
    kube: Option<&KubeScope>,
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("CODEX_MCP_RUNTIME", runtime.name().to_string()),
        ("CODEX_MCP_DATA_DIR", data.display().to_string()),
        ("CODEX_MCP_CODEX_CONFIG", config.display().to_string()),
        ("OPENAI_API_KEY", "sk-e2e-test-key".to_string()),
        // No ~/.codex of the developer's: the only credential is the key.
        ("HOME", home.display().to_string()),
    ];
    match (scope, kube) {
        (_, Some(kube)) => env.extend(kube.mcpd_env()),
        (None, None) => env.push(("CODEX_BIN", codex.display().to_string())),
        (Some(scope), None) => env.extend([
            ("CODEX_MCP_AGENT_IMAGE", AGENT_IMAGE.to_string()),
            ("CODEX_MCP_INSTANCE", scope.instance.clone()),
            ("CONTAINER_NETWORK_MODE", "host".to_string()),
            ("CONTAINER_CPU_LIMIT", "1".to_string()),
            ("CONTAINER_MEMORY_LIMIT", "1g".to_string()),
        ]),
    }
    env
}

impl Setup {
    /// Starts `mcpd` on `runtime` in `approval` mode; `extra_env` overrides or adds
    /// settings (an empty value unsets nothing: it is passed as empty). `None` when Codex
    /// or Docker is missing outside CI (said loudly); under `CI=true` that fails instead.
    pub async fn start(
        runtime: Runtime,
        approval: &str,
        extra_env: &[(&'static str, String)],
    ) -> Option<Self> {
        let codex = codex_bin_or_skip()?;
        if runtime == Runtime::Docker && !docker_ready_or_skip() {
            return None;
        }
        let model = must(ScriptedModel::start().await, "the scripted model");
        let home_dir = must(temp_dir("e2e-home"), "a temporary Codex home");
        let data_dir = must(temp_dir("e2e-data"), "a temporary data dir");
        let home = CodexHome::new(home_dir.path(), &model);
        let config = home_dir.path().join("server-config.toml");
        must(
            std::fs::write(&config, home.config_toml()).map_err(anyhow::Error::from),
            "server-config.toml",
        );
        let scope = (runtime == Runtime::Docker).then(DockerScope::new);
        let kube = match runtime {
            Runtime::Kubernetes => Some(KubeScope::new()?),
            _ => None,
        };
        let mut env = base_env(
            runtime,
            &codex,
            data_dir.path(),
            home_dir.path(),
            &config,
            scope.as_ref(),
            kube.as_ref(),
        );
        env.push(("CODEX_APPROVAL_MODE", approval.to_string()));
        for (k, v) in extra_env {
            env.retain(|(name, _)| name != k);
            env.push((*k, v.clone()));
        }
        let mcpd = must(Mcpd::start(&env, home_dir.path()).await, "mcpd");
        Some(Self {
            mcpd,
            model,
            data: data_dir.path().to_path_buf(),
            runtime,
            docker: scope,
            kube,
            home: home_dir.path().to_path_buf(),
            env,
            _dirs: vec![home_dir, data_dir],
        })
    }

    /// SIGKILLs `mcpd` and starts a new one with the same settings, as after a crash.
    pub async fn restart_after_crash(&mut self) -> anyhow::Result<()> {
        self.mcpd.kill().await?;
        self.mcpd = Mcpd::start(&self.env, &self.home).await?;
        Ok(())
    }

    /// What identifies the agent's container or pod (a new one gets a new id): the
    /// container's id, the pod's uid; `None` when it has none, and always on the local
    /// runtime.
    pub fn environment_id(&self, agent: &str) -> Option<String> {
        if let Some(kube) = &self.kube {
            return kube
                .pod_json(agent)
                .and_then(|p| p["metadata"]["uid"].as_str().map(str::to_string));
        }
        let scope = self.docker.as_ref()?;
        crate::docker::docker_cli(&["inspect", "-f", "{{.Id}}", &scope.container(agent)])
            .map(|id| id.trim().to_string())
    }

    /// How many containers or pods the test's agents have (0 on the local runtime).
    pub fn environment_count(&self) -> usize {
        match (&self.kube, &self.docker) {
            (Some(kube), _) => kube.ns.names("pods").len(),
            (None, Some(scope)) => scope.containers().len(),
            (None, None) => 0,
        }
    }

    /// The Kubernetes namespace; panics on the other runtimes (a test bug).
    pub fn kube(&self) -> &KubeScope {
        match &self.kube {
            Some(k) => k,
            None => panic!("not a Kubernetes setup"),
        }
    }

    /// The Docker slice; panics on the local runtime (a test bug).
    pub fn scope(&self) -> &DockerScope {
        match &self.docker {
            Some(s) => s,
            None => panic!("not a Docker setup"),
        }
    }

    /// Writes `file` in the agent's workspace, wherever that lives.
    pub fn write_workspace(&self, agent: &str, file: &str, text: &str) -> anyhow::Result<()> {
        if let Some(kube) = &self.kube {
            return kube.write_workspace(agent, file, text);
        }
        match &self.docker {
            Some(scope) => scope.write_workspace(agent, file, text),
            None => {
                let ws = self.data.join("agents").join(agent).join("workspace");
                std::fs::create_dir_all(&ws)?;
                Ok(std::fs::write(ws.join(file), text)?)
            }
        }
    }

    /// Reads `file` in the agent's workspace, wherever that lives.
    pub fn read_workspace(&self, agent: &str, file: &str) -> anyhow::Result<String> {
        if let Some(kube) = &self.kube {
            return kube.read_workspace(agent, file);
        }
        match &self.docker {
            Some(scope) => scope.read_workspace(agent, file),
            None => {
                let ws = self.data.join("agents").join(agent).join("workspace");
                Ok(std::fs::read_to_string(ws.join(file))?)
            }
        }
    }

    /// Another mcpd replica beside the setup's (same database, runtime and settings)
    /// named `name`, with its own data dir `data`: for a setup on PostgreSQL.
    pub async fn replica(&self, name: &str, data: &std::path::Path) -> anyhow::Result<Mcpd> {
        let mut env = self.env.clone();
        env.retain(|(k, _)| !matches!(*k, "CODEX_MCP_REPLICA_NAME" | "CODEX_MCP_DATA_DIR"));
        env.push(("CODEX_MCP_REPLICA_NAME", name.to_string()));
        env.push(("CODEX_MCP_DATA_DIR", data.display().to_string()));
        Mcpd::start(&env, &self.home).await
    }

    /// The agent's Codex processes still running: on the host (by the agent's Codex
    /// home in their environment) or in the agent's container.
    pub fn codex_processes(&self, agent: &str) -> Vec<String> {
        if let Some(kube) = &self.kube {
            return kube
                .processes(agent)
                .into_iter()
                .filter(|p| p.contains("codex"))
                .collect();
        }
        match &self.docker {
            Some(scope) => scope
                .processes(agent)
                .into_iter()
                .filter(|p| p.contains("codex"))
                .collect(),
            None => host_codex_processes(&self.data.join("agents").join(agent).join("codex-home")),
        }
    }

    /// The agent's scratch area entries (one per suggest-mode call under way, named by
    /// call id): in `<data>/agents/<agent>/scratch`, or `/scratch` in its container.
    pub fn scratch_copies(&self, agent: &str) -> Vec<String> {
        if let Some(kube) = &self.kube {
            let mut names = kube.scratch(agent);
            names.sort();
            return names;
        }
        let mut names: Vec<String> = match &self.docker {
            Some(scope) => crate::docker::docker_cli(&[
                "exec",
                &scope.container(agent),
                "ls",
                "-A",
                "/scratch",
            ])
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect(),
            None => std::fs::read_dir(self.data.join("agents").join(agent).join("scratch"))
                .map(|entries| {
                    entries
                        .flatten()
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .collect()
                })
                .unwrap_or_default(),
        };
        names.sort();
        names
    }

    /// Waits up to ten seconds for the agent's Codex processes to be gone; panics with
    /// the ones left.
    pub async fn assert_no_codex_left(&self, agent: &str) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let left = self.codex_processes(agent);
            if left.is_empty() {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "Codex processes left behind: {left:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

/// The value, or a test failure naming what could not be set up (never a silent skip).
fn must<T>(r: anyhow::Result<T>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("could not start {what}: {e:#}"),
    }
}

/// Command lines of live Codex processes whose environment mentions `data` (a data dir,
/// or one agent's Codex home under it), mcpd itself excluded.
pub fn host_codex_processes(data: &std::path::Path) -> Vec<String> {
    let marker = data.display().to_string();
    let mut left = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return left;
    };
    for entry in entries.flatten() {
        if let Ok(environ) = std::fs::read(entry.path().join("environ")) {
            let environ = String::from_utf8_lossy(&environ);
            let cmdline = std::fs::read_to_string(entry.path().join("cmdline")).unwrap_or_default();
            if environ.contains(&marker) && cmdline.contains("codex") && !cmdline.contains("mcpd") {
                left.push(cmdline.replace('\0', " "));
            }
        }
    }
    left
}

/// Generates `local::NAME` and `docker::NAME` tests calling `NAME(Runtime)` for each
/// name: one suite, run on both runtimes.
#[macro_export]
macro_rules! runtime_tests {
    ($($name:ident),* $(,)?) => {
        mod local {
            $( #[tokio::test] async fn $name() { super::$name($crate::setup::Runtime::Local).await } )*
        }
        mod docker {
            $( #[tokio::test] async fn $name() { super::$name($crate::setup::Runtime::Docker).await } )*
        }
    };
}

/// Generates `kubernetes::NAME` tests calling `NAME(Runtime::Kubernetes)`: the parts of a
/// [`runtime_tests!`](crate::runtime_tests) suite that also run on the test cluster.
#[macro_export]
macro_rules! kubernetes_tests {
    ($($name:ident),* $(,)?) => {
        mod kubernetes {
            $( #[tokio::test] async fn $name() { super::$name($crate::setup::Runtime::Kubernetes).await } )*
        }
    };
}
