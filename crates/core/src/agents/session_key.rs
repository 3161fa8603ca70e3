//! The agent id of a caller known only by its MCP session: `session-` and 24 hex digits
//! of HMAC-SHA256 over the session id under a server secret. Agent ids are shown to
//! other callers (`list_active_agents`, container and volume names) while a session id
//! is a bearer credential for its session, so the agent id must reveal nothing of it;
//! the secret keeps the mapping stable across restarts and distinct between servers.

use hmac::digest::KeyInit;
use hmac::digest::generic_array::GenericArray;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// Length of the secret in bytes.
pub const SESSION_KEY_LEN: usize = 32;

/// SHA-256's block size, the length HMAC pads its key to.
const HMAC_BLOCK: usize = 64;

/// How many hex digits of the HMAC go into an agent id (96 bits).
const AGENT_HEX_DIGITS: usize = 24;

/// The server secret that turns session ids into agent ids.
#[derive(Clone, PartialEq, Eq)]
pub struct SessionAgentKey([u8; SESSION_KEY_LEN]);

impl std::fmt::Debug for SessionAgentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionAgentKey(<redacted>)")
    }
}

impl SessionAgentKey {
    /// A key from stored bytes (an embedder keeps them so agents keep their ids).
    pub fn new(bytes: [u8; SESSION_KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// A fresh key from the OS random generator. Session agents get new ids when the
    /// process restarts unless the key is stored (`mcpd` keeps it in the data dir).
    pub fn random() -> Self {
        let mut bytes = [0u8; SESSION_KEY_LEN];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The key's bytes, for storing it.
    pub fn bytes(&self) -> &[u8; SESSION_KEY_LEN] {
        &self.0
    }

    /// The agent id of a caller known only by `session_id`.
    pub fn agent_for(&self, session_id: &str) -> String {
        // HMAC pads a key shorter than the hash's block with zeros; doing it here uses
        // the infallible fixed-size constructor.
        let mut block = [0u8; HMAC_BLOCK];
        block[..SESSION_KEY_LEN].copy_from_slice(&self.0);
        let mut mac = <Hmac<Sha256> as KeyInit>::new(GenericArray::from_slice(&block));
        mac.update(session_id.as_bytes());
        let digest = mac.finalize().into_bytes();
        let hex: String = digest
            .iter()
            .take(AGENT_HEX_DIGITS / 2)
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("session-{hex}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn session_agents_hide_the_session_id_and_depend_on_the_key() {
        let session = "0123456789abcdef0123456789abcdef";
        let key = SessionAgentKey::new([7; SESSION_KEY_LEN]);
        let agent = key.agent_for(session);
        // Stable for the same key and session, a valid agent id, 96 bits of the MAC.
        assert_eq!(agent, key.agent_for(session));
        assert_eq!(agent.len(), "session-".len() + AGENT_HEX_DIGITS);
        assert!(codex_mcp_runtime::AgentId::new(agent.clone()).is_ok());
        // No run of 6 characters of the session id appears in the agent id.
        let hex = &agent["session-".len()..];
        for start in 0..=session.len() - 6 {
            assert!(
                !hex.contains(&session[start..start + 6]),
                "{agent} shares {:?} with the session id",
                &session[start..start + 6]
            );
        }
        // Another server (another key) gives the same session another agent; another
        // session under the same key gets another agent too.
        assert_ne!(
            agent,
            SessionAgentKey::new([8; SESSION_KEY_LEN]).agent_for(session)
        );
        assert_ne!(agent, key.agent_for("0123456789abcdef0123456789abcdee"));
        assert_ne!(SessionAgentKey::random(), SessionAgentKey::random());
        assert_eq!(format!("{key:?}"), "SessionAgentKey(<redacted>)");
        // The padded key gives the standard HMAC.
        let mut plain = <Hmac<Sha256> as Mac>::new_from_slice(&[7; SESSION_KEY_LEN]).unwrap();
        plain.update(session.as_bytes());
        let want: String = plain.finalize().into_bytes()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(agent, format!("session-{want}"));
    }
}
