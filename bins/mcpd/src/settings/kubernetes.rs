//! The settings of the Kubernetes runtime (`CODEX_MCP_RUNTIME=kubernetes`).

use std::collections::BTreeMap;

use codex_mcp_runtime::RuntimeError;
use codex_mcp_runtime::kubernetes::{self, Toleration};

use super::{Reader, SettingsError};

/// What `CODEX_MCP_K8S_*` say; the image, CPU and memory limits are the shared settings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KubernetesSettings {
    pub namespace: String,
    pub storage_class: Option<String>,
    pub volume_bytes: u64,
    pub image_pull_policy: String,
    pub node_selector: BTreeMap<String, String>,
    #[serde(skip)]
    pub tolerations: Vec<Toleration>,
    pub host_network: bool,
}

fn reason(e: RuntimeError) -> String {
    super::values::reason(&e)
}

impl KubernetesSettings {
    pub(super) fn read(r: &Reader<'_>) -> Result<Self, SettingsError> {
        Ok(Self {
            namespace: r
                .parse("CODEX_MCP_K8S_NAMESPACE", |v| {
                    kubernetes::parse_namespace("CODEX_MCP_K8S_NAMESPACE", v).map_err(reason)
                })?
                .unwrap_or_else(|| kubernetes::DEFAULT_NAMESPACE.into()),
            storage_class: r.string("CODEX_MCP_K8S_STORAGE_CLASS")?,
            volume_bytes: r
                .parse("CODEX_MCP_K8S_VOLUME_SIZE", |v| {
                    super::values::parse_size("CODEX_MCP_K8S_VOLUME_SIZE", v)
                })?
                .unwrap_or(5 << 30),
            image_pull_policy: r
                .parse("CODEX_MCP_K8S_IMAGE_PULL_POLICY", |v| {
                    kubernetes::parse_pull_policy("CODEX_MCP_K8S_IMAGE_PULL_POLICY", v)
                        .map_err(reason)
                })?
                .unwrap_or_else(|| "IfNotPresent".into()),
            node_selector: r
                .parse("CODEX_MCP_K8S_NODE_SELECTOR", |v| {
                    kubernetes::parse_node_selector("CODEX_MCP_K8S_NODE_SELECTOR", v)
                        .map_err(reason)
                })?
                .unwrap_or_default(),
            tolerations: r
                .parse("CODEX_MCP_K8S_TOLERATIONS", |v| {
                    kubernetes::parse_tolerations("CODEX_MCP_K8S_TOLERATIONS", v).map_err(reason)
                })?
                .unwrap_or_default(),
            host_network: r.bool("CODEX_MCP_K8S_HOST_NETWORK")?.unwrap_or(false),
        })
    }
}
