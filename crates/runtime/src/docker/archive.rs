//! Copying files into an agent's container through the archive (tar upload) API.
//!
//! Why tar and not `sh -c 'cat > file'`: the bytes (credentials, above all) then never
//! appear in an environment variable, a label or a command line, all of which
//! `docker inspect` shows. The engine extracts the archive into the container's volumes
//! with the owner and mode written in the tar headers.

use std::path::Path;

use bollard::query_parameters::{
    ContainerArchiveInfoOptionsBuilder, UploadToContainerOptionsBuilder,
};

use super::labels::{AGENT_UID, CODEX_HOME, LIVE_WORKSPACE, SCRATCH, WORKSPACE};
use super::{DockerRuntime, status_of};
use crate::{AgentId, RuntimeError};

/// Where `write_file` may write: the agent's persistent mounts. The root file system is
/// read-only, and tmpfs mounts are invisible to the archive API.
const WRITABLE: [&str; 3] = [WORKSPACE, CODEX_HOME, SCRATCH];

/// Splits `path` into its writable root and the components below it.
fn split(path: &str) -> Option<(&'static str, Vec<String>)> {
    let p = Path::new(path);
    // Textual check: `Path::components` would silently drop a `.`.
    if !p.is_absolute() || path.split('/').any(|c| c == "." || c == "..") {
        return None;
    }
    let root = WRITABLE.into_iter().find(|r| p.starts_with(r))?;
    let rest: Vec<String> = p
        .strip_prefix(root)
        .ok()?
        .components()
        .map(|c| c.as_os_str().to_str().map(str::to_string))
        .collect::<Option<_>>()?;
    (!rest.is_empty()).then_some((root, rest))
}

/// A tar holding `dirs` (each owned by the agent, 0700) and then the file.
fn tarball(dirs: &[String], file: &str, bytes: &[u8], mode: u32) -> std::io::Result<Vec<u8>> {
    tarball_of(dirs, &[(file, bytes, mode)])
}

/// A tar holding `dirs` (each owned by the agent, 0700) and then every file
/// (name relative to the upload folder, bytes, mode).
fn tarball_of(dirs: &[String], files: &[(&str, &[u8], u32)]) -> std::io::Result<Vec<u8>> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let mut b = tar::Builder::new(Vec::new());
    let header = |kind: tar::EntryType, mode: u32, size: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode);
        h.set_uid(AGENT_UID);
        h.set_gid(AGENT_UID);
        h.set_mtime(now);
        h.set_size(size);
        h
    };
    for d in dirs {
        b.append_data(
            &mut header(tar::EntryType::Directory, 0o700, 0),
            d,
            std::io::empty(),
        )?;
    }
    for (file, bytes, mode) in files {
        let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        b.append_data(
            &mut header(tar::EntryType::Regular, mode & 0o7777, size),
            file,
            *bytes,
        )?;
    }
    b.into_inner()
}

/// Writes several files in ONE archive upload (one Docker API call) when they all sit
/// directly in the same writable mount root (the per-turn `auth.json` and
/// `config.toml`); otherwise one [`write_file`] each.
pub(super) async fn write_files(
    rt: &DockerRuntime,
    agent: &AgentId,
    files: &[crate::FileToWrite<'_>],
) -> Result<(), RuntimeError> {
    let mut root_of_all = None;
    let mut entries = Vec::with_capacity(files.len());
    for f in files {
        match split(f.path) {
            Some((root, rest)) if rest.len() == 1 && root_of_all.is_none_or(|r| r == root) => {
                root_of_all = Some(root);
                entries.push((rest.concat(), f.bytes, f.mode));
            }
            _ => {
                root_of_all = None;
                break;
            }
        }
    }
    let Some(root) = root_of_all.filter(|_| entries.len() == files.len()) else {
        for f in files {
            write_file(rt, agent, f.path, f.bytes, f.mode).await?;
        }
        return Ok(());
    };
    let root = if root == WORKSPACE {
        LIVE_WORKSPACE
    } else {
        root
    };
    let named: Vec<(&str, &[u8], u32)> = entries
        .iter()
        .map(|(name, bytes, mode)| (name.as_str(), *bytes, *mode))
        .collect();
    let tar = tarball_of(&[], &named).map_err(RuntimeError::io("build archive for", root))?;
    upload(rt, agent, root, tar).await
}

/// Where [`stage_files`] puts the files of run `ID`: `STAGING/ID/`, in the Codex home,
/// so that moving them into place is a rename within one file system.
const STAGING: &str = "codex-mcp/staged";

/// Stages `files` (all in the Codex home) for run `run_id`: carried in by the run itself
/// when they are text of mode `0600` (`carry.rs`: no API call), else uploaded into a
/// folder of their own beside their targets, in one archive upload, for the run to
/// move into place when it starts
/// (see [`crate::AgentRuntime::stage_files`] and [`super::exec`]'s installer). The engine
/// extracts an upload by removing each file, creating it as root, writing it and then
/// giving it to the agent's user: a Codex process reading the target meanwhile would
/// find it missing, unreadable or half-written. Files elsewhere are written at once.
pub(super) async fn stage_files(
    rt: &DockerRuntime,
    agent: &AgentId,
    run_id: &str,
    files: &[crate::FileToWrite<'_>],
) -> Result<Option<crate::StagedFiles>, RuntimeError> {
    let in_home = files
        .iter()
        .all(|f| split(f.path).is_some_and(|(root, _)| root == CODEX_HOME));
    if !in_home || !super::durable::valid_run_id(run_id) {
        return write_files(rt, agent, files).await.map(|()| None);
    }
    if super::carry::carriable(files) {
        // No upload at all: the run writes them (see `carry.rs`).
        return Ok(Some(crate::StagedFiles {
            carried: super::carry::carried(files),
            ..crate::StagedFiles::default()
        }));
    }
    let folder = format!("{STAGING}/{run_id}");
    let dirs: Vec<String> = ["codex-mcp", STAGING, &folder]
        .into_iter()
        .map(str::to_string)
        .collect();
    let names: Vec<String> = (0..files.len()).map(|i| format!("{folder}/f{i}")).collect();
    let entries: Vec<(&str, &[u8], u32)> = names
        .iter()
        .zip(files)
        .map(|(name, f)| (name.as_str(), f.bytes, f.mode))
        .collect();
    let tar =
        tarball_of(&dirs, &entries).map_err(RuntimeError::io("build archive for", CODEX_HOME))?;
    upload(rt, agent, CODEX_HOME, tar).await?;
    Ok(Some(crate::StagedFiles {
        folder: format!("{CODEX_HOME}/{folder}"),
        moves: (0..files.len())
            .zip(files)
            .map(|(i, f)| (format!("f{i}"), f.path.to_string()))
            .collect(),
        carried: Vec::new(),
    }))
}

/// One `PUT /containers/{id}/archive` of `tar` into `folder`.
async fn upload(
    rt: &DockerRuntime,
    agent: &AgentId,
    folder: &str,
    tar: Vec<u8>,
) -> Result<(), RuntimeError> {
    let container = rt.container_name(agent);
    let opts = UploadToContainerOptionsBuilder::new()
        .path(folder)
        .no_overwrite_dir_non_dir("true")
        .build();
    rt.docker
        .upload_to_container(&container, Some(opts), bollard::body_full(tar.into()))
        .await
        .map_err(|e| match status_of(&e) {
            Some(404) => RuntimeError::NotFound {
                agent: agent.to_string(),
            },
            _ => rt.map_err("upload file", e),
        })
}

pub(super) async fn write_file(
    rt: &DockerRuntime,
    agent: &AgentId,
    path: &str,
    bytes: &[u8],
    mode: u32,
) -> Result<(), RuntimeError> {
    let Some((root, rest)) = split(path) else {
        return Err(RuntimeError::PathNotAllowed {
            agent: agent.to_string(),
            path: path.to_string(),
            allowed: WRITABLE.join(", "),
        });
    };
    // The workspace is read-only at its usual path; the engine writes it through the
    // writable mount (the archive API runs outside the container's users and groups).
    let root = if root == WORKSPACE {
        LIVE_WORKSPACE
    } else {
        root
    };
    let full = format!("{root}/{}", rest.join("/"));
    let path = full.as_str();
    let container = rt.container_name(agent);
    let not_found = |e: bollard::errors::Error| match status_of(&e) {
        Some(404) => RuntimeError::NotFound {
            agent: agent.to_string(),
        },
        _ => rt.map_err("upload file", e),
    };
    let parent = Path::new(path)
        .parent()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| root.to_string());
    let info = ContainerArchiveInfoOptionsBuilder::new()
        .path(&parent)
        .build();
    // A file directly in the mount root needs no look-up: the root always exists.
    let parent_exists = rest.len() == 1
        || match rt
            .docker
            .get_container_archive_info(&container, Some(info))
            .await
        {
            Ok(_) => true,
            Err(e)
                if status_of(&e) == Some(404)
                    && rt.docker.inspect_container(&container, None).await.is_ok() =>
            {
                false
            }
            Err(e) => return Err(not_found(e)),
        };
    // When the parent exists, upload just the file into it, leaving its mode alone;
    // otherwise create the missing chain from the root.
    let (upload_to, dirs, file) = if parent_exists {
        (parent, Vec::new(), rest.last().cloned().unwrap_or_default())
    } else {
        let dirs: Vec<String> = (1..rest.len()).map(|n| rest[..n].join("/")).collect();
        (root.to_string(), dirs, rest.join("/"))
    };
    let tar =
        tarball(&dirs, &file, bytes, mode).map_err(RuntimeError::io("build archive for", path))?;
    upload(rt, agent, &upload_to, tar).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_inside_the_writable_mounts() {
        assert_eq!(
            split("/workspace/a/b.txt"),
            Some((WORKSPACE, vec!["a".into(), "b.txt".into()]))
        );
        assert_eq!(
            split("/home/agent/.codex/auth.json").map(|s| s.0),
            Some(CODEX_HOME)
        );
        assert_eq!(split("/scratch/x").map(|s| s.0), Some(SCRATCH));
        for bad in [
            "/workspace",
            "/etc/passwd",
            "workspace/x",
            "/workspace/../etc/x",
            "/workspace/./x",
            "/workspacex/y",
            "/tmp/x",
            "/home/agent/x",
        ] {
            assert_eq!(split(bad), None, "{bad}");
        }
    }

    #[test]
    fn archive_carries_owner_and_mode() {
        let t = tarball(&["a".into()], "a/f", b"secret", 0o600).unwrap();
        let mut ar = tar::Archive::new(t.as_slice());
        let entries: Vec<(String, u32, u64, u64)> = ar
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                let h = e.header();
                (
                    e.path().unwrap().display().to_string(),
                    h.mode().unwrap(),
                    h.uid().unwrap(),
                    h.size().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            entries,
            vec![("a".into(), 0o700, 1000, 0), ("a/f".into(), 0o600, 1000, 6)]
        );
    }
}
