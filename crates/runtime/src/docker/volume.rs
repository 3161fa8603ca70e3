//! The agent's named volumes: where its data outlives its container.

use bollard::models::{Volume, VolumeCreateRequest};
use bollard::query_parameters::{ListVolumesOptionsBuilder, RemoveVolumeOptions};

use super::labels::{self, VOLUMES};
use super::{DockerRuntime, status_of};
use crate::{AgentId, RuntimeError};

/// Creates the agent's volumes that do not exist yet; refuses same-named foreign ones.
/// True when this call created every one of them (a new agent: empty volumes that take
/// their first contents and owner from the image when its container is created).
pub(super) async fn ensure(
    rt: &DockerRuntime,
    agent: &AgentId,
    with_workspace: bool,
) -> Result<bool, RuntimeError> {
    let mut all_new = true;
    for (kind, _) in VOLUMES {
        if kind == "workspace" && !with_workspace {
            continue;
        }
        let name = labels::volume_name(&rt.cfg, agent, kind);
        match rt.docker.inspect_volume(&name).await {
            Ok(v) => {
                all_new = false;
                if !labels::is_ours(&rt.cfg, agent, Some(&v.labels)) {
                    return Err(RuntimeError::Unmanaged {
                        kind: "volume",
                        name,
                        agent: agent.to_string(),
                    });
                }
            }
            Err(e) if status_of(&e) == Some(404) => {
                let mut l = labels::labels(&rt.cfg, agent);
                l.insert(labels::LABEL_VOLUME.into(), kind.into());
                let req = VolumeCreateRequest {
                    name: Some(name),
                    labels: Some(l),
                    ..Default::default()
                };
                rt.docker
                    .create_volume(req)
                    .await
                    .map_err(rt.err("create volume"))?;
            }
            Err(e) => return Err(rt.map_err("inspect volume", e)),
        }
    }
    Ok(all_new)
}

/// Our volumes (of one agent, or of all).
pub(super) async fn list(
    rt: &DockerRuntime,
    agent: Option<&AgentId>,
) -> Result<Vec<Volume>, RuntimeError> {
    let opts = ListVolumesOptionsBuilder::new()
        .filters(&labels::filters(&rt.cfg, agent))
        .build();
    let v = rt
        .docker
        .list_volumes(Some(opts))
        .await
        .map_err(rt.err("list volumes"))?;
    Ok(v.volumes.unwrap_or_default())
}

/// Deletes the agent's volumes: its workspace, Codex home and scratch space are gone.
pub(super) async fn purge(rt: &DockerRuntime, agent: &AgentId) -> Result<(), RuntimeError> {
    for v in list(rt, Some(agent)).await? {
        match rt
            .docker
            .remove_volume(&v.name, None::<RemoveVolumeOptions>)
            .await
        {
            Ok(()) => {}
            Err(e) if status_of(&e) == Some(404) => {}
            Err(e) => return Err(rt.map_err("remove volume", e)),
        }
    }
    Ok(())
}
