//! File modes of what mcpd keeps on disk: the data dir (0700) and the session database
//! with its WAL files (0600) hold session ids, workspace paths and raw Codex errors;
//! other local users must not read them. Created that way, and tightened at startup
//! when an earlier version (or the umask) left them open.

use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::Path;

/// Mode of the data dir.
pub const DATA_DIR_MODE: u32 = 0o700;
/// Mode of the database files.
pub const DB_FILE_MODE: u32 = 0o600;
/// The database's files, relative to the data dir.
const DB_FILES: [&str; 3] = ["codex-mcp.db", "codex-mcp.db-wal", "codex-mcp.db-shm"];

/// The mode of `path` when group or others have any access to it, else `None` (also
/// when it cannot be read: the caller reports that elsewhere).
pub fn loose_mode(path: &Path) -> Option<u32> {
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o7777;
    (mode & 0o077 != 0).then_some(mode)
}

/// Sets `path` to `mode` when group or others have access; returns the old mode.
fn tighten(path: &Path, mode: u32) -> std::io::Result<Option<u32>> {
    let Some(old) = loose_mode(path) else {
        return Ok(None);
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(Some(old))
}

/// Creates the data dir with mode 0700 (parents too) when it does not exist. A failure
/// is left for the store to report, which names the cause and the fix.
pub fn create_data_dir(dir: &Path) {
    if !dir.exists() {
        let _ = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(DATA_DIR_MODE)
            .create(dir);
    }
}

/// Tightens the data dir to 0700 and its database files that exist to 0600; logs what
/// it changed.
pub fn secure_data_dir(dir: &Path) -> std::io::Result<()> {
    if let Some(old) = tighten(dir, DATA_DIR_MODE)? {
        tracing::info!(
            path = %dir.display(),
            "data dir was mode {old:04o}; set to {DATA_DIR_MODE:04o} so other users cannot read it"
        );
    }
    secure_db_files(dir)
}

/// Sets the database files in `dir` that exist to 0600; logs what it changed.
fn secure_db_files(dir: &Path) -> std::io::Result<()> {
    for name in DB_FILES {
        let path = dir.join(name);
        if let Some(old) = tighten(&path, DB_FILE_MODE)? {
            tracing::info!(
                path = %path.display(),
                "database file was mode {old:04o}; set to {DB_FILE_MODE:04o}"
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{e}"))
            .permissions()
            .mode()
            & 0o7777
    }

    #[test]
    fn new_and_existing_files_end_private() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let fresh = tmp.path().join("a/b/data");
        create_data_dir(&fresh);
        let old = tmp.path().join("old");
        std::fs::create_dir(&old).unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
        let db = old.join("codex-mcp.db");
        std::fs::write(&db, b"x").unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loose_mode(&db), Some(0o644));
        secure_data_dir(&old).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (mode(&fresh), mode(&old), mode(&db), loose_mode(&db)),
            (0o700, 0o700, 0o600, None)
        );
    }
}
