//! Scratch folders for Codex homes and work folders. Codex 0.169 prints a warning on stderr
//! ("Refusing to create helper binaries under temporary dir ...") when its home lies under
//! the system temporary directory (`$TMPDIR`, else `/tmp`), and the real-Codex tests assert
//! an empty stderr, so these folders must live elsewhere whatever the machine's layout.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::codex::target_dir;

/// A fresh folder for a Codex home or work folder, removed when dropped: under
/// `<target>/test-tmp`, or, when the checkout lies under the system temp dir (a CI clone in
/// `/tmp`, say), under `$HOME/.cache/codex-mcp-test-tmp`, else `/var/tmp/codex-mcp-test-tmp`.
/// Fails naming the fix when every one of those is under the temp dir.
pub fn temp_dir(prefix: &str) -> Result<tempfile::TempDir> {
    let system_tmp = std::env::temp_dir();
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let Some(root) = scratch_root(&target_dir(), home.as_deref(), &system_tmp) else {
        bail!(
            "the Cargo target folder {}, $HOME and /var/tmp all lie under the temporary \
             directory {}: a Codex home there makes Codex 0.169 warn on stderr. Set \
             CARGO_TARGET_DIR (or HOME, or TMPDIR) so one of them lies outside it",
            target_dir().display(),
            system_tmp.display()
        );
    };
    fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&root)
        .with_context(|| format!("creating a temp dir in {}", root.display()))
}

/// The first candidate folder that does not lie under `system_tmp` (nor `/tmp`).
fn scratch_root(target: &Path, home: Option<&Path>, system_tmp: &Path) -> Option<PathBuf> {
    let candidates = [
        Some(target.join("test-tmp")),
        home.map(|h| h.join(".cache/codex-mcp-test-tmp")),
        Some(PathBuf::from("/var/tmp/codex-mcp-test-tmp")),
    ];
    let tmp_roots = [
        system_tmp.to_path_buf(),
        resolved(system_tmp),
        "/tmp".into(),
    ];
    candidates.into_iter().flatten().find(|c| {
        !tmp_roots
            .iter()
            .any(|t| c.starts_with(t) || resolved(c).starts_with(t))
    })
}

/// `path` with symlinks resolved as far as it exists (the rest appended unchanged).
fn resolved(path: &Path) -> PathBuf {
    for ancestor in path.ancestors() {
        if let Ok(real) = ancestor.canonicalize() {
            let rest = path.strip_prefix(ancestor).unwrap_or(Path::new(""));
            return real.join(rest);
        }
    }
    path.to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn root(target: &str, home: Option<&str>, tmp: &str) -> Option<PathBuf> {
        scratch_root(Path::new(target), home.map(Path::new), Path::new(tmp))
    }

    #[test]
    fn the_target_folder_when_it_is_outside_the_temp_dir() {
        assert_eq!(
            root("/work/repo/target", Some("/root"), "/tmp"),
            Some("/work/repo/target/test-tmp".into())
        );
    }

    #[test]
    fn home_when_the_checkout_is_a_clone_under_tmp() {
        assert_eq!(
            root("/tmp/fresh-1/target", Some("/home/ci"), "/tmp"),
            Some("/home/ci/.cache/codex-mcp-test-tmp".into())
        );
    }

    #[test]
    fn var_tmp_when_home_is_under_tmp_too() {
        assert_eq!(
            root("/tmp/fresh-1/target", Some("/tmp/home-x"), "/tmp"),
            Some("/var/tmp/codex-mcp-test-tmp".into())
        );
        assert_eq!(
            root("/tmp/fresh-1/target", None, "/tmp"),
            Some("/var/tmp/codex-mcp-test-tmp".into())
        );
    }

    #[test]
    fn tmpdir_counts_as_well_as_slash_tmp() {
        // Codex compares against $TMPDIR: a target folder under it is avoided too.
        assert_eq!(
            root("/scratch/t/repo/target", Some("/home/ci"), "/scratch/t"),
            Some("/home/ci/.cache/codex-mcp-test-tmp".into())
        );
        assert_eq!(
            root("/scratch/t/target", Some("/scratch/t/home"), "/var/tmp"),
            Some("/scratch/t/target/test-tmp".into())
        );
    }

    #[test]
    fn none_when_every_candidate_is_under_the_temp_dir() {
        assert_eq!(
            root("/var/tmp/repo/target", Some("/var/tmp/h"), "/var/tmp"),
            None
        );
    }
}
