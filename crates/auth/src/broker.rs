//! Agent tickets: the stand-in refresh token each agent receives instead of the real one.
//!
//! ChatGPT refresh tokens are single-use. If twenty agents held the real one, the first to
//! refresh would invalidate it for the other nineteen and for the host. So agents get a
//! ticket `mcpd-rt:v1:<agent id>:<HMAC>`: worthless at OpenAI, and, when the agent's Codex
//! is pointed at the server (`CODEX_REFRESH_TOKEN_URL_OVERRIDE`), proof of which agent is
//! asking the server's broker for fresh tokens.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::secret::Secret;

const PREFIX: &str = "mcpd-rt:v1:";

/// The server's key for minting and checking agent tickets.
#[derive(Clone)]
pub struct BrokerKey([u8; 32]);

impl std::fmt::Debug for BrokerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BrokerKey(<redacted>)")
    }
}

impl BrokerKey {
    /// A fresh random key. Tickets then last as long as the process; the runtime's
    /// fingerprint check re-injects agents after a restart, so that is enough.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self(key)
    }

    /// A key from stored bytes, for tickets that survive restarts.
    pub fn from_bytes(key: [u8; 32]) -> Self {
        Self(key)
    }

    fn mac_hex(&self, agent_id: &str) -> String {
        // HMAC accepts keys of any length; the error branch is unreachable but keeps the
        // code total without an expect.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(agent_id.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The ticket placed in `agent_id`'s auth.json as its `refresh_token`.
    pub fn ticket(&self, agent_id: &str) -> Secret {
        Secret::new(format!("{PREFIX}{agent_id}:{}", self.mac_hex(agent_id)))
    }

    /// The agent a ticket was minted for, or `None` for anything else (including real
    /// refresh tokens, which must never be accepted here).
    pub fn verify(&self, ticket: &str) -> Option<String> {
        let rest = ticket.strip_prefix(PREFIX)?;
        let (agent, mac) = rest.rsplit_once(':')?;
        if agent.is_empty() {
            return None;
        }
        let expected = self.mac_hex(agent);
        // Constant-time comparison: the ticket is a bearer credential for the broker.
        let same = expected.len() == mac.len()
            && expected
                .bytes()
                .zip(mac.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        same.then(|| agent.to_string())
    }
}

/// Whether `token` is an agent ticket (of any key), i.e. not a real refresh token.
pub fn is_ticket(token: &str) -> bool {
    token.starts_with(PREFIX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn tickets_verify_only_with_their_key() {
        let key = BrokerKey::from_bytes([7; 32]);
        let ticket = key.ticket("agent.one");
        assert!(is_ticket(ticket.expose()));
        assert_eq!(key.verify(ticket.expose()), Some("agent.one".to_string()));
        assert_eq!(BrokerKey::from_bytes([8; 32]).verify(ticket.expose()), None);
        let forged = ticket.expose().replace("agent.one", "agent.two");
        assert_eq!(key.verify(&forged), None);
        assert_eq!(key.verify("rt_real_refresh_token"), None);
        assert_eq!(format!("{key:?}"), "BrokerKey(<redacted>)");
    }
}
