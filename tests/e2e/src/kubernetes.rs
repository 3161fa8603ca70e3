//! The Kubernetes side of the end-to-end tests: one namespace of the test cluster per
//! test (`codex_mcp_testkit::kubernetes`, deleted with its pods and PVCs on drop), the
//! settings that point `mcpd` at it, and looking into an agent's pod from outside.

use std::path::PathBuf;

use codex_mcp_runtime::kubernetes::{KubernetesConfig, KubernetesRuntime, names};
use codex_mcp_runtime::{AgentId, AgentRuntime, AgentSpec, ExecSpec};
use codex_mcp_testkit::kubernetes::{STORAGE_CLASS, TestNamespace};
use serde_json::Value;

use codex_mcp_testkit::docker::docker_cli;

use crate::docker::{AGENT_IMAGE, docker_ready_or_skip, host_processes_of};

/// The instance name `mcpd` gets: it prefixes and labels what it creates.
const INSTANCE: &str = "e2e";
/// `CONTAINER_CPU_LIMIT` and `CONTAINER_MEMORY_LIMIT` of the tests' agents.
const CPU: &str = "0.5";
const MEMORY: &str = "1g";

/// One test's namespace of the test cluster.
#[derive(Debug)]
pub struct KubeScope {
    /// The namespace; deleted with everything in it when this is dropped.
    pub ns: TestNamespace,
    /// The Docker ids of each pod's containers last found (see [`Self::processes`]).
    container_ids: std::sync::Mutex<std::collections::HashMap<String, Vec<String>>>,
}

impl KubeScope {
    /// A fresh namespace; `None` (said loudly) without Docker, the agent image or the
    /// cluster outside CI; under `CI=true` that fails instead.
    pub fn new() -> Option<Self> {
        if !docker_ready_or_skip() {
            return None;
        }
        Some(Self {
            ns: TestNamespace::create()?,
            container_ids: Default::default(),
        })
    }

    /// The cluster's kubeconfig.
    pub fn kubeconfig(&self) -> PathBuf {
        self.ns.kubeconfig.clone()
    }

    /// What `mcpd` needs to run its agents in this namespace: the local agent image
    /// (`imagePullPolicy: Never`), the host's network (the cluster has no network plugin;
    /// Codex then reaches the scripted model on 127.0.0.1), small PVCs.
    pub fn mcpd_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("KUBECONFIG", self.kubeconfig().display().to_string()),
            ("CODEX_MCP_K8S_NAMESPACE", self.ns.name.clone()),
            ("CODEX_MCP_AGENT_IMAGE", AGENT_IMAGE.to_string()),
            ("CODEX_MCP_K8S_IMAGE_PULL_POLICY", "Never".to_string()),
            ("CODEX_MCP_K8S_STORAGE_CLASS", STORAGE_CLASS.to_string()),
            ("CODEX_MCP_K8S_VOLUME_SIZE", "64m".to_string()),
            ("CODEX_MCP_K8S_HOST_NETWORK", "true".to_string()),
            ("CODEX_MCP_INSTANCE", INSTANCE.to_string()),
            ("CONTAINER_CPU_LIMIT", CPU.to_string()),
            ("CONTAINER_MEMORY_LIMIT", MEMORY.to_string()),
        ]
    }

    /// The runtime settings `mcpd` derives from [`Self::mcpd_env`], so that pods this
    /// scope makes are the ones `mcpd` would make (and adopts as they are).
    fn config(&self) -> KubernetesConfig {
        KubernetesConfig::default()
            .with_kubeconfig(self.kubeconfig())
            .with_namespace(self.ns.name.clone())
            .with_name_prefix(format!("codex-mcp-{INSTANCE}-agent-"))
            .with_label("codex-mcp.instance", INSTANCE)
            .with_image(AGENT_IMAGE)
            .with_image_pull_policy("Never")
            .with_storage_class(Some(STORAGE_CLASS.into()))
            .with_volume_bytes(64 << 20)
            .with_host_network(true)
            .with_limits(Some(500), Some(1 << 30))
    }

    /// The name of the agent's pod.
    pub fn pod(&self, agent: &str) -> String {
        names::pod_name(&self.config(), &agent_id(agent))
    }

    /// The names of the agent's PVCs, sorted.
    pub fn pvcs(&self, agent: &str) -> Vec<String> {
        let cfg = self.config();
        let mut names: Vec<String> = names::VOLUMES
            .iter()
            .map(|(kind, _)| names::pvc_name(&cfg, &agent_id(agent), kind))
            .collect();
        names.sort();
        names
    }

    /// The pod as the API server has it (`kubectl get -o json`); `None` when there is none.
    pub fn pod_json(&self, agent: &str) -> Option<Value> {
        let out = self
            .ns
            .kubectl(&["get", "pod", &self.pod(agent), "-o", "json"])
            .ok()?;
        serde_json::from_str(&out).ok()
    }

    /// Runs `script` in the agent's pod (making the agent as `mcpd` would when it has
    /// none) as the agent user; the workspace is writable at `/live/workspace` in the
    /// `writer` container. Its stdout, or an error with its stderr when it fails.
    pub fn in_pod(&self, agent: &str, script: &str, writer: bool) -> anyhow::Result<String> {
        let cfg = self.config();
        let agent = agent_id(agent);
        let script = script.to_string();
        // Called from async tests through a synchronous interface: a thread of its own.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async {
                let k8s = KubernetesRuntime::connect(cfg).await?;
                k8s.ensure(&agent, &AgentSpec::new()).await?;
                let mut spec = ExecSpec::new(["sh", "-c", &script]);
                if writer {
                    spec = spec.writing_workspace();
                }
                let out = k8s.exec(&agent, spec).await?.collect().await;
                anyhow::ensure!(
                    out.code == Some(0),
                    "{script}: exit {:?}: {}",
                    out.code,
                    out.stderr.join("\n")
                );
                Ok(out.stdout.join("\n"))
            })
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the pod helper thread panicked"))?
    }

    /// Writes `text` to `file` in the agent's workspace.
    pub fn write_workspace(&self, agent: &str, file: &str, text: &str) -> anyhow::Result<()> {
        let script = format!(
            "printf '%s' {} > /live/workspace/{file}",
            crate::docker::shell_quote(text)
        );
        self.in_pod(agent, &script, true).map(drop)
    }

    /// The contents of `file` in the agent's workspace (lines joined by `\n`, with a final
    /// one when the file has one).
    pub fn read_workspace(&self, agent: &str, file: &str) -> anyhow::Result<String> {
        // A marker keeps the file's last line end, which joining lines would lose.
        let out = self.in_pod(agent, &format!("cat /workspace/{file} && echo .end"), false)?;
        Ok(out.strip_suffix(".end").map(str::to_string).unwrap_or(out))
    }

    /// Command lines of the processes in both containers of the agent's pod (empty when
    /// it has none); never creates the pod. The test cluster's kubelet runs pods on the
    /// local Docker engine, so they are read from the host's /proc by the containers'
    /// cgroups when visible (milliseconds: a test timing how fast a process goes measures
    /// the process, not two `kubectl exec`s, which also block every other future of a
    /// `join!`), else inside the pod.
    pub fn processes(&self, agent: &str) -> Vec<String> {
        let pod = self.pod(agent);
        if let Some(found) = self.host_processes(&pod) {
            return found;
        }
        let script = "for p in /proc/[0-9]*; do case ${p#/proc/} in $$|$PPID) ;; *) \
                      tr '\\0\\n' '  ' < $p/cmdline; echo;; esac; done 2>/dev/null";
        let mut all = Vec::new();
        for container in ["agent", "writer"] {
            let out = self
                .ns
                .kubectl(&["exec", &pod, "-c", container, "--", "sh", "-c", script])
                .unwrap_or_default();
            all.extend(
                out.lines()
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty() && !l.contains("/proc/[0-9]")),
            );
        }
        all
    }

    /// The processes of the pod's running containers as the host sees them; `None` when
    /// none is found that way (no such pod, or its engine in another PID namespace).
    fn host_processes(&self, pod: &str) -> Option<Vec<String>> {
        let mut ids = self.container_ids.lock().unwrap_or_else(|e| e.into_inner());
        // The ids found last time, while they still show processes (the pod was not
        // replaced); else a fresh look.
        if let Some(known) = ids.get(pod)
            && let Some(found) = known
                .iter()
                .map(|id| host_processes_of(id))
                .collect::<Option<Vec<Vec<String>>>>()
        {
            return Some(found.concat());
        }
        // dockershim names a pod's containers k8s_<container>_<pod>_<namespace>_<uid>_<n>.
        let filter = format!("name=^k8s_(agent|writer)_{pod}_{}_", self.ns.name);
        let listed = docker_cli(&["ps", "-q", "--no-trunc", "--filter", &filter])?;
        let fresh: Vec<String> = listed
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect();
        // Every container has at least its own command: none found means not visible.
        let found: Vec<Vec<String>> = fresh
            .iter()
            .map(|id| host_processes_of(id))
            .collect::<Option<_>>()?;
        if found.is_empty() {
            return None;
        }
        ids.insert(pod.to_string(), fresh);
        Some(found.concat())
    }

    /// The entries of the agent's `/scratch` (empty when it has no pod).
    pub fn scratch(&self, agent: &str) -> Vec<String> {
        self.ns
            .kubectl(&[
                "exec",
                &self.pod(agent),
                "-c",
                "agent",
                "--",
                "ls",
                "-A",
                "/scratch",
            ])
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

fn agent_id(agent: &str) -> AgentId {
    match AgentId::new(agent) {
        Ok(id) => id,
        Err(e) => panic!("agent id {agent:?}: {e}"),
    }
}
