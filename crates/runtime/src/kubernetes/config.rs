//! The Kubernetes backend's settings.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::RuntimeError;
use crate::docker::DEFAULT_IMAGE;

/// The namespace agents live in when `CODEX_MCP_K8S_NAMESPACE` is unset.
pub const DEFAULT_NAMESPACE: &str = "codex-mcp";
/// The name prefix of pods and PVCs: `codex-mcp-agent-<key>`.
pub const DEFAULT_PREFIX: &str = "codex-mcp-agent-";

/// One toleration of the agents' pods (`key=value:Effect` or `key:Effect`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Toleration {
    /// The taint's key.
    pub key: String,
    /// The taint's value; `None` tolerates any value (operator `Exists`).
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

/// Settings of the Kubernetes backend. The cluster itself comes from the kubeconfig
/// (`KUBECONFIG`, `~/.kube/config`) or, inside a cluster, the pod's service account.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct KubernetesConfig {
    /// The namespace of the agents' pods and PVCs (`CODEX_MCP_K8S_NAMESPACE`).
    pub namespace: String,
    /// The agent image (`CODEX_MCP_AGENT_IMAGE`); it must be on the nodes or pullable.
    pub image: String,
    /// The pods' `imagePullPolicy` (`CODEX_MCP_K8S_IMAGE_PULL_POLICY`): `IfNotPresent`,
    /// `Always` or `Never`.
    pub image_pull_policy: String,
    /// The PVCs' storage class (`CODEX_MCP_K8S_STORAGE_CLASS`); `None`: the cluster's default.
    pub storage_class: Option<String>,
    /// Size requested for each of an agent's three PVCs, in bytes (`CODEX_MCP_K8S_VOLUME_SIZE`).
    pub volume_bytes: u64,
    /// CPU limit in thousandths of a CPU (`CONTAINER_CPU_LIMIT`); requests are a quarter.
    pub cpu_millis: Option<u64>,
    /// Memory limit in bytes (`CONTAINER_MEMORY_LIMIT`); requests are a quarter.
    pub memory_bytes: Option<u64>,
    /// The pods' node selector (`CODEX_MCP_K8S_NODE_SELECTOR`, `key=value,...`).
    pub node_selector: BTreeMap<String, String>,
    /// The pods' tolerations (`CODEX_MCP_K8S_TOLERATIONS`).
    pub tolerations: Vec<Toleration>,
    /// Whether pods use the node's network (`CODEX_MCP_K8S_HOST_NETWORK`): only for test
    /// clusters without a network plugin, like Docker's `host` mode.
    pub host_network: bool,
    /// Prefix of pod and PVC names.
    pub name_prefix: String,
    /// Labels added to every object and required by every lookup, besides
    /// `codex-mcp.managed=true` (several servers or test runs in one namespace).
    pub extra_labels: BTreeMap<String, String>,
    /// How long a killed process tree gets before SIGKILL.
    pub kill_grace: Duration,
    /// The kubeconfig file; `None`: `KUBECONFIG`, `~/.kube/config`, or the in-cluster
    /// service account, as kubectl finds them.
    pub kubeconfig: Option<std::path::PathBuf>,
    /// How long a new pod may take to run (image on the node, PVCs bound, scheduled).
    pub start_timeout: Duration,
}

impl Default for KubernetesConfig {
    fn default() -> Self {
        Self {
            namespace: DEFAULT_NAMESPACE.into(),
            image: DEFAULT_IMAGE.into(),
            image_pull_policy: "IfNotPresent".into(),
            storage_class: None,
            volume_bytes: 5 << 30,
            cpu_millis: Some(4000),
            memory_bytes: Some(2048 << 20),
            node_selector: BTreeMap::new(),
            tolerations: Vec::new(),
            host_network: false,
            name_prefix: DEFAULT_PREFIX.into(),
            extra_labels: BTreeMap::new(),
            kill_grace: Duration::from_secs(2),
            kubeconfig: None,
            start_timeout: Duration::from_secs(120),
        }
    }
}

impl KubernetesConfig {
    /// Sets the namespace.
    pub fn with_namespace(mut self, ns: impl Into<String>) -> Self {
        self.namespace = ns.into();
        self
    }

    /// Sets the agent image.
    pub fn with_image(mut self, image: impl Into<String>) -> Self {
        self.image = image.into();
        self
    }

    /// Sets the image pull policy (`IfNotPresent`, `Always`, `Never`).
    pub fn with_image_pull_policy(mut self, policy: impl Into<String>) -> Self {
        self.image_pull_policy = policy.into();
        self
    }

    /// Sets the PVCs' storage class.
    pub fn with_storage_class(mut self, class: Option<String>) -> Self {
        self.storage_class = class;
        self
    }

    /// Sets the size of each PVC.
    pub fn with_volume_bytes(mut self, bytes: u64) -> Self {
        self.volume_bytes = bytes;
        self
    }

    /// Sets the CPU (thousandths) and memory (bytes) limits; `None`: unlimited.
    pub fn with_limits(mut self, cpu_millis: Option<u64>, memory_bytes: Option<u64>) -> Self {
        self.cpu_millis = cpu_millis;
        self.memory_bytes = memory_bytes;
        self
    }

    /// Sets the node selector.
    pub fn with_node_selector(mut self, selector: BTreeMap<String, String>) -> Self {
        self.node_selector = selector;
        self
    }

    /// Sets the tolerations.
    pub fn with_tolerations(mut self, tolerations: Vec<Toleration>) -> Self {
        self.tolerations = tolerations;
        self
    }

    /// Runs pods on the node's network (test clusters without a network plugin).
    pub fn with_host_network(mut self, on: bool) -> Self {
        self.host_network = on;
        self
    }

    /// Sets the name prefix of pods and PVCs.
    pub fn with_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.name_prefix = prefix.into();
        self
    }

    /// Adds a label that every object gets and every lookup requires.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_labels.insert(key.into(), value.into());
        self
    }

    /// Uses this kubeconfig file instead of looking for one.
    pub fn with_kubeconfig(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.kubeconfig = Some(path.into());
        self
    }

    /// Sets the kill grace period.
    pub fn with_kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = grace;
        self
    }
}

fn invalid(name: &str, value: &str, reason: impl Into<String>) -> RuntimeError {
    RuntimeError::InvalidSetting {
        name: name.into(),
        value: value.into(),
        reason: reason.into(),
    }
}

/// Whether `s` is a Kubernetes label value (also fine for keys' name part): at most 63
/// characters, alphanumerics with `-`, `_`, `.` inside.
fn is_label_text(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() <= 63
        && b.first().is_none_or(u8::is_ascii_alphanumeric)
        && b.last().is_none_or(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// Whether `s` is a label key: an optional `prefix/` (a DNS subdomain) and a name.
fn is_label_key(s: &str) -> bool {
    let (prefix, name) = s.rsplit_once('/').map_or((None, s), |(p, n)| (Some(p), n));
    !name.is_empty()
        && is_label_text(name)
        && prefix.is_none_or(|p| {
            !p.is_empty()
                && p.len() <= 253
                && p.bytes().all(|c| {
                    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'-' | b'.')
                })
        })
}

/// Parses `CODEX_MCP_K8S_NODE_SELECTOR`: `key=value` pairs separated by commas.
pub fn parse_node_selector(
    name: &str,
    value: &str,
) -> Result<BTreeMap<String, String>, RuntimeError> {
    let mut out = BTreeMap::new();
    for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = pair.split_once('=') else {
            return Err(invalid(
                name,
                value,
                format!("{pair:?} is not key=value; expected e.g. pool=agents,disk=ssd"),
            ));
        };
        let (k, v) = (k.trim(), v.trim());
        if !is_label_key(k) || !is_label_text(v) {
            return Err(invalid(
                name,
                value,
                format!("{pair:?}: not a Kubernetes label key and value"),
            ));
        }
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// Parses `CODEX_MCP_K8S_TOLERATIONS`: `key=value:Effect` or `key:Effect` (any value),
/// separated by commas.
pub fn parse_tolerations(name: &str, value: &str) -> Result<Vec<Toleration>, RuntimeError> {
    let mut out = Vec::new();
    for item in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let bad = || {
            invalid(
                name,
                value,
                format!(
                    "{item:?} is not key=value:Effect or key:Effect (Effect: NoSchedule, PreferNoSchedule or NoExecute)"
                ),
            )
        };
        let (kv, effect) = item.rsplit_once(':').ok_or_else(bad)?;
        if !matches!(effect, "NoSchedule" | "PreferNoSchedule" | "NoExecute") {
            return Err(bad());
        }
        let (key, val) = match kv.split_once('=') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (kv, None),
        };
        if !is_label_key(key) || val.as_deref().is_some_and(|v| !is_label_text(v)) {
            return Err(bad());
        }
        out.push(Toleration {
            key: key.to_string(),
            value: val,
            effect: effect.to_string(),
        });
    }
    Ok(out)
}

/// Checks `CODEX_MCP_K8S_NAMESPACE`: a DNS label (lower-case alphanumerics and `-`,
/// at most 63 characters).
pub fn parse_namespace(name: &str, value: &str) -> Result<String, RuntimeError> {
    let v = value.trim();
    let b = v.as_bytes();
    let ok = !b.is_empty()
        && b.len() <= 63
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric);
    if ok {
        Ok(v.to_string())
    } else {
        Err(invalid(
            name,
            value,
            "a namespace is lower-case letters, digits and '-', at most 63 characters",
        ))
    }
}

/// Checks `CODEX_MCP_K8S_IMAGE_PULL_POLICY`.
pub fn parse_pull_policy(name: &str, value: &str) -> Result<String, RuntimeError> {
    match value.trim() {
        v @ ("IfNotPresent" | "Always" | "Never") => Ok(v.to_string()),
        _ => Err(invalid(name, value, "use IfNotPresent, Always or Never")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_selectors_and_tolerations_parse() {
        let sel = parse_node_selector("S", " pool=agents , example.com/disk=ssd,");
        assert_eq!(
            sel.ok(),
            Some(BTreeMap::from([
                ("example.com/disk".to_string(), "ssd".to_string()),
                ("pool".to_string(), "agents".to_string()),
            ]))
        );
        let tol = parse_tolerations("T", "dedicated=agents:NoSchedule, gpu:NoExecute");
        assert_eq!(
            tol.ok(),
            Some(vec![
                Toleration {
                    key: "dedicated".into(),
                    value: Some("agents".into()),
                    effect: "NoSchedule".into()
                },
                Toleration {
                    key: "gpu".into(),
                    value: None,
                    effect: "NoExecute".into()
                },
            ])
        );
    }

    #[test]
    fn malformed_values_name_the_setting_and_the_shape() {
        let errors = [
            parse_node_selector("CODEX_MCP_K8S_NODE_SELECTOR", "pool").err(),
            parse_node_selector("CODEX_MCP_K8S_NODE_SELECTOR", "pool=a b").err(),
            parse_tolerations("CODEX_MCP_K8S_TOLERATIONS", "gpu").err(),
            parse_tolerations("CODEX_MCP_K8S_TOLERATIONS", "gpu:Sometimes").err(),
            parse_namespace("CODEX_MCP_K8S_NAMESPACE", "Agents").err(),
            parse_pull_policy("CODEX_MCP_K8S_IMAGE_PULL_POLICY", "never").err(),
        ];
        for e in errors {
            let msg = e.map(|e| e.to_string()).unwrap_or_default();
            assert!(msg.starts_with("invalid setting CODEX_MCP_K8S_"), "{msg}");
        }
        assert_eq!(
            parse_namespace("N", " agents-1 ").ok().as_deref(),
            Some("agents-1")
        );
    }
}
