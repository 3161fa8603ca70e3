//! Parsers of the settings that name Docker objects or host folders.

use std::path::{Component, PathBuf};

/// Checks an instance name: it becomes part of Docker object names and a label value.
pub fn parse_instance(v: &str) -> Result<String, String> {
    let v = v.trim();
    let ok = (1..=32).contains(&v.len())
        && v.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && v.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        });
    if ok {
        Ok(v.to_string())
    } else {
        Err("expected 1-32 characters from a-z 0-9 _ . - starting with a letter or digit".into())
    }
}

/// Parses `CODEX_MCP_WORKSPACE_ROOTS`: absolute host folders separated by `:`, none with
/// `..` (a root is compared after symlinks are resolved, and `..` would only hide where it
/// really points).
pub fn parse_roots(v: &str) -> Result<Vec<PathBuf>, String> {
    v.split(':')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let path = PathBuf::from(p);
            if !path.is_absolute() {
                Err(format!(
                    "{p} is not an absolute path; expected absolute folders separated by ':'"
                ))
            } else if path.components().any(|c| c == Component::ParentDir) {
                Err(format!("{p} contains '..'; name the folder itself"))
            } else {
                Ok(path)
            }
        })
        .collect()
}
