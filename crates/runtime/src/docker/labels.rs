//! Names and labels of the Docker objects codex-mcp owns.
//!
//! Every container and volume carries `codex-mcp.managed=true` and `codex-mcp.agent=<id>`
//! (plus the configured extra labels); nothing without them is ever modified. Names are
//! deterministic, so the engine's own name uniqueness makes creation idempotent across
//! processes and restarts.

use std::collections::HashMap;

use super::DockerConfig;
use crate::AgentId;

/// Marks objects created by codex-mcp.
pub const LABEL_MANAGED: &str = "codex-mcp.managed";
/// The agent an object belongs to.
pub const LABEL_AGENT: &str = "codex-mcp.agent";
/// Which of the agent's volumes this is (`workspace`, `codex-home`, `scratch`).
pub const LABEL_VOLUME: &str = "codex-mcp.volume";

/// Where the agent's folders are inside its container.
pub const WORKSPACE: &str = "/workspace";
/// The agent user's home (a tmpfs; only the Codex home inside it persists).
pub const HOME: &str = "/home/agent";
/// The Codex home (`CODEX_HOME`).
pub const CODEX_HOME: &str = "/home/agent/.codex";
/// Room for scratch copies.
pub const SCRATCH: &str = "/scratch";
/// The user every process runs as; matches the image's `agent` user.
pub const AGENT_USER: &str = "1000:1000";
/// The agent user's numeric id, for file ownership in uploaded archives.
pub const AGENT_UID: u64 = 1000;

/// The agent's persistent volumes: (kind, mount point).
pub const VOLUMES: [(&str, &str); 3] = [
    ("workspace", WORKSPACE),
    ("codex-home", CODEX_HOME),
    ("scratch", SCRATCH),
];

pub(crate) fn container_name(cfg: &DockerConfig, agent: &AgentId) -> String {
    format!("{}{}", cfg.name_prefix, agent)
}

pub(crate) fn volume_name(cfg: &DockerConfig, agent: &AgentId, kind: &str) -> String {
    format!("{}{}-{}", cfg.name_prefix, agent, kind)
}

/// The labels a new object of `agent` gets.
pub(crate) fn labels(cfg: &DockerConfig, agent: &AgentId) -> HashMap<String, String> {
    let mut l: HashMap<String, String> = cfg.extra_labels.clone().into_iter().collect();
    l.insert(LABEL_MANAGED.into(), "true".into());
    l.insert(LABEL_AGENT.into(), agent.to_string());
    l
}

/// Engine-side filters selecting our objects (of one agent, or all).
pub(crate) fn filters(cfg: &DockerConfig, agent: Option<&AgentId>) -> HashMap<String, Vec<String>> {
    let mut l: Vec<String> = cfg
        .extra_labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    l.push(format!("{LABEL_MANAGED}=true"));
    if let Some(a) = agent {
        l.push(format!("{LABEL_AGENT}={a}"));
    }
    HashMap::from([("label".to_string(), l)])
}

/// Whether `found` marks an object as ours and as `agent`'s.
pub(crate) fn is_ours(
    cfg: &DockerConfig,
    agent: &AgentId,
    found: Option<&HashMap<String, String>>,
) -> bool {
    let Some(found) = found else { return false };
    labels(cfg, agent)
        .iter()
        .all(|(k, v)| found.get(k) == Some(v))
}

/// The agent a labelled object belongs to, if its label is valid.
pub(crate) fn agent_of(found: Option<&HashMap<String, String>>) -> Option<AgentId> {
    AgentId::new(found?.get(LABEL_AGENT)?.clone()).ok()
}
