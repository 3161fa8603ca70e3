//! Bearer tokens (`MCPD_TOKENS_FILE`): with a table configured, every MCP and REST request
//! must carry `Authorization: Bearer <token>` naming a known token, and the token limits
//! which agents the caller may act as. Without a table the server trusts its loopback
//! callers, as before. `/health` stays open for probes.
//!
//! Tokens are kept only as SHA-256 digests and looked up by digest, so the table never
//! holds a secret and the lookup's timing says nothing about a near miss.

use std::collections::HashMap;
use std::sync::Arc;

use http::HeaderMap;
use sha2::{Digest, Sha256};

pub use crate::server::grant::{ANY_AGENT, TokenGrant};

/// Why a table could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenTableError {
    /// Two entries have the same token.
    #[error("tokens {0:?} and {1:?} are the same token; every token must be unique")]
    Duplicate(String, String),
    /// An entry lists no agent.
    #[error("token {0:?} lists no agents; give at least one agent id or \"*\"")]
    NoAgents(String),
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BearerError {
    /// No `Authorization` header.
    #[error("this server requires a bearer token: send Authorization: Bearer <token>")]
    Missing,
    /// An `Authorization` header of another scheme or not text.
    #[error("the Authorization header must be \"Bearer <token>\"")]
    Malformed,
    /// A token the server does not know.
    #[error("unknown bearer token")]
    Unknown,
}

/// The configured tokens, by digest.
#[derive(Debug, Default)]
pub struct TokenTable {
    by_digest: HashMap<[u8; 32], Arc<TokenGrant>>,
}

impl TokenTable {
    /// A table of `grants`; refuses duplicate tokens and grants without agents.
    pub fn new(grants: Vec<TokenGrant>) -> Result<Self, TokenTableError> {
        let mut by_digest: HashMap<[u8; 32], Arc<TokenGrant>> = HashMap::new();
        for grant in grants {
            if grant.agents.is_empty() {
                return Err(TokenTableError::NoAgents(grant.name));
            }
            if let Some(earlier) = by_digest.get(&grant.sha256) {
                return Err(TokenTableError::Duplicate(earlier.name.clone(), grant.name));
            }
            by_digest.insert(grant.sha256, Arc::new(grant));
        }
        Ok(Self { by_digest })
    }

    /// SHA-256 of a token, as the table keeps it.
    pub fn digest(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    /// Number of tokens.
    pub fn len(&self) -> usize {
        self.by_digest.len()
    }

    /// Whether the table is empty (every request would be refused).
    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }

    /// The grant of the request's bearer token.
    pub fn check(&self, headers: &HeaderMap) -> Result<Arc<TokenGrant>, BearerError> {
        let value = headers
            .get(http::header::AUTHORIZATION)
            .ok_or(BearerError::Missing)?;
        let value = value.to_str().map_err(|_| BearerError::Malformed)?;
        let (scheme, token) = value.split_once(' ').ok_or(BearerError::Malformed)?;
        let token = token.trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Err(BearerError::Malformed);
        }
        self.by_digest
            .get(&Self::digest(token))
            .cloned()
            .ok_or(BearerError::Unknown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn grant(name: &str, token: &str, agents: &[&str]) -> TokenGrant {
        TokenGrant {
            name: name.into(),
            sha256: TokenTable::digest(token),
            agents: agents.iter().map(|a| a.to_string()).collect(),
            admin: false,
        }
    }

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(http::header::AUTHORIZATION, value.parse().unwrap());
        h
    }

    #[test]
    fn known_tokens_map_to_their_grants_and_others_are_refused() {
        let table = table();
        let alice = table.check(&headers("Bearer tok-alice")).unwrap();
        assert_eq!(
            (alice.name.as_str(), alice.default_agent()),
            ("laptop", Some("alice"))
        );
        assert!(alice.allows("alice-2") && !alice.allows("bob") && !alice.sees_all());
        let any = table.check(&headers("bearer  tok-ops ")).unwrap();
        assert_eq!(
            (any.default_agent(), any.allows("zed"), any.sees_all()),
            (None, true, true)
        );
        let admin = TokenGrant {
            admin: true,
            ..grant("root", "tok-root", &["ops-agent"])
        };
        assert!(admin.sees_all() && !admin.allows("zed"));
        assert_eq!(table.check(&HeaderMap::new()), Err(BearerError::Missing));
        assert_eq!(
            table.check(&headers("Basic abc")),
            Err(BearerError::Malformed)
        );
        assert_eq!(table.check(&headers("Bearer")), Err(BearerError::Malformed));
        assert_eq!(
            table.check(&headers("Bearer tok-alicE")),
            Err(BearerError::Unknown)
        );
    }

    #[test]
    fn duplicate_tokens_and_empty_grants_are_refused_by_name() {
        assert_eq!(
            TokenTable::new(vec![grant("a", "same", &["x"]), grant("b", "same", &["y"])])
                .map(|t| t.len()),
            Err(TokenTableError::Duplicate("a".into(), "b".into()))
        );
        assert_eq!(
            TokenTable::new(vec![grant("empty", "t", &[])]).map(|t| t.len()),
            Err(TokenTableError::NoAgents("empty".into()))
        );
    }

    fn table() -> TokenTable {
        TokenTable::new(vec![
            grant("laptop", "tok-alice", &["alice", "alice-2"]),
            grant("ops", "tok-ops", &[ANY_AGENT]),
        ])
        .unwrap()
    }
}
