//! One-off containers of the agent image, for diagnostics: never labelled as an agent's,
//! never networked, always removed.

use bollard::errors::Error as BollardError;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{CreateContainerOptions, LogsOptionsBuilder};
use futures::StreamExt;

use super::labels::AGENT_USER;
use super::{DockerRuntime, container};
use crate::RuntimeError;

pub(super) async fn codex_version(rt: &DockerRuntime) -> Result<String, RuntimeError> {
    rt.check_image().await?;
    let body = ContainerCreateBody {
        image: Some(rt.cfg.image.clone()),
        cmd: Some(vec!["codex".into(), "--version".into()]),
        user: Some(AGENT_USER.into()),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec!["no-new-privileges:true".into()]),
            readonly_rootfs: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let id = rt
        .docker
        .create_container(None::<CreateContainerOptions>, body)
        .await
        .map_err(rt.err("create container"))?
        .id;
    let result = run(rt, &id).await;
    let _ = container::force_remove(rt, &id).await;
    let (code, output) = result?;
    if code == 0 && !output.is_empty() {
        Ok(output)
    } else {
        Err(RuntimeError::ImageLacksCodex {
            image: rt.cfg.image.clone(),
            detail: format!("`codex --version` exited with {code}: {output}"),
        })
    }
}

/// Starts the container, waits for it, and returns its exit code and output.
async fn run(rt: &DockerRuntime, id: &str) -> Result<(i64, String), RuntimeError> {
    match rt.docker.start_container(id, None).await {
        Ok(()) => {}
        // The runtime could not even exec the command (no such file on PATH).
        Err(BollardError::DockerResponseServerError { message, .. }) => {
            return Ok((127, message));
        }
        Err(e) => return Err(rt.map_err("start container", e)),
    }
    let code = match rt.docker.wait_container(id, None).next().await {
        Some(Ok(r)) => r.status_code,
        Some(Err(BollardError::DockerContainerWaitError { code, .. })) => code,
        Some(Err(e)) => return Err(rt.map_err("wait for container", e)),
        None => -1,
    };
    let opts = LogsOptionsBuilder::new().stdout(true).stderr(true).build();
    let mut logs = rt.docker.logs(id, Some(opts));
    let mut text = String::new();
    while let Some(chunk) = logs.next().await {
        match chunk {
            Ok(c) => text.push_str(&String::from_utf8_lossy(&c.into_bytes())),
            Err(e) => return Err(rt.map_err("read container logs", e)),
        }
    }
    Ok((code, text.trim().to_string()))
}
