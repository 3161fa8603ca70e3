//! What goes into an agent's Codex home, and writing it there safely.

use std::path::Path;

use serde_json::{Map, Value};

use crate::authfile;
use crate::credentials::{Credentials, Fingerprint, Login};
use crate::error::AuthError;
use crate::fsutil;
use crate::secret::{Secret, SecretBytes};

/// Environment variables an agent's Codex must not inherit: each would override the
/// injected auth.json (Codex prefers `CODEX_API_KEY` over the file, for instance), so a
/// runtime spawning Codex removes them.
pub const AGENT_ENV_REMOVE: &[&str] = &[
    "CODEX_API_KEY",
    "OPENAI_API_KEY",
    "CODEX_ACCESS_TOKEN",
    "CHATGPT_OAUTH_TOKEN",
    "CODEX_REFRESH_TOKEN_URL_OVERRIDE",
];

/// The variable that points an agent's Codex at the server's refresh broker.
pub const REFRESH_URL_ENV: &str = "CODEX_REFRESH_TOKEN_URL_OVERRIDE";

/// An agent's auth.json, ready to be written with mode 0600.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentAuthFile {
    bytes: SecretBytes,
    fingerprint: Fingerprint,
}

impl AgentAuthFile {
    /// File name inside the agent's `CODEX_HOME`.
    pub const FILE_NAME: &'static str = "auth.json";
    /// Unix mode the file must have.
    pub const MODE: u32 = fsutil::AUTH_FILE_MODE;

    fn new(bytes: Vec<u8>) -> Self {
        let fingerprint = Fingerprint::of(&bytes);
        Self {
            bytes: SecretBytes::new(bytes),
            fingerprint,
        }
    }

    /// The file content. Contains credentials: write it, never log it.
    pub fn bytes(&self) -> &[u8] {
        self.bytes.expose()
    }

    /// Hash of the content. The runtime stores it with the agent and re-injects when the
    /// next call's file has a different one.
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }
}

impl Credentials {
    /// The auth.json for one agent.
    ///
    /// API key: the key form. ChatGPT: the login with `refresh_token` replaced by the
    /// agent's `ticket` (see [`crate::broker`]), so no agent can spend the shared
    /// single-use refresh token, and `last_refresh` set to when the server loaded the
    /// login, so Codex versions that judge staleness by `last_refresh` do not refresh.
    pub fn agent_auth_file(&self, ticket: &Secret) -> AgentAuthFile {
        match &self.login {
            Login::ApiKey(key) => AgentAuthFile::new(authfile::api_key_bytes(key)),
            Login::ChatGpt(login) => {
                let tokens = match login.file.as_ref().and_then(|f| f.tokens_object()) {
                    Some(t) => t.clone(),
                    None => {
                        let mut t = Map::new();
                        let t_ref = &login.tokens;
                        t.insert("id_token".into(), t_ref.id_token.expose().into());
                        t.insert("access_token".into(), t_ref.access_token.expose().into());
                        t.insert(
                            "account_id".into(),
                            t_ref.account_id.clone().map_or(Value::Null, Value::String),
                        );
                        t
                    }
                };
                let last_refresh = login
                    .last_refresh
                    .map_or(self.loaded_at, |l| l.max(self.loaded_at));
                AgentAuthFile::new(authfile::chatgpt_bytes(tokens, ticket, last_refresh))
            }
        }
    }
}

/// Writes `file` as `<codex_home>/auth.json` with mode 0600, atomically (temporary file
/// and rename), creating `codex_home` if needed. For the local runtime; the Docker runtime
/// copies [`AgentAuthFile::bytes`] with [`AgentAuthFile::MODE`] itself.
pub fn write_agent_auth(codex_home: &Path, file: &AgentAuthFile) -> Result<(), AuthError> {
    let path = codex_home.join(AgentAuthFile::FILE_NAME);
    fsutil::write_atomic(&path, file.bytes()).map_err(|source| AuthError::Io {
        action: "cannot write",
        path,
        source,
    })
}
