//! The secret that turns MCP session ids into agent ids (see
//! [`crate::agents::session_key`]), kept as `<data dir>/session-agent.key`
//! (64 hex digits, mode 0600) so an agent named after a session keeps its id across
//! restarts and no two data dirs share one.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::Path;

use super::EmbedError;
use crate::agents::session_key::{SESSION_KEY_LEN, SessionAgentKey};

/// The key file's name inside the data dir.
pub const FILE_NAME: &str = "session-agent.key";

/// Reads the data dir's key, or makes and stores a new one; the error names the dir
/// and the file.
pub fn load_or_create(data_dir: &Path) -> Result<SessionAgentKey, EmbedError> {
    let path = data_dir.join(FILE_NAME);
    let at = |why: String| EmbedError::DataDir {
        dir: data_dir.to_path_buf(),
        why,
    };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .map_err(|e| at(format!("cannot create it ({e})")))?;
    let fresh = SessionAgentKey::random();
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path);
    match created {
        Ok(mut file) => {
            file.write_all(hex(fresh.bytes()).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| at(format!("cannot write {FILE_NAME} ({e})")))?;
            return Ok(fresh);
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(at(format!("cannot create {FILE_NAME} ({e})"))),
    }
    let text =
        std::fs::read_to_string(&path).map_err(|e| at(format!("cannot read {FILE_NAME} ({e})")))?;
    let bytes = parse(text.trim()).ok_or_else(|| {
        at(format!(
            "{FILE_NAME} is not {} hex digits; delete it to make a new one (agents named \
             after MCP sessions then get new ids)",
            2 * SESSION_KEY_LEN
        ))
    })?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| at(format!("cannot make {FILE_NAME} private ({e})")))?;
    Ok(SessionAgentKey::new(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse(text: &str) -> Option<[u8; SESSION_KEY_LEN]> {
    if text.len() != 2 * SESSION_KEY_LEN || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; SESSION_KEY_LEN];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn the_key_is_made_once_kept_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let first = load_or_create(&data).unwrap();
        let path = data.join(FILE_NAME);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(load_or_create(&data).unwrap(), first);
        let other = tempfile::tempdir().unwrap();
        assert_ne!(load_or_create(other.path()).unwrap(), first);
    }

    #[test]
    fn a_damaged_key_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE_NAME), "not hex").unwrap();
        assert_eq!(
            load_or_create(dir.path()).unwrap_err().to_string(),
            format!(
                "data dir {}: session-agent.key is not 64 hex digits; delete it to \
                 make a new one (agents named after MCP sessions then get new ids)",
                dir.path().display()
            )
        );
    }
}
