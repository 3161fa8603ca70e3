//! Files the server writes into a local agent's folders: the Codex home's `auth.json`,
//! `config.toml` and output schemas, installed before every turn.
//!
//! Two rules shape it. A path must stay inside the agent's roots even when the agent
//! (which runs as the server's user) has planted symlinks there, so the deepest existing
//! ancestor is resolved and checked before anything is created. And a Codex process of
//! another turn may be reading the file meanwhile, so each file is written beside its
//! target and renamed over it (readers see the old file or the new one, whole).
//!
//! What it does not do is fsync: the files are installed again before every turn, so one
//! lost to a crash of the machine is put back by the next turn, and an fsync cost 1-3 ms
//! per file on the test VM (measured with the `turn phases` debug line: a warm turn's
//! `ready` phase went from 3.4 to about 1.2 ms without them). Every turn still writes the
//! temporary file, unchanged or not: that write is what finds a full disk before Codex
//! starts (`RuntimeError::DiskFull`), rather than Codex failing to save its session after
//! the model has already answered. When the file in place already holds the same bytes
//! and mode, the temporary file is removed instead of renamed over it: renaming over an
//! existing file makes ext4 start writing the new data out at once, disk work that would
//! run alongside the turn's Codex process for nothing (`ready` went from about 0.95 to
//! 0.8 ms in a warm turn).

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use super::mkdir_private;
use crate::{AgentEnv, AgentId, FileToWrite, RuntimeError};

/// Writes each of `files` (its bytes, with its mode) at its path, which must lie under
/// one of `env`'s roots (workspace, Codex home, scratch), creating missing folders; in
/// order, stopping at the first failure. One hop to a blocking thread for all of them:
/// the path checks resolve folders through the file system too, and a turn writes three
/// files.
pub(super) async fn write(
    agent: &AgentId,
    env: &AgentEnv,
    files: &[FileToWrite<'_>],
) -> Result<(), RuntimeError> {
    let owned: Vec<(String, Vec<u8>, u32)> = files
        .iter()
        .map(|f| (f.path.to_owned(), f.bytes.to_vec(), f.mode & 0o7777))
        .collect();
    let (agent, env) = (agent.clone(), env.clone());
    tokio::task::spawn_blocking(move || {
        for (path, bytes, mode) in &owned {
            let dest = checked_destination(&agent, &env, path)?;
            replace(&dest, bytes, *mode).map_err(RuntimeError::io("write", dest.clone()))?;
        }
        Ok(())
    })
    .await
    .map_err(|e| RuntimeError::InvalidExec(format!("write task failed: {e}")))?
}

/// The real path `path` names, once it is known to stay under one of `env`'s roots;
/// creates its missing parent folders (after checking where they would go).
fn checked_destination(
    agent: &AgentId,
    env: &AgentEnv,
    path: &str,
) -> Result<PathBuf, RuntimeError> {
    let roots = [&env.workspace, &env.codex_home, &env.scratch_root];
    let refuse = || RuntimeError::PathNotAllowed {
        agent: agent.to_string(),
        path: path.to_string(),
        allowed: roots.map(|r| r.as_str()).join(", "),
    };
    let target = Path::new(path);
    let (Some(parent), Some(name)) = (target.parent(), target.file_name()) else {
        return Err(refuse());
    };
    if !target.is_absolute() || target.components().any(|c| c == Component::ParentDir) {
        return Err(refuse());
    }
    let Some(root) = roots
        .iter()
        .map(Path::new)
        .find(|r| target.starts_with(r) && target != *r)
    else {
        return Err(refuse());
    };
    // A symlink inside the agent's folder must not redirect the write (or the creation
    // of missing folders) elsewhere: resolve the deepest existing ancestor first, check
    // it, and only then create what is missing below it.
    let real_root = std::fs::canonicalize(root).map_err(RuntimeError::io("resolve", root))?;
    let existing = parent
        .ancestors()
        .find(|p| p.exists())
        .unwrap_or(Path::new("/"));
    let real_existing =
        std::fs::canonicalize(existing).map_err(RuntimeError::io("resolve", existing))?;
    if !real_existing.starts_with(&real_root) {
        return Err(refuse());
    }
    mkdir_private(parent)?;
    let real_parent = std::fs::canonicalize(parent).map_err(RuntimeError::io("resolve", parent))?;
    if !real_parent.starts_with(&real_root) {
        return Err(refuse());
    }
    Ok(real_parent.join(name))
}

/// Writes a temporary file beside `dest` and renames it over `dest`.
fn replace(dest: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let name = dest.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dest.with_file_name(format!(".{name}.codex-mcp-tmp-{}", rand::random::<u64>()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        // The umask may have narrowed the mode; set it exactly.
        std::fs::set_permissions(&tmp, PermissionsExt::from_mode(mode))?;
        f.write_all(bytes)?;
        if unchanged(dest, bytes, mode) {
            return std::fs::remove_file(&tmp);
        }
        std::fs::rename(&tmp, dest)
    };
    write().inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

/// True when `dest` is already a regular file (not a symlink) with `mode` and `bytes`.
fn unchanged(dest: &Path, bytes: &[u8], mode: u32) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::symlink_metadata(dest) else {
        return false;
    };
    meta.is_file()
        && meta.mode() & 0o7777 == mode
        && meta.len() == bytes.len() as u64
        && std::fs::read(dest).is_ok_and(|old| old == bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::os::unix::fs::MetadataExt;

    /// What a reader of `p` finds: a regular file?, its mode, its bytes; and its inode.
    fn found(p: &Path) -> ((bool, u32, Vec<u8>), u64) {
        let meta = std::fs::symlink_metadata(p).unwrap();
        let bytes = std::fs::read(p).unwrap();
        ((meta.is_file(), meta.mode() & 0o7777, bytes), meta.ino())
    }

    /// An agent whose workspace, Codex home and scratch root are folders in `dir`.
    fn agent_in(dir: &Path) -> (AgentId, AgentEnv) {
        let root = |name: &str| {
            let p = dir.join(name);
            std::fs::create_dir_all(&p).unwrap();
            p.display().to_string()
        };
        let env = AgentEnv {
            workspace: root("workspace"),
            live_workspace: root("workspace"),
            codex_home: root("codex-home"),
            scratch_root: root("scratch"),
            container_id: None,
        };
        (AgentId::new("files-test").unwrap(), env)
    }

    #[tokio::test]
    async fn a_write_leaves_a_right_file_alone_and_replaces_any_other_whole() {
        let dir = tempfile::tempdir().unwrap();
        let (agent, env) = agent_in(dir.path());
        let path = format!("{}/auth.json", env.codex_home);
        let dest = PathBuf::from(&path);
        let want = (true, 0o600, b"{}".to_vec());
        let file = FileToWrite {
            path: &path,
            bytes: b"{}",
            mode: 0o600,
        };
        write(&agent, &env, &[file]).await.unwrap();
        assert_eq!(found(&dest).0, want);

        let elsewhere = dir.path().join("elsewhere");
        type Change<'a> = (&'static str, Box<dyn Fn() + 'a>);
        let cases: [Change; 5] = [
            ("nothing changed", Box::new(|| {})),
            (
                "other bytes",
                Box::new(|| std::fs::write(&dest, b"{\"x\":1}").unwrap()),
            ),
            (
                "other mode",
                Box::new(|| {
                    std::fs::set_permissions(&dest, PermissionsExt::from_mode(0o644)).unwrap()
                }),
            ),
            (
                "a symlink to elsewhere",
                Box::new(|| {
                    std::fs::copy(&dest, &elsewhere).unwrap();
                    std::fs::remove_file(&dest).unwrap();
                    std::os::unix::fs::symlink(&elsewhere, &dest).unwrap();
                }),
            ),
            (
                "a folder's leftover temporary file",
                Box::new(|| {
                    std::fs::write(dest.with_file_name(".auth.json.codex-mcp-tmp-1"), b"x").unwrap()
                }),
            ),
        ];
        let mut seen = Vec::new();
        for (case, change) in &cases {
            change();
            let inode = std::fs::symlink_metadata(&dest).unwrap().ino();
            write(&agent, &env, &[file]).await.unwrap();
            let (after, new_inode) = found(&dest);
            seen.push((*case, after, new_inode != inode));
        }
        // A file already right is left in place; any difference gets a new whole file.
        let replaced = [false, true, true, true, false];
        let expected: Vec<_> = cases
            .iter()
            .zip(replaced)
            .map(|((c, _), r)| (*c, want.clone(), r))
            .collect();
        assert_eq!(seen, expected);
        let leftovers: Vec<_> = std::fs::read_dir(dest.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.contains("codex-mcp-tmp") && n != ".auth.json.codex-mcp-tmp-1")
            .collect();
        assert_eq!(
            leftovers,
            Vec::<String>::new(),
            "no temporary file left behind"
        );
        assert_eq!(
            std::fs::read(&elsewhere).unwrap(),
            b"{}",
            "a symlink's target untouched"
        );
    }

    #[tokio::test]
    async fn files_are_written_in_order_up_to_the_first_refused_path() {
        let dir = tempfile::tempdir().unwrap();
        let (agent, env) = agent_in(dir.path());
        let first = format!("{}/auth.json", env.codex_home);
        let outside = dir.path().join("outside.json").display().to_string();
        let third = format!("{}/codex-mcp/schemas/chat.json", env.codex_home);
        let file = |path| FileToWrite {
            path,
            bytes: b"{}",
            mode: 0o600,
        };
        let err = write(&agent, &env, &[file(&first), file(&outside), file(&third)])
            .await
            .unwrap_err();
        assert!(
            matches!(&err, RuntimeError::PathNotAllowed { path, .. } if *path == outside),
            "{err:?}"
        );
        let exists = [&first, &outside, &third].map(|p| Path::new(p).exists());
        assert_eq!(exists, [true, false, false]);

        // All three allowed: one call writes them all, folders created.
        write(&agent, &env, &[file(&first), file(&third)])
            .await
            .unwrap();
        assert_eq!(found(Path::new(&third)).0, (true, 0o600, b"{}".to_vec()));
    }
}
