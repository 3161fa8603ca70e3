//! Running processes in an agent's pod through the exec API, and killing them.
//!
//! The exec API (WebSocket, `v4.channel.k8s.io` on Kubernetes before 1.29) has no working
//! directory, no environment, no way to signal the process and, before protocol v5, no
//! way to close stdin but closing the whole connection (and losing the output). So every
//! process runs under a small `sh` wrapper that
//! - records its pid in `/tmp` (the container's own memory-backed `/tmp`), so that
//!   killing it (a second exec running the Docker runtime's killer script) takes its
//!   whole tree;
//! - changes to the working directory and sets the environment (`env K=V ...`; values
//!   here are settings such as `CODEX_HOME`: secrets go in files, see `files.rs`);
//! - feeds the process exactly the bytes announced (`head -c N | ...`), so it sees the end
//!   of its input while the connection stays open, or `/dev/null` when there are none.

use std::time::Duration;

use futures::{Stream, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::AttachParams;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tracing::debug;

use super::KubernetesRuntime;
use super::pod::{AGENT_CONTAINER, WRITER_CONTAINER};
use crate::docker::exec::{KILLER, REAPER};
use crate::docker::labels::WORKSPACE;
use crate::handle::{self, Chunk, ExecParts};
use crate::{AgentId, ExecHandle, ExecSpec, RuntimeError};

/// `$1` pid file, `$2` stdin byte count (`-`: none), `$3` working directory, then the
/// command.
const WRAPPER: &str = r#"f=$1; n=$2; cd "$3" || exit 126; shift 3
echo $$ > "$f"
if [ "$n" = - ]; then "$@" < /dev/null; else head -c "$n" | "$@"; fi
rc=$?; rm -f "$f"; exit $rc"#;

/// How long one small helper exec (kill, reap, count) may take.
const HELPER_TIMEOUT: Duration = Duration::from_secs(30);

/// The container a process runs in.
pub(super) fn container_for(writes_workspace: bool) -> &'static str {
    if writes_workspace {
        WRITER_CONTAINER
    } else {
        AGENT_CONTAINER
    }
}

/// Reads `r` to its end as a stream of chunks.
fn chunks<R: AsyncRead + Unpin + Send + 'static>(
    r: R,
    wrap: fn(Vec<u8>) -> Chunk,
) -> impl Stream<Item = Chunk> + Send {
    futures::stream::unfold(r, move |mut r| async move {
        let mut buf = vec![0u8; 32 * 1024];
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((wrap(buf), r))
            }
        }
    })
}

/// The exec's closing status, as the API server sends it.
pub(super) type ExecStatus = k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;

/// The exit code in an exec's closing status: 0 on success, the `ExitCode` cause
/// otherwise; `None` when there is none (the connection broke, the pod went away).
fn exit_code(status: Option<&ExecStatus>) -> Option<i32> {
    let s = status?;
    if s.status.as_deref() == Some("Success") {
        return Some(0);
    }
    s.details
        .as_ref()?
        .causes
        .iter()
        .flatten()
        .find(|c| c.reason.as_deref() == Some("ExitCode"))
        .and_then(|c| c.message.as_deref()?.trim().parse().ok())
}

pub(super) async fn exec(
    rt: &KubernetesRuntime,
    agent: &AgentId,
    cmd: ExecSpec,
) -> Result<ExecHandle, RuntimeError> {
    if cmd.argv.is_empty() {
        return Err(RuntimeError::InvalidExec("argv is empty".into()));
    }
    let pod = rt.pod_name(agent);
    let container = container_for(cmd.writes_workspace);
    let pidfile = format!("/tmp/.codex-mcp-exec-{:016x}.pid", rand::random::<u64>());
    let stdin_len = cmd.stdin.as_ref().map(Vec::len);
    let mut argv = vec![
        "sh".to_string(),
        "-c".into(),
        WRAPPER.into(),
        "codex-mcp-exec".into(),
        pidfile.clone(),
        stdin_len.map_or_else(|| "-".to_string(), |n| n.to_string()),
        cmd.cwd.unwrap_or_else(|| WORKSPACE.to_string()),
    ];
    if !cmd.env.is_empty() {
        argv.push("env".into());
        argv.extend(cmd.env.iter().map(|(k, v)| format!("{k}={v}")));
    }
    argv.extend(cmd.argv);
    let params = AttachParams::default()
        .container(container)
        .stdin(cmd.stdin.is_some())
        .stdout(true)
        .stderr(true);
    let mut attached = match rt.pods().exec(&pod, argv, &params).await {
        Ok(a) => a,
        Err(e) => return Err(rt.exec_error(agent, e).await),
    };
    let writer = match (cmd.stdin, attached.stdin()) {
        (Some(bytes), Some(mut w)) => Some(tokio::spawn(async move {
            // Fails only when the process stops reading: not our error.
            let _ = w.write_all(&bytes).await;
            let _ = w.flush().await;
            // The writer must stay open until the process ends: closing it closes the
            // whole connection on protocol v4. The task is aborted in `finish`.
            std::future::pending::<()>().await;
        })),
        _ => None,
    };
    let out = attached
        .stdout()
        .map(|r| chunks(r, Chunk::Stdout).boxed())
        .unwrap_or_else(|| futures::stream::empty().boxed());
    let err = attached
        .stderr()
        .map(|r| chunks(r, Chunk::Stderr).boxed())
        .unwrap_or_else(|| futures::stream::empty().boxed());
    let status = attached.take_status();
    let pods = rt.pods();
    let grace_tenths = (rt.cfg.kill_grace.as_millis() / 100).to_string();
    Ok(handle::spawn(ExecParts {
        output: Box::pin(futures::stream::select(out, err)),
        kill: Box::new(move || {
            Box::pin(async move {
                let cmd = [
                    "sh",
                    "-c",
                    KILLER,
                    "codex-mcp-kill",
                    &pidfile,
                    &grace_tenths,
                ];
                match run_script(&pods, &pod, container, &cmd).await {
                    Ok(printed) => debug!(output = %printed, "killer"),
                    // The pod may be gone already, which ends everything anyway.
                    Err(e) => debug!(error = %e, pod, "kill exec failed"),
                }
            })
        }),
        finish: Box::new(move |killed| {
            Box::pin(async move {
                let code = match status {
                    Some(s) => exit_code(s.await.as_ref()),
                    None => None,
                };
                if let Some(w) = writer {
                    w.abort();
                }
                drop(attached);
                if killed { None } else { code }
            })
        }),
    }))
}

/// Runs `cmd` in `container` of `pod` without stdin, waits for it, and returns its
/// stdout; a non-zero exit is an error carrying its stderr.
pub(super) async fn run_script(
    pods: &Api<Pod>,
    pod: &str,
    container: &str,
    cmd: &[&str],
) -> Result<String, ScriptError> {
    let params = AttachParams::default().container(container);
    let run = async {
        let mut attached = pods.exec(pod, cmd.to_vec(), &params).await?;
        let mut out = String::new();
        let mut err = String::new();
        let (mut o, mut e) = (attached.stdout(), attached.stderr());
        let status = attached.take_status();
        let read_out = async {
            if let Some(o) = o.as_mut() {
                let _ = o.read_to_string(&mut out).await;
            }
        };
        let read_err = async {
            if let Some(e) = e.as_mut() {
                let _ = e.read_to_string(&mut err).await;
            }
        };
        tokio::join!(read_out, read_err);
        let code = match status {
            Some(s) => exit_code(s.await.as_ref()),
            None => None,
        };
        Ok::<_, kube::Error>((code, out, err))
    };
    match tokio::time::timeout(HELPER_TIMEOUT, run).await {
        Err(_) => Err(ScriptError::Failed("timed out".into())),
        Ok(Err(e)) => Err(ScriptError::Kube(e)),
        Ok(Ok((Some(0), out, _))) => Ok(out),
        Ok(Ok((code, _, err))) => Err(ScriptError::Failed(format!(
            "exit {}: {}",
            code.map_or_else(|| "unknown".to_string(), |c| c.to_string()),
            err.trim()
        ))),
    }
}

/// Why a helper exec failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum ScriptError {
    /// The API refused or the connection broke.
    #[error(transparent)]
    Kube(#[from] kube::Error),
    /// The script ran and failed.
    #[error("{0}")]
    Failed(String),
}

/// Kills the process trees a previous server left running in the pod's containers (their
/// pid files are still in `/tmp`) and returns how many there were.
pub(super) async fn reap_orphans(rt: &KubernetesRuntime, pod: &str) -> Result<u32, RuntimeError> {
    let grace_tenths = (rt.cfg.kill_grace.as_millis() / 100).to_string();
    let mut n = 0;
    for container in [AGENT_CONTAINER, WRITER_CONTAINER] {
        let cmd = ["sh", "-c", REAPER, "codex-mcp-reap", KILLER, &grace_tenths];
        let printed = run_script(&rt.pods(), pod, container, &cmd)
            .await
            .map_err(|e| rt.script_error("reap left-behind processes", e))?;
        n += printed.trim().parse::<u32>().unwrap_or(0);
    }
    Ok(n)
}

/// How many processes started through [`exec`] (by any server) still run in the pod.
pub(super) async fn live_execs(rt: &KubernetesRuntime, pod: &str) -> Result<u32, RuntimeError> {
    let script = r#"n=0; for f in /tmp/.codex-mcp-exec-*.pid; do [ -s "$f" ] && n=$((n+1)); done; echo "$n""#;
    let mut n = 0;
    for container in [AGENT_CONTAINER, WRITER_CONTAINER] {
        let printed = run_script(&rt.pods(), pod, container, &["sh", "-c", script])
            .await
            .map_err(|e| rt.script_error("count running processes", e))?;
        n += printed.trim().parse::<u32>().unwrap_or(0);
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(json: serde_json::Value) -> ExecStatus {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn exit_codes_come_from_the_closing_status() {
        let ok = status(serde_json::json!({"metadata": {}, "status": "Success"}));
        assert_eq!(exit_code(Some(&ok)), Some(0));
        // What the API server sends for `exit 3` (Kubernetes 1.20).
        let failed = status(serde_json::json!({
            "metadata": {}, "status": "Failure",
            "message": "command terminated with non-zero exit code: exit status 3",
            "reason": "NonZeroExitCode",
            "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}
        }));
        assert_eq!(exit_code(Some(&failed)), Some(3));
        let broken = status(serde_json::json!({
            "metadata": {}, "status": "Failure", "message": "container not found"
        }));
        assert_eq!(exit_code(Some(&broken)), None);
        assert_eq!(exit_code(None), None);
    }
}
