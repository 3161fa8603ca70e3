//! The container's definition (where the hardening lives) and the record of its
//! security-relevant settings that `ensure` compares, so a changed setting reaches agents
//! whose containers already exist.
//!
//! The workspace is mounted twice: read-only at [`WORKSPACE`], which every process sees,
//! and writable at [`LIVE_WORKSPACE`] inside [`LIVE_ROOT`], a tmpfs owned by root and group
//! [`WRITER_GID`] with mode 0750. The agent user (1000:1000) cannot traverse it; only
//! processes the runtime starts as [`super::labels::WRITER_USER`] (auto-mode writing tools)
//! can. The container enforces this, not the prompt: the kernel refuses the model's writes.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, HostConfig, Mount, MountBindOptions,
    MountBindOptionsPropagationEnum, MountType,
};

use super::DockerRuntime;
use super::labels::{
    self, AGENT_USER, CODEX_HOME, HOME, LABEL_CONFIG, LIVE_ROOT, LIVE_WORKSPACE, VOLUMES,
    WORKSPACE, WRITER_GID,
};
use super::prepare::{CODEX_DIST, Prepared};
use crate::AgentId;

/// Bumped whenever the mount layout changes, so older containers are recreated.
const LAYOUT: &str = "3: read-only /workspace, writable /live/workspace for group 2000; volumes prepared for 1000:1000; pinned Codex at /opt/codex-mcp";

/// The security-relevant settings a container was created with, by the setting that
/// controls each (so the log can name what changed).
pub(super) fn settings(
    rt: &DockerRuntime,
    agent: &AgentId,
    bind: Option<&Path>,
) -> BTreeMap<&'static str, String> {
    let cfg = &rt.cfg;
    let opt = |v: Option<String>| v.unwrap_or_else(|| "unlimited".into());
    BTreeMap::from([
        ("layout (this mcpd version)", LAYOUT.to_string()),
        ("CODEX_MCP_AGENT_IMAGE(S)", cfg.image_for(agent).to_string()),
        ("CONTAINER_NETWORK_MODE", cfg.network_mode.clone()),
        (
            "CONTAINER_CPU_LIMIT",
            opt(rt.nano_cpus.map(|n| n.to_string())),
        ),
        (
            "CONTAINER_MEMORY_LIMIT",
            opt(cfg.memory_bytes.map(|m| m.to_string())),
        ),
        ("pids limit", cfg.pids_limit.to_string()),
        (
            "tmpfs sizes",
            format!("{} {}", cfg.tmp_bytes, cfg.home_bytes),
        ),
        (
            "CODEX_MCP_AGENT_WORKSPACES (workspace folder)",
            bind.map_or_else(|| "volume".into(), |p| p.display().to_string()),
        ),
    ])
}

/// The settings recorded on an existing container (empty when it predates the label or
/// the label is unreadable: then everything counts as changed).
fn recorded(c: &ContainerInspectResponse) -> BTreeMap<String, String> {
    c.config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .and_then(|l| l.get(LABEL_CONFIG))
        .and_then(|v| serde_json::from_str(v).ok())
        .unwrap_or_default()
}

/// The names of the settings whose value differs between `c` and `want`; empty when the
/// container is current.
pub(super) fn changed(
    c: &ContainerInspectResponse,
    want: &BTreeMap<&'static str, String>,
) -> Vec<&'static str> {
    let have = recorded(c);
    want.iter()
        .filter(|(k, v)| have.get(**k) != Some(*v))
        .map(|(k, _)| *k)
        .collect()
}

pub(super) fn volume_mount(source: String, target: &str, read_only: bool) -> Mount {
    Mount {
        target: Some(target.into()),
        source: Some(source),
        typ: Some(MountType::VOLUME),
        read_only: Some(read_only),
        ..Default::default()
    }
}

fn bind_mount(host: &Path, target: &str, read_only: bool) -> Mount {
    Mount {
        target: Some(target.into()),
        source: Some(host.display().to_string()),
        typ: Some(MountType::BIND),
        read_only: Some(read_only),
        bind_options: Some(MountBindOptions {
            propagation: Some(MountBindOptionsPropagationEnum::RPRIVATE),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The container's definition, labelled with `settings`.
pub(super) fn body(
    rt: &DockerRuntime,
    agent: &AgentId,
    bind: Option<&Path>,
    settings: &BTreeMap<&'static str, String>,
    prepared: &Prepared,
) -> ContainerCreateBody {
    let cfg = &rt.cfg;
    let mut mounts: Vec<Mount> = VOLUMES
        .iter()
        .filter(|(_, target)| *target != WORKSPACE)
        .map(|(kind, target)| volume_mount(labels::volume_name(cfg, agent, kind), target, false))
        .collect();
    match bind {
        Some(host) => {
            mounts.push(bind_mount(host, WORKSPACE, true));
            mounts.push(bind_mount(host, LIVE_WORKSPACE, false));
        }
        None => {
            let ws = labels::volume_name(cfg, agent, "workspace");
            mounts.push(volume_mount(ws.clone(), WORKSPACE, true));
            mounts.push(volume_mount(ws, LIVE_WORKSPACE, false));
        }
    }
    if let Some(codex) = &prepared.codex_volume {
        mounts.push(volume_mount(codex.clone(), CODEX_DIST, true));
    }
    let tmpfs = HashMap::from([
        (
            "/tmp".to_string(),
            format!("rw,nosuid,nodev,mode=1777,size={}", cfg.tmp_bytes),
        ),
        (
            HOME.to_string(),
            format!(
                "rw,nosuid,nodev,uid=1000,gid=1000,mode=0700,size={}",
                cfg.home_bytes
            ),
        ),
        // The engine mounts this before the workspace inside it (mounts go in path order).
        (
            LIVE_ROOT.to_string(),
            format!("rw,nosuid,nodev,noexec,uid=0,gid={WRITER_GID},mode=0750,size=64k"),
        ),
    ]);
    let mut container_labels = labels::labels(cfg, agent);
    let recorded: BTreeMap<&str, &String> = settings.iter().map(|(k, v)| (*k, v)).collect();
    if let Ok(json) = serde_json::to_string(&recorded) {
        container_labels.insert(LABEL_CONFIG.into(), json);
    }
    if let Some(helper) = &prepared.run_helper {
        container_labels.insert(labels::LABEL_RUN_HELPER.into(), helper.clone());
    }
    let memory = cfg.memory_bytes.and_then(|m| i64::try_from(m).ok());
    ContainerCreateBody {
        image: Some(cfg.image_for(agent).to_string()),
        cmd: Some(vec!["sleep".into(), "infinity".into()]),
        user: Some(AGENT_USER.into()),
        working_dir: Some(WORKSPACE.into()),
        env: Some(vec![
            format!("HOME={HOME}"),
            format!("CODEX_HOME={CODEX_HOME}"),
            format!("PATH={}", prepared.path),
        ]),
        labels: Some(container_labels),
        host_config: Some(HostConfig {
            init: Some(true),
            mounts: Some(mounts),
            tmpfs: Some(tmpfs),
            readonly_rootfs: Some(true),
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec!["no-new-privileges:true".into()]),
            pids_limit: Some(cfg.pids_limit),
            nano_cpus: rt.nano_cpus,
            memory,
            // Equal to the memory limit: no swap on top of it.
            memory_swap: memory,
            network_mode: Some(cfg.network_mode.clone()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::ContainerConfig;

    fn labelled(json: &str) -> ContainerInspectResponse {
        ContainerInspectResponse {
            config: Some(ContainerConfig {
                labels: Some(HashMap::from([(LABEL_CONFIG.to_string(), json.into())])),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn changed_names_each_differing_setting() {
        let want = BTreeMap::from([
            ("CONTAINER_NETWORK_MODE", "none".to_string()),
            ("CONTAINER_MEMORY_LIMIT", "1000".to_string()),
        ]);
        let same = labelled(r#"{"CONTAINER_NETWORK_MODE":"none","CONTAINER_MEMORY_LIMIT":"1000"}"#);
        assert_eq!(changed(&same, &want), Vec::<&str>::new());
        let other =
            labelled(r#"{"CONTAINER_NETWORK_MODE":"bridge","CONTAINER_MEMORY_LIMIT":"1000"}"#);
        assert_eq!(changed(&other, &want), vec!["CONTAINER_NETWORK_MODE"]);
        // A container from before the label: everything counts as changed.
        let old = ContainerInspectResponse::default();
        assert_eq!(changed(&old, &want).len(), 2);
    }
}
