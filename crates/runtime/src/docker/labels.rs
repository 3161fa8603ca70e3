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

/// The container's security-relevant settings (see `layout.rs`), compared at `ensure`.
pub const LABEL_CONFIG: &str = "codex-mcp.config";

/// Where the run helper (`bins/codex-mcp-run`) is. On mcpd's agent image: its path below
/// the pinned Codex folder `/opt/codex`, set by `scripts/build-agent-image.sh`. On an
/// agent container: its absolute path there, in the pinned Codex volume; a container
/// without the label runs its turns under the shell scripts instead.
pub const LABEL_RUN_HELPER: &str = "codex-mcp.run-helper";

/// Where the agent's folders are inside its container. The workspace is mounted here
/// read-only: what every Codex run sees unless it writes the workspace on purpose.
pub const WORKSPACE: &str = "/workspace";
/// A tmpfs owned by root and group [`WRITER_GID`], mode 0750: only processes started with
/// that group (never the model's usual ones) can traverse it.
pub const LIVE_ROOT: &str = "/live";
/// The same workspace, writable, inside [`LIVE_ROOT`].
pub const LIVE_WORKSPACE: &str = "/live/workspace";
/// The group that opens [`LIVE_ROOT`]; processes that may write the workspace run with it.
pub const WRITER_GID: u32 = 2000;
/// The user of processes that may write the workspace (auto-mode writing tools).
pub const WRITER_USER: &str = "1000:2000";
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
