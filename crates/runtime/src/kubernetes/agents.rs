//! Pods and PVCs: creating, finding, stopping and removing agents.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams, PostParams};
use tracing::{info, warn};

use super::KubernetesRuntime;
use super::exec::{live_execs, reap_orphans, run_script};
use super::names::{self, VOLUMES};
use super::pod::{self, AGENT_CONTAINER, WRITER_CONTAINER};
use crate::docker::exec::parse_oom_kills;
use crate::docker::labels::{CODEX_HOME, LIVE_WORKSPACE, SCRATCH, WORKSPACE};
use crate::{AgentEnv, AgentId, AgentSpec, AgentState, AgentStatus, RuntimeError};

/// How often a starting or disappearing pod is looked at.
const POLL: Duration = Duration::from_millis(200);
/// How long a deleted pod may take to go away. A kubelet on a loaded node took more than
/// 60 s twice in the test suite's runs (two cores, other test steps beside it); a pod
/// that is really stuck still fails the wait, naming the state it was left in.
const DELETE_TIMEOUT: Duration = Duration::from_secs(120);
/// Container waiting reasons that mean the image is not there and will not come.
const IMAGE_MISSING: [&str; 4] = [
    "ErrImageNeverPull",
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
];

fn env_for(pod: String) -> AgentEnv {
    AgentEnv {
        workspace: WORKSPACE.into(),
        live_workspace: LIVE_WORKSPACE.into(),
        codex_home: CODEX_HOME.into(),
        scratch_root: SCRATCH.into(),
        container_id: Some(pod),
    }
}

/// The pod's phase (`Pending`, `Running`, `Succeeded`, `Failed`, `Unknown`).
pub(super) fn phase(p: &Pod) -> &str {
    p.status
        .as_ref()
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("Unknown")
}

fn api_status(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// The agent's pod, `None` when there is none. Refuses one without our labels.
async fn get_pod(rt: &KubernetesRuntime, agent: &AgentId) -> Result<Option<Pod>, RuntimeError> {
    let name = rt.pod_name(agent);
    let found = rt
        .pods()
        .get_opt(&name)
        .await
        .map_err(|e| rt.map_err("get pod", e))?;
    match found {
        Some(p) if !names::is_ours(&rt.cfg, agent, p.metadata.labels.as_ref()) => {
            Err(RuntimeError::Unmanaged {
                kind: "pod",
                name,
                agent: agent.to_string(),
            })
        }
        other => Ok(other),
    }
}

pub(super) async fn ensure(
    rt: &KubernetesRuntime,
    agent: &AgentId,
    spec: &AgentSpec,
) -> Result<AgentEnv, RuntimeError> {
    if let Some(path) = &spec.workspace_host_path {
        return Err(RuntimeError::InvalidWorkspace {
            path: path.clone(),
            reason: "the kubernetes runtime keeps every workspace on a PVC: host folders \
                     (CODEX_MCP_AGENT_WORKSPACES) need the docker or local runtime"
                .into(),
        });
    }
    let _guard = rt.locks.lock(agent).await;
    let name = rt.pod_name(agent);
    if let Some(p) = get_pod(rt, agent).await? {
        let usable =
            p.metadata.deletion_timestamp.is_none() && matches!(phase(&p), "Running" | "Pending");
        if usable {
            let changed = pod::changed(&p, &pod::settings(&rt.cfg));
            if changed.is_empty() {
                wait_running(rt, agent, &name).await?;
                return Ok(env_for(name));
            }
            if phase(&p) == "Running" && busy(rt, agent, &name).await {
                warn!(%agent, settings = ?changed, "settings changed, but a call is running in the pod: kept until it is idle");
                return Ok(env_for(name));
            }
            info!(%agent, settings = ?changed, "settings changed: recreating the pod (PVCs kept)");
        } else {
            info!(%agent, phase = phase(&p), "pod unusable: recreating it (PVCs kept)");
        }
        delete_and_wait(rt, &name, kill_grace(rt)).await?;
    }
    ensure_pvcs(rt, agent).await?;
    match rt
        .pods()
        .create(&PostParams::default(), &pod::pod(&rt.cfg, agent))
        .await
    {
        Ok(_) => {}
        // Another server created it between our look and now: use that one.
        Err(e) if api_status(&e) == Some(409) => {}
        Err(e) => return Err(rt.map_err("create pod", e)),
    }
    if let Err(e) = wait_running(rt, agent, &name).await {
        // A pod that cannot start (image missing, unschedulable) is not left behind. No
        // process of ours ever ran in it, so it goes without a grace period: a graceful
        // delete of a pod stuck pulling waits on the kubelet's back-off (over a minute on
        // a loaded node).
        if let Err(gone) = delete_and_wait(rt, &name, 0).await {
            warn!(%agent, pod = %name, error = %gone, "could not delete the pod that did not start");
        }
        return Err(e);
    }
    info!(%agent, pod = %name, "agent pod running");
    Ok(env_for(name))
}

/// Whether a process this runtime started still runs in the pod. An unanswerable check
/// counts as busy: recreating is never worth killing a call.
async fn busy(rt: &KubernetesRuntime, agent: &AgentId, pod: &str) -> bool {
    match live_execs(rt, pod).await {
        Ok(n) => n > 0,
        Err(e) => {
            warn!(%agent, error = %e, "could not check for running calls");
            true
        }
    }
}

/// Creates the agent's PVCs that do not exist yet; refuses same-named ones not ours.
async fn ensure_pvcs(rt: &KubernetesRuntime, agent: &AgentId) -> Result<(), RuntimeError> {
    for (kind, _) in VOLUMES {
        let claim = pod::pvc(&rt.cfg, agent, kind);
        match rt.pvcs().create(&PostParams::default(), &claim).await {
            Ok(_) => {}
            Err(e) if api_status(&e) == Some(409) => {
                let name = names::pvc_name(&rt.cfg, agent, kind);
                let found = rt
                    .pvcs()
                    .get_opt(&name)
                    .await
                    .map_err(|e| rt.map_err("get PVC", e))?;
                if !found
                    .is_some_and(|c| names::is_ours(&rt.cfg, agent, c.metadata.labels.as_ref()))
                {
                    return Err(RuntimeError::Unmanaged {
                        kind: "PVC",
                        name,
                        agent: agent.to_string(),
                    });
                }
            }
            Err(e) => return Err(rt.map_err("create PVC", e)),
        }
    }
    Ok(())
}

/// What keeps a pending pod from running, when the pod says.
fn pending_reason(p: &Pod) -> Option<String> {
    let st = p.status.as_ref()?;
    let waiting = st
        .init_container_statuses
        .iter()
        .flatten()
        .chain(st.container_statuses.iter().flatten())
        .filter_map(|c| c.state.as_ref()?.waiting.as_ref())
        .find_map(|w| {
            let reason = w.reason.clone()?;
            (reason != "ContainerCreating" && reason != "PodInitializing")
                .then(|| format!("{reason}: {}", w.message.clone().unwrap_or_default()))
        });
    waiting.or_else(|| {
        st.conditions
            .iter()
            .flatten()
            .find(|c| c.status == "False" && c.message.is_some())
            .map(|c| format!("{}: {}", c.type_, c.message.clone().unwrap_or_default()))
    })
}

fn image_missing(p: &Pod) -> bool {
    let Some(st) = p.status.as_ref() else {
        return false;
    };
    st.init_container_statuses
        .iter()
        .flatten()
        .chain(st.container_statuses.iter().flatten())
        .filter_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.as_deref())
        .any(|r| IMAGE_MISSING.contains(&r))
}

fn all_ready(p: &Pod) -> bool {
    let statuses = p
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref());
    phase(p) == "Running" && statuses.is_some_and(|s| s.len() == 2 && s.iter().all(|c| c.ready))
}

/// Waits until the pod runs with both containers ready.
async fn wait_running(
    rt: &KubernetesRuntime,
    agent: &AgentId,
    name: &str,
) -> Result<(), RuntimeError> {
    let deadline = tokio::time::Instant::now() + rt.cfg.start_timeout;
    loop {
        let p = get_pod(rt, agent)
            .await?
            .ok_or_else(|| RuntimeError::Kubernetes {
                op: "start pod",
                status: None,
                message: format!("pod {name} was deleted while it started"),
            })?;
        if all_ready(&p) {
            return Ok(());
        }
        if image_missing(&p) {
            return Err(RuntimeError::ImageMissing {
                image: rt.cfg.image.clone(),
            });
        }
        if matches!(phase(&p), "Failed" | "Succeeded") {
            return Err(RuntimeError::Kubernetes {
                op: "start pod",
                status: None,
                message: format!("pod {name} ended ({})", phase(&p)),
            });
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(RuntimeError::Kubernetes {
                op: "start pod",
                status: None,
                message: format!(
                    "pod {name} not running after {}s: {}",
                    rt.cfg.start_timeout.as_secs(),
                    pending_reason(&p).unwrap_or_else(|| phase(&p).to_string())
                ),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The grace period, in whole seconds (at least one), a running pod's processes get.
fn kill_grace(rt: &KubernetesRuntime) -> u32 {
    u32::try_from(rt.cfg.kill_grace.as_secs())
        .unwrap_or(2)
        .max(1)
}

/// Deletes the pod (its processes get `grace` seconds) and waits until it is gone.
async fn delete_and_wait(
    rt: &KubernetesRuntime,
    name: &str,
    grace: u32,
) -> Result<(), RuntimeError> {
    match rt
        .pods()
        .delete(name, &DeleteParams::default().grace_period(grace))
        .await
    {
        Ok(_) => {}
        Err(e) if api_status(&e) == Some(404) => return Ok(()),
        Err(e) => return Err(rt.map_err("delete pod", e)),
    }
    let deadline = tokio::time::Instant::now() + DELETE_TIMEOUT;
    loop {
        let found = rt
            .pods()
            .get_opt(name)
            .await
            .map_err(|e| rt.map_err("get pod", e))?;
        let Some(pod) = found else {
            return Ok(());
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(RuntimeError::Kubernetes {
                op: "delete pod",
                status: None,
                message: format!(
                    "pod {name} still there {}s after deletion ({})",
                    DELETE_TIMEOUT.as_secs(),
                    left_as(&pod)
                ),
            });
        }
        tokio::time::sleep(POLL).await;
    }
}

/// A pod's phase and each container's state, for an error about a pod that stays.
fn left_as(pod: &Pod) -> String {
    let status = pod.status.as_ref();
    let phase = status
        .and_then(|s| s.phase.as_deref())
        .unwrap_or("no phase");
    let containers: Vec<String> = status
        .and_then(|s| s.container_statuses.as_ref())
        .into_iter()
        .flatten()
        .map(|c| {
            let state = c.state.as_ref();
            let what = if let Some(w) = state.and_then(|s| s.waiting.as_ref()) {
                format!("waiting: {}", w.reason.as_deref().unwrap_or("no reason"))
            } else if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
                format!("terminated: {}", t.reason.as_deref().unwrap_or("no reason"))
            } else if state.and_then(|s| s.running.as_ref()).is_some() {
                "running".to_string()
            } else {
                "no state".to_string()
            };
            format!("{} {what}", c.name)
        })
        .collect();
    format!("phase {phase}; containers: {}", containers.join(", "))
}

fn time(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Option<DateTime<Utc>> {
    let secs = t?.0.as_second();
    DateTime::from_timestamp(secs, 0)
}

fn status_of_pod(rt: &KubernetesRuntime, agent: &AgentId, p: &Pod) -> AgentStatus {
    let running = phase(p) == "Running" && p.metadata.deletion_timestamp.is_none();
    let mut st = AgentStatus::new(
        agent.clone(),
        if running {
            AgentState::Running
        } else if rt.locks.is_locked(agent) {
            AgentState::Creating
        } else {
            AgentState::Stopped
        },
    );
    st.container_id = p.metadata.name.clone();
    st.created_at = time(p.metadata.creation_timestamp.as_ref());
    st.started_at = time(p.status.as_ref().and_then(|s| s.start_time.as_ref()));
    st.memory_limit_bytes = rt.cfg.memory_bytes;
    st
}

/// Memory in use by both containers (page cache excluded), read from their cgroups.
async fn memory_in_use(rt: &KubernetesRuntime, pod: &str) -> Option<u64> {
    let script = r#"if [ -f /sys/fs/cgroup/memory.current ]; then
  c=$(cat /sys/fs/cgroup/memory.current); f=$(sed -n 's/^inactive_file //p' /sys/fs/cgroup/memory.stat)
else
  c=$(cat /sys/fs/cgroup/memory/memory.usage_in_bytes); f=$(sed -n 's/^total_inactive_file //p' /sys/fs/cgroup/memory/memory.stat)
fi
echo $((c - ${f:-0}))"#;
    let mut total = 0u64;
    for container in [AGENT_CONTAINER, WRITER_CONTAINER] {
        let out = run_script(&rt.pods(), pod, container, &["sh", "-c", script])
            .await
            .ok()?;
        total += out.trim().parse::<u64>().ok()?;
    }
    Some(total)
}

pub(super) async fn status(
    rt: &KubernetesRuntime,
    agent: &AgentId,
    with_stats: bool,
) -> Result<Option<AgentStatus>, RuntimeError> {
    if let Some(p) = get_pod(rt, agent).await? {
        let mut st = status_of_pod(rt, agent, &p);
        if with_stats && st.state == AgentState::Running {
            st.memory_bytes = memory_in_use(rt, &rt.pod_name(agent)).await;
        }
        return Ok(Some(st));
    }
    if rt.locks.is_locked(agent) {
        return Ok(Some(AgentStatus::new(agent.clone(), AgentState::Creating)));
    }
    let claims = rt
        .pvcs()
        .list(&ListParams::default().labels(&names::selector(&rt.cfg, Some(agent))))
        .await
        .map_err(|e| rt.map_err("list PVCs", e))?;
    if !claims.items.is_empty() {
        return Ok(Some(AgentStatus::new(agent.clone(), AgentState::Missing)));
    }
    Ok(None)
}

/// The OOM-kill counters of both containers' memory cgroups, summed.
pub(super) async fn oom_kills(
    rt: &KubernetesRuntime,
    agent: &AgentId,
) -> Result<Option<u64>, RuntimeError> {
    let cmd = [
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control 2>/dev/null; true",
    ];
    let pod = rt.pod_name(agent);
    let mut total = None;
    for container in [AGENT_CONTAINER, WRITER_CONTAINER] {
        let printed = run_script(&rt.pods(), &pod, container, &cmd)
            .await
            .map_err(|e| rt.script_error("read OOM kills", e))?;
        if let Some(n) = parse_oom_kills(&printed) {
            total = Some(total.unwrap_or(0) + n);
        }
    }
    Ok(total)
}

/// Our pods, by agent.
async fn labelled_pods(rt: &KubernetesRuntime) -> Result<BTreeMap<AgentId, Pod>, RuntimeError> {
    let found = rt
        .pods()
        .list(&ListParams::default().labels(&names::selector(&rt.cfg, None)))
        .await
        .map_err(|e| rt.map_err("list pods", e))?;
    let mut out = BTreeMap::new();
    for p in found.items {
        let Some(agent) = names::agent_of(p.metadata.annotations.as_ref()) else {
            continue;
        };
        if p.metadata.name.as_deref() == Some(rt.pod_name(&agent).as_str()) {
            out.insert(agent, p);
        } else {
            warn!(%agent, pod = ?p.metadata.name, "labelled pod with an unexpected name: left alone");
        }
    }
    Ok(out)
}

pub(super) async fn adopt(rt: &KubernetesRuntime) -> Result<Vec<AgentStatus>, RuntimeError> {
    let pods = labelled_pods(rt).await?;
    let mut out = Vec::with_capacity(pods.len());
    for (agent, p) in &pods {
        let st = status_of_pod(rt, agent, p);
        if st.state == AgentState::Running && all_ready(p) {
            // Codex runs a killed server left behind would race this server's.
            match reap_orphans(rt, &rt.pod_name(agent)).await {
                Ok(0) => {}
                Ok(n) => {
                    info!(%agent, processes = n, "stopped Codex runs a previous mcpd left behind")
                }
                Err(e) => warn!(%agent, error = %e, "could not check for left-behind Codex runs"),
            }
        }
        out.push(st);
    }
    info!(count = out.len(), "adopted existing agent pods");
    Ok(out)
}

pub(super) async fn list(rt: &KubernetesRuntime) -> Result<Vec<AgentStatus>, RuntimeError> {
    let pods = labelled_pods(rt).await?;
    let mut out: BTreeMap<AgentId, AgentStatus> = BTreeMap::new();
    for (agent, p) in &pods {
        let mut st = status_of_pod(rt, agent, p);
        if st.state == AgentState::Running {
            st.memory_bytes = memory_in_use(rt, &rt.pod_name(agent)).await;
        }
        out.insert(agent.clone(), st);
    }
    // Agents whose pod is gone but whose data is still there.
    let claims = rt
        .pvcs()
        .list(&ListParams::default().labels(&names::selector(&rt.cfg, None)))
        .await
        .map_err(|e| rt.map_err("list PVCs", e))?;
    for c in claims.items {
        if let Some(agent) = names::agent_of(c.metadata.annotations.as_ref()) {
            out.entry(agent.clone())
                .or_insert_with(|| AgentStatus::new(agent, AgentState::Missing));
        }
    }
    Ok(out.into_values().collect())
}

/// An idle stop: the pod is deleted (its processes get the grace period), the PVCs stay;
/// the next `ensure` makes a new pod on them.
pub(super) async fn stop(rt: &KubernetesRuntime, agent: &AgentId) -> Result<(), RuntimeError> {
    let _guard = rt.locks.lock(agent).await;
    if get_pod(rt, agent).await?.is_some() {
        delete_and_wait(rt, &rt.pod_name(agent), kill_grace(rt)).await?;
    }
    Ok(())
}

pub(super) async fn remove(
    rt: &KubernetesRuntime,
    agent: &AgentId,
    purge: bool,
) -> Result<(), RuntimeError> {
    let _guard = rt.locks.lock(agent).await;
    if get_pod(rt, agent).await?.is_some() {
        delete_and_wait(rt, &rt.pod_name(agent), kill_grace(rt)).await?;
    }
    if purge {
        for name in rt.pvc_names(agent) {
            let found = rt
                .pvcs()
                .get_opt(&name)
                .await
                .map_err(|e| rt.map_err("get PVC", e))?;
            let Some(c) = found else { continue };
            if !names::is_ours(&rt.cfg, agent, c.metadata.labels.as_ref()) {
                continue;
            }
            match rt.pvcs().delete(&name, &DeleteParams::default()).await {
                Ok(_) => {}
                Err(e) if api_status(&e) == Some(404) => {}
                Err(e) => return Err(rt.map_err("delete PVC", e)),
            }
        }
        info!(%agent, "agent removed with its data");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_pod_that_stays_is_named_by_its_phase_and_containers() {
        let pod = |status: serde_json::Value| -> Pod {
            serde_json::from_value(serde_json::json!({"metadata": {"name": "p"}, "status": status}))
                .unwrap()
        };
        let got = [
            pod(serde_json::json!({
                "phase": "Running",
                "containerStatuses": [
                    {"name": "agent", "image": "i", "imageID": "", "ready": false,
                     "restartCount": 0, "state": {"terminated": {"exitCode": 137, "reason": "Error"}}},
                    {"name": "side", "image": "i", "imageID": "", "ready": true,
                     "restartCount": 0, "state": {"running": {}}}
                ]
            })),
            pod(serde_json::json!({})),
        ]
        .map(|p| left_as(&p));
        assert_eq!(
            got,
            [
                "phase Running; containers: agent terminated: Error, side running".to_string(),
                "phase no phase; containers: ".to_string(),
            ]
        );
    }
}
