//! Writing files into an agent's pod: one exec whose stdin carries every file's bytes.
//!
//! The bytes (credentials, above all) travel only through the exec stream: never in the
//! pod spec, a Secret, a ConfigMap, an environment variable or a command line, where
//! anyone who can read the namespace's objects (or the model, through `/proc`) would see
//! them. The command line holds only each file's path, size and mode; the script reads
//! exactly that many bytes for each (`head -c`), writes them to a temporary file next to
//! the target and renames it, so a reader never sees half a file.

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::AttachParams;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::KubernetesRuntime;
use super::pod::{AGENT_CONTAINER, WRITER_CONTAINER};
use crate::docker::labels::{CODEX_HOME, LIVE_WORKSPACE, SCRATCH, WORKSPACE};
use crate::{AgentId, FileToWrite, RuntimeError};

/// `$@`: (path, size, mode) triples; stdin: the files' bytes, one after the other.
const WRITE: &str = r#"set -e
umask 077
while [ $# -ge 3 ]; do
  p=$1; n=$2; m=$3; shift 3
  mkdir -p "${p%/*}"
  t="$p.codex-mcp-partial"
  head -c "$n" > "$t"
  [ "$(wc -c < "$t")" -eq "$n" ] || { rm -f "$t"; echo "short input for $p" >&2; exit 3; }
  chmod "$m" "$t"
  mv -f "$t" "$p"
done
echo written"#;

/// Where a path may be written, and in which container: the workspace through the
/// writer's live mount, the Codex home and scratch from the agent container.
fn target(path: &str) -> Option<(&'static str, String)> {
    if !path.starts_with('/') || path.split('/').any(|c| c == "." || c == "..") {
        return None;
    }
    let below = |root: &str| {
        path.strip_prefix(root)
            .and_then(|rest| rest.strip_prefix('/'))
            .filter(|rest| !rest.is_empty() && !rest.ends_with('/'))
            .map(str::to_string)
    };
    if let Some(rest) = below(WORKSPACE) {
        return Some((WRITER_CONTAINER, format!("{LIVE_WORKSPACE}/{rest}")));
    }
    [CODEX_HOME, SCRATCH]
        .into_iter()
        .find_map(|root| below(root).map(|rest| (AGENT_CONTAINER, format!("{root}/{rest}"))))
}

pub(super) async fn write_files(
    rt: &KubernetesRuntime,
    agent: &AgentId,
    files: &[FileToWrite<'_>],
) -> Result<(), RuntimeError> {
    let mut by_container: Vec<(&'static str, Vec<(String, &FileToWrite<'_>)>)> = Vec::new();
    for f in files {
        let Some((container, path)) = target(f.path) else {
            return Err(RuntimeError::PathNotAllowed {
                agent: agent.to_string(),
                path: f.path.to_string(),
                allowed: format!("{WORKSPACE}, {CODEX_HOME}, {SCRATCH}"),
            });
        };
        match by_container.iter_mut().find(|(c, _)| *c == container) {
            Some((_, list)) => list.push((path, f)),
            None => by_container.push((container, vec![(path, f)])),
        }
    }
    let pods = rt.pods();
    let pod = rt.pod_name(agent);
    for (container, list) in by_container {
        if let Err(e) = write_in(&pods, &pod, container, &list).await {
            return Err(match e {
                WriteError::Kube(e) => rt.exec_error(agent, e).await,
                WriteError::Failed(message) => RuntimeError::Kubernetes {
                    op: "write files",
                    status: None,
                    message,
                },
            });
        }
    }
    Ok(())
}

enum WriteError {
    Kube(kube::Error),
    Failed(String),
}

async fn write_in(
    pods: &Api<Pod>,
    pod: &str,
    container: &str,
    files: &[(String, &FileToWrite<'_>)],
) -> Result<(), WriteError> {
    let mut argv = vec![
        "sh".to_string(),
        "-c".into(),
        WRITE.into(),
        "codex-mcp-write".into(),
    ];
    let mut bytes = Vec::new();
    for (path, f) in files {
        argv.push(path.clone());
        argv.push(f.bytes.len().to_string());
        argv.push(format!("{:o}", f.mode & 0o7777));
        bytes.extend_from_slice(f.bytes);
    }
    let params = AttachParams::default().container(container).stdin(true);
    let mut attached = pods
        .exec(pod, argv, &params)
        .await
        .map_err(WriteError::Kube)?;
    let mut stdin = attached.stdin();
    let (mut out, mut err) = (attached.stdout(), attached.stderr());
    let status = attached.take_status();
    let write = async {
        if let Some(w) = stdin.as_mut() {
            let _ = w.write_all(&bytes).await;
            let _ = w.flush().await;
        }
    };
    let (mut o, mut e) = (String::new(), String::new());
    let read_out = async {
        if let Some(r) = out.as_mut() {
            let _ = r.read_to_string(&mut o).await;
        }
    };
    let read_err = async {
        if let Some(r) = err.as_mut() {
            let _ = r.read_to_string(&mut e).await;
        }
    };
    tokio::join!(write, read_out, read_err);
    let st = match status {
        Some(s) => s.await,
        None => None,
    };
    drop(stdin);
    if st.as_ref().and_then(|s| s.status.as_deref()) == Some("Success") && o.trim() == "written" {
        Ok(())
    } else {
        Err(WriteError::Failed(format!(
            "{} {}",
            st.and_then(|s| s.message)
                .unwrap_or_else(|| "no exit status".into()),
            e.trim()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_their_container_and_traversal_is_refused() {
        assert_eq!(
            target("/workspace/src/a.rs"),
            Some((WRITER_CONTAINER, "/live/workspace/src/a.rs".to_string()))
        );
        assert_eq!(
            target("/home/agent/.codex/auth.json"),
            Some((AGENT_CONTAINER, "/home/agent/.codex/auth.json".to_string()))
        );
        for bad in [
            "/etc/passwd",
            "/workspace",
            "/workspace/../etc/x",
            "relative/x",
            "/scratch/./x",
            "/workspaces/x",
        ] {
            assert_eq!(target(bad), None, "{bad}");
        }
    }
}
