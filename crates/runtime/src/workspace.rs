//! Checking a host folder that an agent asks to use as its workspace.

use std::path::{Component, Path, PathBuf};

use crate::RuntimeError;

/// Resolves `requested` to the real folder it names and checks that it lies under one of
/// `roots` (the `CODEX_MCP_WORKSPACE_ROOTS` allow-list).
///
/// Why so strict: the folder is mounted read-write into an agent's container (or handed to
/// its processes), so an escape would expose arbitrary host files. `..` components are
/// refused outright rather than normalised, and symlinks are followed *before* the
/// comparison, so a link inside a root that points outside it is caught. With no roots
/// configured, no host folder is allowed.
pub fn resolve_workspace(requested: &Path, roots: &[PathBuf]) -> Result<PathBuf, RuntimeError> {
    let invalid = |reason: &str| RuntimeError::InvalidWorkspace {
        path: requested.to_path_buf(),
        reason: reason.to_string(),
    };
    if !requested.is_absolute() {
        return Err(invalid("must be an absolute path"));
    }
    if requested.components().any(|c| c == Component::ParentDir) {
        return Err(invalid("must not contain `..`"));
    }
    let real = std::fs::canonicalize(requested)
        .map_err(|e| invalid(&format!("cannot be resolved ({e}); create it first")))?;
    if !real.is_dir() {
        return Err(invalid("is not a directory"));
    }
    let allowed = roots
        .iter()
        .filter_map(|r| std::fs::canonicalize(r).ok())
        .any(|root| real.starts_with(&root));
    if allowed {
        Ok(real)
    } else {
        Err(RuntimeError::WorkspaceOutsideRoots {
            path: real,
            roots: roots
                .iter()
                .map(|r| r.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_outside_dotdot_and_symlinks() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("root");
        let inside = root.join("proj");
        let outside = tmp.path().join("elsewhere");
        std::fs::create_dir_all(&inside).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("escape")).unwrap();
        let roots = vec![root.clone()];

        let ok = resolve_workspace(&inside, &roots).unwrap();
        assert_eq!(ok, std::fs::canonicalize(&inside).unwrap());
        assert!(resolve_workspace(&root, &roots).is_ok());

        let e = resolve_workspace(&outside, &roots).unwrap_err();
        assert!(
            matches!(e, RuntimeError::WorkspaceOutsideRoots { .. }),
            "{e}"
        );
        assert!(e.to_string().contains("CODEX_MCP_WORKSPACE_ROOTS"));

        let e = resolve_workspace(&root.join("escape"), &roots).unwrap_err();
        assert!(
            matches!(e, RuntimeError::WorkspaceOutsideRoots { .. }),
            "{e}"
        );

        let e = resolve_workspace(&root.join("proj/../proj"), &roots).unwrap_err();
        assert!(matches!(e, RuntimeError::InvalidWorkspace { .. }), "{e}");

        let e = resolve_workspace(Path::new("rel"), &roots).unwrap_err();
        assert!(matches!(e, RuntimeError::InvalidWorkspace { .. }), "{e}");

        let e = resolve_workspace(&root.join("missing"), &roots).unwrap_err();
        assert!(matches!(e, RuntimeError::InvalidWorkspace { .. }), "{e}");

        let e = resolve_workspace(&inside, &[]).unwrap_err();
        assert!(
            matches!(e, RuntimeError::WorkspaceOutsideRoots { .. }),
            "{e}"
        );
    }
}
