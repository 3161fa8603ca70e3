//! Agent tickets: the stand-in refresh token each agent receives instead of the real one.
//!
//! ChatGPT refresh tokens are single-use. If twenty agents held the real one, the first to
//! refresh would invalidate it for the other nineteen and for the host. So agents get a
//! ticket `mcpd-rt:v2:<agent id>:<issued>:<generation>:<HMAC>`: worthless at OpenAI, and,
//! when the agent's Codex is pointed at the server (`CODEX_REFRESH_TOKEN_URL_OVERRIDE`),
//! proof of which agent is asking the server's broker for fresh tokens.
//!
//! A ticket is a credential that lives in the agent's Codex home, so it must not outlive
//! its use: it expires [`TICKET_LIFETIME`] after its issue time (Unix seconds, rounded
//! down to the hour so that an agent's auth.json, and with it its fingerprint, changes at
//! most once an hour), and [`BrokerKey::revoke`] (called when an agent is purged) bumps
//! the agent's generation so that every ticket issued before stops working, even if a
//! new agent of the same id is made later.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::secret::Secret;

/// What every ticket starts with, of any version.
const PREFIX: &str = "mcpd-rt:";
/// The current ticket format.
const V2: &str = "mcpd-rt:v2:";

/// How long a ticket is accepted after its issue time. A day covers the longest turn
/// (two hours) with room; every call re-issues the ticket of an agent whose ticket
/// is more than an hour old, so a working agent never holds an expired one.
pub const TICKET_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Issue times are rounded down to this, so a ticket only changes once per period.
const ISSUE_STEP_SECS: u64 = 3600;

/// Why a ticket was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketRefusal {
    /// Not a ticket of the current format (e.g. a real refresh token or an old ticket).
    #[error("this refresh token was not issued by this server")]
    Unknown,
    /// A ticket whose signature does not match (another server's key, or forged).
    #[error("this refresh token was not issued by this server")]
    Forged,
    /// Older than [`TICKET_LIFETIME`].
    #[error("this refresh token has expired; the agent's next call brings a fresh one")]
    Expired,
    /// Issued before the agent was purged.
    #[error("this refresh token was revoked when its agent was removed")]
    Revoked,
}

/// The server's key for minting and checking agent tickets, and each agent's ticket
/// generation. Clones share the generations.
#[derive(Clone)]
pub struct BrokerKey {
    key: [u8; 32],
    generations: Arc<Mutex<HashMap<String, u64>>>,
}

impl std::fmt::Debug for BrokerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BrokerKey(<redacted>)")
    }
}

/// Seconds since the Unix epoch now.
fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl BrokerKey {
    /// A fresh random key. Tickets then last as long as the process at most; the
    /// runtime's fingerprint check re-injects agents after a restart, so that is enough.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        Self::from_bytes(key)
    }

    /// A key from stored bytes, for tickets that survive restarts.
    pub fn from_bytes(key: [u8; 32]) -> Self {
        Self {
            key,
            generations: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn generation(&self, agent_id: &str) -> u64 {
        let map = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        map.get(agent_id).copied().unwrap_or(0)
    }

    /// Makes every ticket issued to `agent_id` so far invalid (the agent was purged).
    pub fn revoke(&self, agent_id: &str) {
        let mut map = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry(agent_id.to_string()).or_insert(0) += 1;
    }

    fn mac_hex(&self, signed: &str) -> String {
        // HMAC accepts keys of any length; the error branch is unreachable but keeps the
        // code total without an expect.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.key) else {
            return String::new();
        };
        mac.update(signed.as_bytes());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The ticket placed in `agent_id`'s auth.json as its `refresh_token`.
    pub fn ticket(&self, agent_id: &str) -> Secret {
        self.ticket_at(agent_id, now_secs())
    }

    /// The ticket for `agent_id` issued at `now` (Unix seconds).
    pub fn ticket_at(&self, agent_id: &str, now: u64) -> Secret {
        let issued = now - now % ISSUE_STEP_SECS;
        let signed = format!("{agent_id}:{issued}:{}", self.generation(agent_id));
        let mac = self.mac_hex(&signed);
        Secret::new(format!("{V2}{signed}:{mac}"))
    }

    /// The agent a ticket was minted for; refuses anything else (including real
    /// refresh tokens, which must never be accepted here), expired and revoked tickets.
    pub fn verify(&self, ticket: &str) -> Result<String, TicketRefusal> {
        self.verify_at(ticket, now_secs())
    }

    /// [`Self::verify`] at `now` (Unix seconds).
    pub fn verify_at(&self, ticket: &str, now: u64) -> Result<String, TicketRefusal> {
        let rest = ticket.strip_prefix(V2).ok_or(TicketRefusal::Unknown)?;
        let (signed, mac) = rest.rsplit_once(':').ok_or(TicketRefusal::Unknown)?;
        let mut fields = signed.rsplitn(3, ':');
        let (Some(generation), Some(issued), Some(agent)) =
            (fields.next(), fields.next(), fields.next())
        else {
            return Err(TicketRefusal::Unknown);
        };
        if agent.is_empty() {
            return Err(TicketRefusal::Unknown);
        }
        let expected = self.mac_hex(signed);
        // Constant-time comparison: the ticket is a bearer credential for the broker.
        let same = expected.len() == mac.len()
            && expected
                .bytes()
                .zip(mac.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if !same {
            return Err(TicketRefusal::Forged);
        }
        let (Ok(issued), Ok(generation)) = (issued.parse::<u64>(), generation.parse::<u64>())
        else {
            return Err(TicketRefusal::Forged);
        };
        if generation != self.generation(agent) {
            return Err(TicketRefusal::Revoked);
        }
        if now >= issued.saturating_add(TICKET_LIFETIME.as_secs()) {
            return Err(TicketRefusal::Expired);
        }
        Ok(agent.to_string())
    }
}

/// Whether `token` is an agent ticket (of any key or version), i.e. not a real refresh
/// token.
pub fn is_ticket(token: &str) -> bool {
    token.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn tickets_verify_only_with_their_key() {
        let key = BrokerKey::from_bytes([7; 32]);
        let ticket = key.ticket("agent.one");
        assert!(is_ticket(ticket.expose()));
        assert_eq!(key.verify(ticket.expose()), Ok("agent.one".to_string()));
        assert_eq!(
            BrokerKey::from_bytes([8; 32]).verify(ticket.expose()),
            Err(TicketRefusal::Forged)
        );
        let forged = ticket.expose().replace("agent.one", "agent.two");
        assert_eq!(key.verify(&forged), Err(TicketRefusal::Forged));
        assert_eq!(
            key.verify("rt_real_refresh_token"),
            Err(TicketRefusal::Unknown)
        );
        assert_eq!(format!("{key:?}"), "BrokerKey(<redacted>)");
    }

    #[test]
    fn tickets_expire_a_day_after_their_issue_hour() {
        let key = BrokerKey::from_bytes([7; 32]);
        let issued_at = 1_800_000_000 + 1234; // within an hour starting at ..._000
        let hour = issued_at - issued_at % 3600;
        let ticket = key.ticket_at("a", issued_at);
        let day = TICKET_LIFETIME.as_secs();
        // The same hour gives the same ticket (no re-injection on every call).
        assert_eq!(key.ticket_at("a", hour + 3599).expose(), ticket.expose());
        let seen: Vec<_> = [issued_at, hour + day - 1, hour + day, hour + 2 * day]
            .iter()
            .map(|now| key.verify_at(ticket.expose(), *now))
            .collect();
        assert_eq!(
            seen,
            vec![
                Ok("a".to_string()),
                Ok("a".to_string()),
                Err(TicketRefusal::Expired),
                Err(TicketRefusal::Expired),
            ]
        );
        // Editing the issue time breaks the signature.
        let moved = ticket
            .expose()
            .replace(&format!(":{hour}:"), &format!(":{}:", hour + day));
        assert_eq!(
            key.verify_at(&moved, hour + day),
            Err(TicketRefusal::Forged)
        );
    }

    #[test]
    fn revoking_an_agent_invalidates_its_earlier_tickets_only() {
        let key = BrokerKey::from_bytes([7; 32]);
        let old = key.ticket("gone");
        let other = key.ticket("stays");
        key.clone().revoke("gone");
        assert_eq!(key.verify(old.expose()), Err(TicketRefusal::Revoked));
        assert_eq!(key.verify(other.expose()), Ok("stays".to_string()));
        let new = key.ticket("gone");
        assert_eq!(key.verify(new.expose()), Ok("gone".to_string()));
    }
}
