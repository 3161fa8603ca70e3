//! The agent's pod and PVCs (where the hardening lives).
//!
//! Why a bare pod and not a one-replica StatefulSet: the runtime already does what a
//! StatefulSet's controller would (one pod per agent under a fixed name, recreated on the
//! next call with the same PVCs), and it must decide *when* that happens: an idle agent's
//! pod is deleted and stays deleted until its next call, which a StatefulSet would undo at
//! once (or need scaling to zero, a second object to keep in step). A bare pod also makes
//! "the pod died mid-call" plain to see: the call fails, the next `ensure` makes a new one.
//!
//! The pod has two containers from the agent image, both `sleep infinity` as user
//! 1000:1000 with every capability dropped, no privilege escalation, a read-only root
//! file system, seccomp `RuntimeDefault` and no service-account token:
//! - `agent` sees the workspace read-only at `/workspace`: every process runs here unless
//!   it may write the workspace.
//! - `writer` also has it writable at `/live/workspace`: processes with
//!   [`crate::ExecSpec::writes_workspace`] (auto-mode writing tools) run here. Docker
//!   opens the live workspace to one group; the exec API cannot pick a user or group, so
//!   here the mount itself is the boundary: the kernel refuses writes from `agent`.
//!
//! An init container gives the PVCs to 1000:1000 first (as root with only `CHOWN`,
//! `FOWNER` and `DAC_OVERRIDE`, like the Docker runtime's preparation step): volume
//! plugins without ownership management (hostPath, many local provisioners) hand out
//! root-owned folders.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, Container, EmptyDirVolumeSource, EnvVar, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PersistentVolumeClaimVolumeSource, Pod, PodSecurityContext, PodSpec,
    ResourceRequirements, SeccompProfile, SecurityContext, Toleration, Volume, VolumeMount,
    VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::KubernetesConfig;
use super::names::{self, ANNOTATION_CONFIG, LABEL_VOLUME, VOLUMES};
use crate::AgentId;
use crate::docker::labels::{CODEX_HOME, HOME, LIVE_WORKSPACE, WORKSPACE};

/// The container processes run in unless they may write the workspace.
pub const AGENT_CONTAINER: &str = "agent";
/// The container of processes that may write the workspace.
pub const WRITER_CONTAINER: &str = "writer";

/// Bumped whenever the pod layout changes, so older pods are recreated.
const LAYOUT: &str = "1: agent + writer containers, PVCs prepared for 1000:1000";

/// Gives the PVCs mounted under `/v` to the agent user, as the Docker runtime's
/// preparation step does with its volumes.
const PREPARE: &str = crate::docker::prepare::own_volumes!();

/// The settings a pod is made from, recorded in an annotation and compared at `ensure`,
/// so a changed setting reaches agents whose pods already exist.
pub fn settings(cfg: &KubernetesConfig) -> String {
    let tolerations: Vec<String> = cfg
        .tolerations
        .iter()
        .map(|t| format!("{}={:?}:{}", t.key, t.value, t.effect))
        .collect();
    let recorded = BTreeMap::from([
        ("layout", LAYOUT.to_string()),
        ("CODEX_MCP_AGENT_IMAGE", cfg.image.clone()),
        (
            "CODEX_MCP_K8S_IMAGE_PULL_POLICY",
            cfg.image_pull_policy.clone(),
        ),
        ("CONTAINER_CPU_LIMIT", format!("{:?}", cfg.cpu_millis)),
        ("CONTAINER_MEMORY_LIMIT", format!("{:?}", cfg.memory_bytes)),
        (
            "CODEX_MCP_K8S_NODE_SELECTOR",
            format!("{:?}", cfg.node_selector),
        ),
        ("CODEX_MCP_K8S_TOLERATIONS", tolerations.join(",")),
        ("CODEX_MCP_K8S_HOST_NETWORK", cfg.host_network.to_string()),
    ]);
    serde_json::Value::Object(
        recorded
            .into_iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v)))
            .collect(),
    )
    .to_string()
}

/// The names of the settings that differ between a pod's annotation and `want`.
pub fn changed(pod: &Pod, want: &str) -> Vec<String> {
    let parse = |s: &str| serde_json::from_str::<BTreeMap<String, String>>(s).unwrap_or_default();
    let have = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ANNOTATION_CONFIG))
        .map(|s| parse(s))
        .unwrap_or_default();
    parse(want)
        .into_iter()
        .filter(|(k, v)| have.get(k) != Some(v))
        .map(|(k, _)| k)
        .collect()
}

fn meta(cfg: &KubernetesConfig, agent: &AgentId, name: String) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(cfg.namespace.clone()),
        labels: Some(names::labels(cfg, agent)),
        annotations: Some(names::annotations(agent)),
        ..ObjectMeta::default()
    }
}

/// One of the agent's PVCs (`kind` from [`VOLUMES`]).
pub fn pvc(cfg: &KubernetesConfig, agent: &AgentId, kind: &str) -> PersistentVolumeClaim {
    let mut meta = meta(cfg, agent, names::pvc_name(cfg, agent, kind));
    if let Some(l) = meta.labels.as_mut() {
        l.insert(LABEL_VOLUME.into(), kind.into());
    }
    PersistentVolumeClaim {
        metadata: meta,
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".into()]),
            storage_class_name: cfg.storage_class.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([(
                    "storage".to_string(),
                    Quantity(cfg.volume_bytes.to_string()),
                )])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}

fn mount(name: &str, path: &str, read_only: bool) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        read_only: Some(read_only),
        ..VolumeMount::default()
    }
}

fn resources(cfg: &KubernetesConfig) -> ResourceRequirements {
    let mut limits = BTreeMap::new();
    let mut requests = BTreeMap::new();
    if let Some(m) = cfg.cpu_millis {
        limits.insert("cpu".to_string(), Quantity(format!("{m}m")));
        requests.insert("cpu".to_string(), Quantity(format!("{}m", (m / 4).max(1))));
    }
    if let Some(b) = cfg.memory_bytes {
        limits.insert("memory".to_string(), Quantity(b.to_string()));
        requests.insert("memory".to_string(), Quantity((b / 4).to_string()));
    }
    ResourceRequirements {
        limits: Some(limits),
        requests: Some(requests),
        ..ResourceRequirements::default()
    }
}

fn hardened(user: i64, add: &[&str]) -> SecurityContext {
    SecurityContext {
        run_as_user: Some(user),
        run_as_group: Some(user),
        run_as_non_root: Some(user != 0),
        read_only_root_filesystem: Some(true),
        allow_privilege_escalation: Some(false),
        privileged: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: (!add.is_empty()).then(|| add.iter().map(|c| c.to_string()).collect()),
        }),
        ..SecurityContext::default()
    }
}

fn agent_container(cfg: &KubernetesConfig, name: &str, writable: bool) -> Container {
    let tmp = format!("{name}-tmp");
    let home = format!("{name}-home");
    let mut mounts = vec![
        mount(&tmp, "/tmp", false),
        mount(&home, HOME, false),
        mount("workspace", WORKSPACE, true),
        mount("codex-home", CODEX_HOME, false),
        mount("scratch", crate::docker::labels::SCRATCH, false),
    ];
    if writable {
        mounts.push(mount("workspace", LIVE_WORKSPACE, false));
    }
    let env = |k: &str, v: &str| EnvVar {
        name: k.into(),
        value: Some(v.into()),
        ..EnvVar::default()
    };
    Container {
        name: name.into(),
        image: Some(cfg.image.clone()),
        image_pull_policy: Some(cfg.image_pull_policy.clone()),
        command: Some(vec!["sleep".into(), "infinity".into()]),
        working_dir: Some(WORKSPACE.into()),
        env: Some(vec![env("HOME", HOME), env("CODEX_HOME", CODEX_HOME)]),
        volume_mounts: Some(mounts),
        resources: Some(resources(cfg)),
        security_context: Some(hardened(1000, &[])),
        ..Container::default()
    }
}

fn memory_dir(name: &str, bytes: u64) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource {
            medium: Some("Memory".into()),
            size_limit: Some(Quantity(bytes.to_string())),
            ..EmptyDirVolumeSource::default()
        }),
        ..Volume::default()
    }
}

/// The agent's pod (see the module documentation).
pub fn pod(cfg: &KubernetesConfig, agent: &AgentId) -> Pod {
    let mut meta = meta(cfg, agent, names::pod_name(cfg, agent));
    if let Some(a) = meta.annotations.as_mut() {
        a.insert(ANNOTATION_CONFIG.into(), settings(cfg));
    }
    let mut volumes: Vec<Volume> = VOLUMES
        .iter()
        .map(|(kind, _)| Volume {
            name: (*kind).into(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: names::pvc_name(cfg, agent, kind),
                read_only: Some(false),
            }),
            ..Volume::default()
        })
        .collect();
    for c in [AGENT_CONTAINER, WRITER_CONTAINER] {
        volumes.push(memory_dir(&format!("{c}-tmp"), 256 << 20));
        volumes.push(memory_dir(&format!("{c}-home"), 64 << 20));
    }
    let prepare = Container {
        name: "prepare".into(),
        image: Some(cfg.image.clone()),
        image_pull_policy: Some(cfg.image_pull_policy.clone()),
        command: Some(vec!["sh".into(), "-c".into(), PREPARE.into()]),
        volume_mounts: Some(
            VOLUMES
                .iter()
                .map(|(kind, _)| mount(kind, &format!("/v/{kind}"), false))
                .collect(),
        ),
        resources: Some(resources(cfg)),
        security_context: Some(hardened(0, &["CHOWN", "FOWNER", "DAC_OVERRIDE"])),
        ..Container::default()
    };
    let tolerations: Vec<Toleration> = cfg
        .tolerations
        .iter()
        .map(|t| Toleration {
            key: Some(t.key.clone()),
            operator: Some(if t.value.is_some() { "Equal" } else { "Exists" }.into()),
            value: t.value.clone(),
            effect: Some(t.effect.clone()),
            ..Toleration::default()
        })
        .collect();
    Pod {
        metadata: meta,
        spec: Some(PodSpec {
            init_containers: Some(vec![prepare]),
            containers: vec![
                agent_container(cfg, AGENT_CONTAINER, false),
                agent_container(cfg, WRITER_CONTAINER, true),
            ],
            volumes: Some(volumes),
            restart_policy: Some("Always".into()),
            automount_service_account_token: Some(false),
            enable_service_links: Some(false),
            host_network: Some(cfg.host_network),
            termination_grace_period_seconds: Some(
                i64::try_from(cfg.kill_grace.as_secs()).unwrap_or(2).max(1),
            ),
            node_selector: (!cfg.node_selector.is_empty()).then(|| cfg.node_selector.clone()),
            tolerations: (!tolerations.is_empty()).then_some(tolerations),
            security_context: Some(PodSecurityContext {
                seccomp_profile: Some(SeccompProfile {
                    type_: "RuntimeDefault".into(),
                    ..SeccompProfile::default()
                }),
                ..PodSecurityContext::default()
            }),
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_containers_are_hardened_and_only_the_writer_writes_the_workspace() {
        let cfg = KubernetesConfig::default();
        let agent = AgentId::new("alice").unwrap();
        let pod = pod(&cfg, &agent);
        let spec = pod.spec.unwrap();
        assert_eq!(spec.automount_service_account_token, Some(false));
        for c in &spec.containers {
            let sc = c.security_context.clone().unwrap();
            assert_eq!(
                (
                    sc.run_as_user,
                    sc.run_as_non_root,
                    sc.read_only_root_filesystem
                ),
                (Some(1000), Some(true), Some(true))
            );
            assert_eq!(sc.allow_privilege_escalation, Some(false));
            assert_eq!(sc.capabilities.unwrap().drop, Some(vec!["ALL".to_string()]));
            let writable_ws: Vec<String> = c
                .volume_mounts
                .iter()
                .flatten()
                .filter(|m| m.name == "workspace" && m.read_only == Some(false))
                .map(|m| m.mount_path.clone())
                .collect();
            let want: Vec<String> = if c.name == WRITER_CONTAINER {
                vec![LIVE_WORKSPACE.into()]
            } else {
                vec![]
            };
            assert_eq!(writable_ws, want, "{}", c.name);
            assert!(c.resources.as_ref().unwrap().limits.is_some());
        }
        assert_eq!(
            spec.security_context
                .unwrap()
                .seccomp_profile
                .unwrap()
                .type_,
            "RuntimeDefault"
        );
    }

    #[test]
    fn a_changed_setting_is_named() {
        let cfg = KubernetesConfig::default();
        let agent = AgentId::new("alice").unwrap();
        let p = pod(&cfg, &agent);
        assert_eq!(changed(&p, &settings(&cfg)), Vec::<String>::new());
        let other = cfg.with_image("other:1");
        assert_eq!(
            changed(&p, &settings(&other)),
            vec!["CODEX_MCP_AGENT_IMAGE".to_string()]
        );
    }
}
