//! Which agent a call belongs to, and which agents a caller may see. First match wins:
//! the tool's `agent_id` argument, the connection's `X-Agent-Id` header or `agent_id`
//! query parameter, the agent bound to the bearer token, the MCP session (through a
//! keyed hash, see [`SessionAgentKey`]), and finally the shared `default` agent.

use codex_mcp_runtime::AgentId;

use super::AgentError;
use super::session_key::SessionAgentKey;
use crate::server::Identity;
use crate::server::grant::TokenGrant;

/// The agent for calls that carry no identity at all (REST without a header).
pub const DEFAULT_AGENT: &str = "default";

/// Resolves the agent of a call; the error names the offending id and the rule.
pub fn resolve(
    argument: Option<&str>,
    identity: &Identity,
    key: &SessionAgentKey,
) -> Result<AgentId, AgentError> {
    let token_agent = identity.token.as_ref().and_then(|g| g.default_agent());
    let (id, from) = if let Some(a) = argument {
        (a.to_string(), "the agent_id argument")
    } else if let Some(a) = &identity.connection_agent {
        (
            a.clone(),
            "the X-Agent-Id header / agent_id query parameter",
        )
    } else if let Some(a) = token_agent {
        (a.to_string(), "the bearer token")
    } else if let Some(s) = &identity.session_id {
        (key.agent_for(s), "the MCP session")
    } else {
        (DEFAULT_AGENT.to_string(), "the default")
    };
    let agent = AgentId::new(id).map_err(|source| AgentError::InvalidAgent { source, from })?;
    if let Some(grant) = &identity.token
        && !grant.allows(agent.as_str())
    {
        return Err(refusal(grant, agent.as_str(), from));
    }
    Ok(agent)
}

/// The refusal for a token naming an agent it does not list.
fn refusal(grant: &TokenGrant, agent: &str, from: &'static str) -> AgentError {
    AgentError::NotAllowed {
        token: grant.name.clone(),
        allowed: grant.agents.clone(),
        agent: agent.to_string(),
        from,
    }
}

/// Which agents a caller may see and manage through the server tools
/// (`list_sessions`, `list_active_agents`, `get_agent_status`,
/// `cleanup_inactive_agents`): the one rule they all apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope<'a> {
    /// Every agent: no tokens are configured (the operator on loopback, stdio, an
    /// in-process call such as `mcpd agents` without a server), or the token is an admin
    /// token or may act as any agent (`"*"`).
    All,
    /// Only the agents the bearer token lists.
    Token(&'a TokenGrant),
}

impl<'a> Scope<'a> {
    /// The scope of a caller.
    pub fn of(identity: &'a Identity) -> Self {
        match identity.token.as_deref() {
            Some(grant) if !grant.sees_all() => Scope::Token(grant),
            _ => Scope::All,
        }
    }

    /// Whether the caller may see and manage `agent`.
    pub fn allows(&self, agent: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Token(grant) => grant.allows(agent),
        }
    }

    /// Refuses an agent outside the scope, naming the token and what it may see.
    pub fn check(&self, agent: &str) -> Result<(), AgentError> {
        match self {
            Scope::Token(grant) if !grant.allows(agent) => {
                Err(refusal(grant, agent, "the agent_id argument"))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::agents::session_key::SESSION_KEY_LEN;
    use pretty_assertions::assert_eq;

    fn key() -> SessionAgentKey {
        SessionAgentKey::new([1; SESSION_KEY_LEN])
    }

    fn grant(name: &str, agents: &[&str], admin: bool) -> Option<Arc<TokenGrant>> {
        Some(Arc::new(TokenGrant {
            name: name.into(),
            sha256: [0; 32],
            agents: agents.iter().map(|a| a.to_string()).collect(),
            admin,
        }))
    }

    #[test]
    fn first_match_wins() {
        let session = "0123456789abcdef0123456789abcdef";
        let identity = Identity {
            connection_agent: Some("hdr".into()),
            token: grant("t", &["tok", "arg", "hdr"], false),
            session_id: Some(session.into()),
        };
        let resolve = |arg, identity: &Identity| resolve(arg, identity, &key());
        assert_eq!(resolve(Some("arg"), &identity).unwrap().as_str(), "arg");
        assert_eq!(resolve(None, &identity).unwrap().as_str(), "hdr");
        let no_header = Identity {
            connection_agent: None,
            ..identity.clone()
        };
        assert_eq!(resolve(None, &no_header).unwrap().as_str(), "tok");
        let session_only = Identity {
            connection_agent: None,
            token: None,
            ..identity
        };
        // The session's agent is the keyed hash, never the session id itself.
        assert_eq!(
            resolve(None, &session_only).unwrap().as_str(),
            key().agent_for(session)
        );
        assert_eq!(
            resolve(None, &Identity::default()).unwrap().as_str(),
            "default"
        );
    }

    #[test]
    fn a_token_limits_the_agents_a_caller_may_name() {
        let identity = Identity {
            token: grant("laptop", &["alice", "alice-2"], false),
            ..Identity::default()
        };
        let resolve = |arg, identity: &Identity| resolve(arg, identity, &key());
        assert_eq!(resolve(None, &identity).unwrap().as_str(), "alice");
        assert_eq!(
            resolve(Some("alice-2"), &identity).unwrap().as_str(),
            "alice-2"
        );
        assert_eq!(
            resolve(Some("bob"), &identity).unwrap_err().to_string(),
            "the bearer token \"laptop\" may act as alice, alice-2, not as agent bob \
             (from the agent_id argument)"
        );
        let header = Identity {
            connection_agent: Some("carol".into()),
            ..identity.clone()
        };
        assert!(
            resolve(None, &header)
                .unwrap_err()
                .to_string()
                .contains("X-Agent-Id")
        );
        let any = Identity {
            token: grant("ops", &["*"], false),
            ..Identity::default()
        };
        assert_eq!(resolve(Some("zed"), &any).unwrap().as_str(), "zed");
        assert_eq!(resolve(None, &any).unwrap().as_str(), "default");
        // An admin token sees every agent but acts only as the ones it lists.
        let admin = Identity {
            token: grant("root", &["ops-agent"], true),
            ..Identity::default()
        };
        assert!(resolve(Some("zed"), &admin).is_err());
    }

    #[test]
    fn the_scope_of_a_caller_follows_its_token() {
        let alice = Identity {
            token: grant("laptop", &["alice", "alice-2"], false),
            ..Identity::default()
        };
        let scope = Scope::of(&alice);
        assert!(scope.allows("alice-2") && !scope.allows("bob"));
        assert!(scope.check("alice").is_ok());
        assert_eq!(
            scope.check("bob").map_err(|e| e.to_string()),
            Err(
                "the bearer token \"laptop\" may act as alice, alice-2, not as agent bob \
                 (from the agent_id argument)"
                    .to_string()
            )
        );
        for everyone in [
            Identity::default(),
            Identity {
                token: grant("ops", &["*"], false),
                ..Identity::default()
            },
            Identity {
                token: grant("root", &["ops-agent"], true),
                ..Identity::default()
            },
        ] {
            assert_eq!(Scope::of(&everyone), Scope::All);
            assert!(Scope::of(&everyone).check("bob").is_ok());
        }
    }

    #[test]
    fn bad_ids_name_their_source() {
        let identity = Identity {
            connection_agent: Some("a b".into()),
            ..Identity::default()
        };
        let err = resolve(None, &identity, &key()).unwrap_err().to_string();
        assert!(
            err.contains("\"a b\"") && err.contains("X-Agent-Id"),
            "{err}"
        );
    }
}
