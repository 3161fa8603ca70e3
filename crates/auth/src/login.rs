//! The command `mcpd auth login` runs: Codex's own device-code login.
//!
//! Device auth (`codex login --device-auth`, checked against the real `codex` 0.169.0's
//! `login --help`) prints a URL and a code instead of opening a browser on a callback
//! port, so it works over SSH and in containers, where the server usually runs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::detect::DetectInputs;

/// A process to run: program, arguments, and environment to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginCommand {
    /// The Codex executable.
    pub program: PathBuf,
    /// Arguments after the program.
    pub args: Vec<OsString>,
    /// Variables to set for the child (`CODEX_HOME`, so the login lands where detection
    /// looks).
    pub env: Vec<(OsString, OsString)>,
}

/// `codex login --device-auth`, writing to the directory detection searches first.
///
/// With `CODEX_AUTH_DIR` set, Codex is told to use it as its home; otherwise Codex's own
/// default (`~/.codex`) is already the second place detection looks.
pub fn login_command(codex_bin: &Path, inputs: &DetectInputs) -> LoginCommand {
    let env = inputs
        .codex_auth_dir
        .as_ref()
        .map(|dir| vec![(OsString::from("CODEX_HOME"), dir.clone().into_os_string())])
        .unwrap_or_default();
    LoginCommand {
        program: codex_bin.to_path_buf(),
        args: vec!["login".into(), "--device-auth".into()],
        env,
    }
}
