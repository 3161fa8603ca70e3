//! Containers and volumes: creating, starting, finding, stopping and removing agents.

use std::collections::BTreeMap;
use std::path::Path;

use bollard::models::{ContainerInspectResponse, ContainerStateStatusEnum};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListContainersOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use chrono::{DateTime, Utc};
use tracing::{info, warn};

use super::labels::{self, CODEX_HOME, LIVE_WORKSPACE, SCRATCH, WORKSPACE};
use super::{DockerRuntime, exec, known, layout, prepare, stats, status_of, volume};
use crate::{
    AgentEnv, AgentId, AgentSpec, AgentState, AgentStatus, RuntimeError, resolve_workspace,
};

fn env_for(id: String) -> AgentEnv {
    AgentEnv {
        workspace: WORKSPACE.into(),
        live_workspace: LIVE_WORKSPACE.into(),
        codex_home: CODEX_HOME.into(),
        scratch_root: SCRATCH.into(),
        container_id: Some(id),
    }
}

pub(super) async fn ensure(
    rt: &DockerRuntime,
    agent: &AgentId,
    spec: &AgentSpec,
) -> Result<AgentEnv, RuntimeError> {
    let bind = spec
        .workspace_host_path
        .as_deref()
        .map(|p| resolve_workspace(p, &rt.cfg.workspace_roots))
        .transpose()?;
    // Left running by this server: trusted, no engine call (see `known.rs`).
    if let Some(env) = rt.known.running(agent, bind.as_deref()) {
        return Ok(env);
    }
    ensure_now(rt, agent, bind).await
}

/// [`ensure`] asking the engine: finds, starts or (re)creates the container with the
/// workspace `bind`, and remembers it running unless a settings change waits for it to
/// be idle.
pub(super) async fn ensure_now(
    rt: &DockerRuntime,
    agent: &AgentId,
    bind: Option<std::path::PathBuf>,
) -> Result<AgentEnv, RuntimeError> {
    let _guard = rt.locks.lock(agent).await;
    let (ready, settled) = match inspect(rt, agent).await? {
        None => (create_and_start(rt, agent, bind.as_deref()).await?, true),
        Some(c) => reuse_or_replace(rt, agent, c, bind.as_deref()).await?,
    };
    let env = env_for(ready.id);
    if settled {
        let entry = known::Entry {
            bind,
            env: env.clone(),
            run_helper: ready.run_helper,
        };
        rt.known.set(agent, entry);
    }
    Ok(env)
}

/// A container ready for processes: its id and where its run helper is, if it has one.
struct Ready {
    id: String,
    run_helper: Option<String>,
}

/// The run helper named by `c`'s labels (see [`labels::LABEL_RUN_HELPER`]), unless this
/// server has it turned off.
fn run_helper_of(rt: &DockerRuntime, c: &ContainerInspectResponse) -> Option<String> {
    c.config
        .as_ref()
        .and_then(|c| c.labels.as_ref())
        .and_then(|l| l.get(labels::LABEL_RUN_HELPER))
        .filter(|_| rt.cfg.run_helper)
        .cloned()
}

/// Decides what to do with an existing container of the agent: reuse it, start it, or
/// recreate it (volumes kept) when it is unusable or its security-relevant settings
/// differ from the ones in force, unless a call is running in it. Returns it, and
/// false when it was kept with settings to change once it is idle.
async fn reuse_or_replace(
    rt: &DockerRuntime,
    agent: &AgentId,
    c: ContainerInspectResponse,
    bind: Option<&Path>,
) -> Result<(Ready, bool), RuntimeError> {
    let id = c.id.clone().unwrap_or_else(|| rt.container_name(agent));
    let run_helper = run_helper_of(rt, &c);
    let mut state = c.state.as_ref().and_then(|s| s.status);
    if state == Some(ContainerStateStatusEnum::PAUSED) {
        rt.docker
            .unpause_container(&id)
            .await
            .map_err(rt.err("unpause container"))?;
        state = Some(ContainerStateStatusEnum::RUNNING);
    }
    let running = state == Some(ContainerStateStatusEnum::RUNNING);
    let mut changed = layout::changed(&c, &layout::settings(rt, agent, bind));
    // A stopped agent is started on the image in force today, so a rebuilt image
    // reaches it; a running one on the image this server first saw.
    if !image_is_current(rt, agent, &c, !running).await {
        changed.push("CODEX_MCP_AGENT_IMAGE (image id)");
    }
    if !changed.is_empty() {
        if running && busy(rt, agent, &id).await {
            warn!(%agent, settings = ?changed, "security-relevant settings changed, but a call is running in the container: kept until it is idle");
            return Ok((Ready { id, run_helper }, false));
        }
        info!(%agent, settings = ?changed, "security-relevant settings changed: recreating the container (volumes kept)");
        return replace(rt, agent, &id, bind).await.map(|r| (r, true));
    }
    let kept = Ready { id, run_helper };
    let ready = match state {
        Some(ContainerStateStatusEnum::RUNNING) => kept,
        Some(
            ContainerStateStatusEnum::CREATED
            | ContainerStateStatusEnum::EXITED
            | ContainerStateStatusEnum::RESTARTING,
        ) => match rt.docker.start_container(&kept.id, None).await {
            Ok(()) => kept,
            Err(e) => {
                warn!(%agent, error = %e, "could not restart the container: recreating it");
                replace(rt, agent, &kept.id, bind).await?
            }
        },
        _ => {
            info!(%agent, ?state, "container unusable: recreating it");
            replace(rt, agent, &kept.id, bind).await?
        }
    };
    Ok((ready, true))
}

/// Whether a process this runtime started still runs in the container (its pid file is
/// in `/tmp`). An unanswerable check counts as busy: recreating is never worth killing
/// a call.
async fn busy(rt: &DockerRuntime, agent: &AgentId, id: &str) -> bool {
    match exec::live_execs(rt, id).await {
        Ok(n) => n > 0,
        Err(e) => {
            warn!(%agent, error = %e, "could not check for running calls");
            true
        }
    }
}

async fn replace(
    rt: &DockerRuntime,
    agent: &AgentId,
    id: &str,
    bind: Option<&Path>,
) -> Result<Ready, RuntimeError> {
    force_remove(rt, id).await?;
    create_and_start(rt, agent, bind).await
}

/// Whether `c` runs the agent's configured image. `fresh` asks the engine now; otherwise
/// the image id first seen by this server is used (one engine call per server, not per
/// call).
async fn image_is_current(
    rt: &DockerRuntime,
    agent: &AgentId,
    c: &ContainerInspectResponse,
    fresh: bool,
) -> bool {
    match rt.image_id(rt.cfg.image_for(agent), fresh).await {
        Some(id) => c.image.as_deref() == Some(id.as_str()),
        // A missing image surfaces, with its fix, when the container is recreated; keep
        // using the container we have.
        None => true,
    }
}

/// The agent's container, `None` when there is none. Refuses one without our labels.
async fn inspect(
    rt: &DockerRuntime,
    agent: &AgentId,
) -> Result<Option<ContainerInspectResponse>, RuntimeError> {
    let name = rt.container_name(agent);
    match rt.docker.inspect_container(&name, None).await {
        Ok(c) => {
            let found = c.config.as_ref().and_then(|c| c.labels.as_ref());
            if labels::is_ours(&rt.cfg, agent, found) {
                Ok(Some(c))
            } else {
                Err(RuntimeError::Unmanaged {
                    kind: "container",
                    name,
                    agent: agent.to_string(),
                })
            }
        }
        Err(e) if status_of(&e) == Some(404) => Ok(None),
        Err(e) => Err(rt.map_err("inspect container", e)),
    }
}

pub(super) async fn force_remove(rt: &DockerRuntime, id: &str) -> Result<(), RuntimeError> {
    let opts = RemoveContainerOptionsBuilder::new()
        .force(true)
        .v(false)
        .build();
    match rt.docker.remove_container(id, Some(opts)).await {
        Ok(()) => Ok(()),
        Err(e) if status_of(&e) == Some(404) => Ok(()),
        Err(e) => Err(rt.map_err("remove container", e)),
    }
}

async fn create_and_start(
    rt: &DockerRuntime,
    agent: &AgentId,
    bind: Option<&Path>,
) -> Result<Ready, RuntimeError> {
    let image = rt.cfg.image_for(agent);
    rt.check_image(image).await?;
    // The new container runs the image in force now: remember its id for later checks.
    rt.image_id(image, true).await;
    let new_volumes = volume::ensure(rt, agent, bind.is_none()).await?;
    // Whatever the image (and whatever an earlier one left), the volumes are the agent
    // user's before its container starts; an image without Codex gets mcpd's.
    let prepared = prepare::prepare(rt, agent, image, bind.is_none(), new_volumes).await?;
    let name = rt.container_name(agent);
    let settings = layout::settings(rt, agent, bind);
    let opts = CreateContainerOptionsBuilder::new().name(&name).build();
    let ready = match rt
        .docker
        .create_container(
            Some(opts),
            layout::body(rt, agent, bind, &settings, &prepared),
        )
        .await
    {
        Ok(r) => Ready {
            id: r.id,
            run_helper: prepared.run_helper,
        },
        // Another server (a replica on the same engine) created it between our look and
        // now: use that one once the engine shows it (it holds the name a moment before).
        Err(e) if status_of(&e) == Some(409) => match created_elsewhere(rt, agent).await? {
            Some(ready) => ready,
            None => return Err(rt.map_err("create container", e)),
        },
        Err(e) => return Err(rt.map_err("create container", e)),
    };
    let id = &ready.id;
    match rt.docker.start_container(id, None).await {
        // 304: the other server started it first.
        Ok(()) => {}
        Err(e) if status_of(&e) == Some(304) => {}
        Err(e) => {
            // A container that cannot start (bad network mode, say) is not left behind.
            let _ = force_remove(rt, id).await;
            return Err(rt.map_err("start container", e));
        }
    }
    info!(%agent, container = %id, run_helper = ready.run_helper.is_some(), "agent container started");
    Ok(ready)
}

/// The agent's container another server just created, looked up for a few seconds (the
/// engine refuses the name before it lists the container); `None` if it never shows.
async fn created_elsewhere(
    rt: &DockerRuntime,
    agent: &AgentId,
) -> Result<Option<Ready>, RuntimeError> {
    for _ in 0..50 {
        if let Some(c) = inspect(rt, agent).await? {
            let run_helper = run_helper_of(rt, &c);
            let id = c.id.unwrap_or_else(|| rt.container_name(agent));
            return Ok(Some(Ready { id, run_helper }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Ok(None)
}

fn parse_time(s: Option<&str>) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(s?).ok()?.with_timezone(&Utc);
    // The engine reports "0001-01-01T00:00:00Z" for "never".
    (t.timestamp() > 0).then_some(t)
}

async fn status_of_container(
    rt: &DockerRuntime,
    agent: &AgentId,
    c: &ContainerInspectResponse,
    with_stats: bool,
) -> AgentStatus {
    let state = c.state.as_ref().and_then(|s| s.status);
    let mut st = AgentStatus::new(
        agent.clone(),
        match state {
            Some(ContainerStateStatusEnum::RUNNING) => AgentState::Running,
            _ if rt.locks.is_locked(agent) => AgentState::Creating,
            _ => AgentState::Stopped,
        },
    );
    st.container_id = c.id.clone();
    st.created_at = parse_time(c.created.as_deref());
    st.started_at = parse_time(c.state.as_ref().and_then(|s| s.started_at.as_deref()));
    st.memory_limit_bytes = c
        .host_config
        .as_ref()
        .and_then(|h| h.memory)
        .filter(|m| *m > 0)
        .and_then(|m| u64::try_from(m).ok());
    if with_stats
        && st.state == AgentState::Running
        && let Some(id) = st.container_id.clone()
    {
        stats::fill(rt, &id, &mut st).await;
    }
    st
}

pub(super) async fn status(
    rt: &DockerRuntime,
    agent: &AgentId,
    with_stats: bool,
) -> Result<Option<AgentStatus>, RuntimeError> {
    if let Some(c) = inspect(rt, agent).await? {
        return Ok(Some(status_of_container(rt, agent, &c, with_stats).await));
    }
    if rt.locks.is_locked(agent) {
        return Ok(Some(AgentStatus::new(agent.clone(), AgentState::Creating)));
    }
    if !volume::list(rt, Some(agent)).await?.is_empty() {
        return Ok(Some(AgentStatus::new(agent.clone(), AgentState::Missing)));
    }
    Ok(None)
}

/// Our containers with their canonical names, by agent.
async fn labelled_containers(
    rt: &DockerRuntime,
) -> Result<BTreeMap<AgentId, String>, RuntimeError> {
    let opts = ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&labels::filters(&rt.cfg, None))
        .build();
    let found = rt
        .docker
        .list_containers(Some(opts))
        .await
        .map_err(rt.err("list containers"))?;
    let mut out = BTreeMap::new();
    for c in found {
        let Some(agent) = labels::agent_of(c.labels.as_ref()) else {
            continue;
        };
        let want = format!("/{}", rt.container_name(&agent));
        let named = c.names.as_ref().is_some_and(|n| n.contains(&want));
        match (named, c.id) {
            (true, Some(id)) => {
                out.insert(agent, id);
            }
            _ => {
                warn!(%agent, names = ?c.names, "labelled container with an unexpected name: left alone")
            }
        }
    }
    Ok(out)
}

pub(super) async fn adopt(
    rt: &DockerRuntime,
    keep: &[String],
) -> Result<Vec<AgentStatus>, RuntimeError> {
    let found = labelled_containers(rt).await?;
    let mut out = Vec::with_capacity(found.len());
    for agent in found.keys() {
        if let Some(st) = status(rt, agent, false).await? {
            if st.state == AgentState::Running {
                // Codex runs a killed server left behind would race this server's.
                match super::exec::reap_orphans(rt, &rt.container_name(agent), keep).await {
                    Ok(0) => {}
                    Ok(n) => {
                        info!(%agent, processes = n, "stopped Codex runs a previous mcpd left behind")
                    }
                    Err(e) => {
                        warn!(%agent, error = %e, "could not check for left-behind Codex runs")
                    }
                }
            }
            out.push(st);
        }
    }
    info!(count = out.len(), "adopted existing agent containers");
    Ok(out)
}

pub(super) async fn list(rt: &DockerRuntime) -> Result<Vec<AgentStatus>, RuntimeError> {
    let containers = labelled_containers(rt).await?;
    let statuses = futures::future::join_all(containers.keys().map(|a| status(rt, a, true))).await;
    let mut out: BTreeMap<AgentId, AgentStatus> = BTreeMap::new();
    for st in statuses {
        if let Some(st) = st? {
            out.insert(st.agent.clone(), st);
        }
    }
    // Agents whose container is gone but whose data is still there.
    for v in volume::list(rt, None).await? {
        if let Some(agent) = labels::agent_of(Some(&v.labels)) {
            out.entry(agent.clone())
                .or_insert_with(|| AgentStatus::new(agent, AgentState::Missing));
        }
    }
    Ok(out.into_values().collect())
}

pub(super) async fn stop(rt: &DockerRuntime, agent: &AgentId) -> Result<(), RuntimeError> {
    let _guard = rt.locks.lock(agent).await;
    rt.known.forget(agent);
    let Some(c) = inspect(rt, agent).await? else {
        return Ok(());
    };
    let id = c.id.unwrap_or_else(|| rt.container_name(agent));
    let t = i32::try_from(rt.cfg.kill_grace.as_secs()).unwrap_or(10);
    let opts = StopContainerOptionsBuilder::new().t(t).build();
    match rt.docker.stop_container(&id, Some(opts)).await {
        Ok(()) => Ok(()),
        // 304: already stopped; 404: gone meanwhile.
        Err(e) if matches!(status_of(&e), Some(304 | 404)) => Ok(()),
        Err(e) => Err(rt.map_err("stop container", e)),
    }
}

pub(super) async fn remove(
    rt: &DockerRuntime,
    agent: &AgentId,
    purge: bool,
) -> Result<(), RuntimeError> {
    let _guard = rt.locks.lock(agent).await;
    rt.known.forget(agent);
    if let Some(c) = inspect(rt, agent).await? {
        force_remove(rt, &c.id.unwrap_or_else(|| rt.container_name(agent))).await?;
    }
    if purge {
        volume::purge(rt, agent).await?;
        info!(%agent, "agent removed with its data");
    }
    Ok(())
}
