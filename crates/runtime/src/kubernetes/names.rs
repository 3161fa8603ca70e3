//! Names, labels and annotations of the Kubernetes objects codex-mcp owns.
//!
//! Agent ids allow upper case, `_` and 64 characters; Kubernetes names and label values
//! do not. So each agent gets a *key*: its id lower-cased with every other character made
//! `-`, cut to 40 characters, and a hash of the exact id (so `Alice` and `alice` differ).
//! The pod is `<prefix><key>`, the PVCs `<prefix><key>-{workspace,codex-home,scratch}`;
//! every object is labelled `codex-mcp.managed=true` and `codex-mcp.agent=<key>` (plus the
//! configured extra labels) and annotated `codex-mcp.agent-id=<id>`. Nothing without
//! these labels is ever modified.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::KubernetesConfig;
use crate::AgentId;

/// Marks objects created by codex-mcp (the same label as Docker objects).
pub const LABEL_MANAGED: &str = "codex-mcp.managed";
/// The agent's key (see the module documentation).
pub const LABEL_AGENT: &str = "codex-mcp.agent";
/// Which of the agent's PVCs this is.
pub const LABEL_VOLUME: &str = "codex-mcp.volume";
/// The agent's exact id.
pub const ANNOTATION_AGENT_ID: &str = "codex-mcp.agent-id";
/// The pod's settings (see `pod.rs`), compared at `ensure`.
pub const ANNOTATION_CONFIG: &str = "codex-mcp.config";

/// The kinds of an agent's PVCs, each with its mount point (the Docker layout's).
pub use crate::docker::labels::VOLUMES;

/// The agent's key: a valid name part and label value, unique per exact id.
pub fn agent_key(agent: &AgentId) -> String {
    let mut readable: String = agent
        .as_str()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .take(40)
        .collect();
    readable = readable.trim_matches('-').to_string();
    let digest = Sha256::digest(agent.as_str().as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    if readable.is_empty() {
        hash
    } else {
        format!("{readable}-{hash}")
    }
}

/// The agent's pod.
pub fn pod_name(cfg: &KubernetesConfig, agent: &AgentId) -> String {
    format!("{}{}", cfg.name_prefix, agent_key(agent))
}

/// One of the agent's PVCs (`kind` from [`VOLUMES`]).
pub fn pvc_name(cfg: &KubernetesConfig, agent: &AgentId, kind: &str) -> String {
    format!("{}{}-{kind}", cfg.name_prefix, agent_key(agent))
}

/// The labels of a new object of `agent`.
pub fn labels(cfg: &KubernetesConfig, agent: &AgentId) -> BTreeMap<String, String> {
    let mut l = cfg.extra_labels.clone();
    l.insert(LABEL_MANAGED.into(), "true".into());
    l.insert(LABEL_AGENT.into(), agent_key(agent));
    l
}

/// The annotations of a new object of `agent`.
pub fn annotations(agent: &AgentId) -> BTreeMap<String, String> {
    BTreeMap::from([(ANNOTATION_AGENT_ID.to_string(), agent.to_string())])
}

/// A label selector for our objects (of one agent, or all).
pub fn selector(cfg: &KubernetesConfig, agent: Option<&AgentId>) -> String {
    let mut parts: Vec<String> = cfg
        .extra_labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    parts.push(format!("{LABEL_MANAGED}=true"));
    if let Some(a) = agent {
        parts.push(format!("{LABEL_AGENT}={}", agent_key(a)));
    }
    parts.join(",")
}

/// Whether `found` labels an object as ours and `agent`'s.
pub fn is_ours(
    cfg: &KubernetesConfig,
    agent: &AgentId,
    found: Option<&BTreeMap<String, String>>,
) -> bool {
    let Some(found) = found else { return false };
    labels(cfg, agent)
        .iter()
        .all(|(k, v)| found.get(k) == Some(v))
}

/// The agent an object belongs to, from its annotation.
pub fn agent_of(annotations: Option<&BTreeMap<String, String>>) -> Option<AgentId> {
    AgentId::new(annotations?.get(ANNOTATION_AGENT_ID)?.clone()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_valid_names_and_tell_ids_apart() {
        let key = |id: &str| AgentId::new(id).map(|a| agent_key(&a)).unwrap_or_default();
        let (upper, lower) = (key("Alice"), key("alice"));
        assert!(upper.starts_with("alice-") && lower.starts_with("alice-"));
        assert_ne!(upper, lower);
        let long = key(&format!("_{}", "x".repeat(63)));
        assert!(long.len() <= 49, "{long}");
        assert!(long.starts_with('x'), "{long}");
        assert_eq!(key("...").len(), 8);
        for k in [upper, lower, long, key("a.b_c")] {
            assert!(
                k.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'),
                "{k}"
            );
        }
    }
}
