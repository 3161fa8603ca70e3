//! One-off containers of the agent image, for diagnostics: never labelled as an agent's,
//! never networked, always removed.

use bollard::container::LogOutput;
use bollard::errors::Error as BollardError;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{AttachContainerOptionsBuilder, CreateContainerOptions};
use futures::StreamExt;

use super::labels::AGENT_USER;
use super::{DockerRuntime, container};
use crate::RuntimeError;

pub(super) async fn codex_version(rt: &DockerRuntime, image: &str) -> Result<String, RuntimeError> {
    rt.check_image(image).await?;
    let body = body(image, AGENT_USER, vec!["codex".into(), "--version".into()]);
    let result = run_once(rt, body).await;
    let (code, output) = result?;
    if code == 0 && !output.is_empty() {
        Ok(output)
    } else {
        Err(RuntimeError::ImageLacksCodex {
            image: image.to_string(),
            detail: format!("`codex --version` exited with {code}: {output}"),
        })
    }
}

/// A one-off container of `image` running `cmd` as `user`: no network, no capabilities,
/// a read-only root, `no-new-privileges`.
pub(super) fn body(image: &str, user: &str, cmd: Vec<String>) -> ContainerCreateBody {
    ContainerCreateBody {
        image: Some(image.to_string()),
        cmd: Some(cmd),
        user: Some(user.into()),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            cap_drop: Some(vec!["ALL".into()]),
            security_opt: Some(vec!["no-new-privileges:true".into()]),
            readonly_rootfs: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Creates, runs and removes one container; its exit code and output.
pub(super) async fn run_once(
    rt: &DockerRuntime,
    body: ContainerCreateBody,
) -> Result<(i64, String), RuntimeError> {
    let id = rt
        .docker
        .create_container(None::<CreateContainerOptions>, body)
        .await
        .map_err(rt.err("create container"))?
        .id;
    let result = run(rt, &id).await;
    let _ = container::force_remove(rt, &id).await;
    result
}

/// Attaches to the container, starts it, and returns its exit code and everything it
/// printed. (Attaching before the start, rather than reading the logs after the exit,
/// cannot miss output the log driver has not written yet. The attach streams only, as
/// `docker run` does: asking for the logs too made the engine sometimes replay lines the
/// stream also delivered, so a report named a missing program twice.)
async fn run(rt: &DockerRuntime, id: &str) -> Result<(i64, String), RuntimeError> {
    let opts = AttachContainerOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .stream(true)
        .build();
    let mut attached = rt
        .docker
        .attach_container(id, Some(opts))
        .await
        .map_err(rt.err("attach to container"))?;
    match rt.docker.start_container(id, None).await {
        Ok(()) => {}
        // The runtime could not even exec the command (no such file on PATH).
        Err(BollardError::DockerResponseServerError { message, .. }) => {
            return Ok((127, message));
        }
        Err(e) => return Err(rt.map_err("start container", e)),
    }
    // Stdout alone when it has something (Codex may warn on stderr, in either order).
    let (mut out, mut err) = (String::new(), String::new());
    while let Some(chunk) = attached.output.next().await {
        match chunk {
            Ok(LogOutput::StdOut { message }) => out.push_str(&String::from_utf8_lossy(&message)),
            Ok(other) => err.push_str(&String::from_utf8_lossy(&other.into_bytes())),
            Err(e) => return Err(rt.map_err("read container output", e)),
        }
    }
    let text = if out.trim().is_empty() { err } else { out };
    let code = match rt.docker.wait_container(id, None).next().await {
        Some(Ok(r)) => r.status_code,
        Some(Err(BollardError::DockerContainerWaitError { code, .. })) => code,
        Some(Err(e)) => return Err(rt.map_err("wait for container", e)),
        None => -1,
    };
    Ok((code, text.trim().to_string()))
}
