//! Which agent a call belongs to. First match wins: the tool's `agent_id` argument, the
//! connection's `X-Agent-Id` header or `agent_id` query parameter, the agent bound to the
//! bearer token, the MCP session, and finally the shared `default` agent.

use codex_mcp_runtime::AgentId;

use crate::server::Identity;

/// The agent for calls that carry no identity at all (REST without a header).
pub const DEFAULT_AGENT: &str = "default";

/// Resolves the agent of a call; the error names the offending id and the rule.
pub fn resolve(argument: Option<&str>, identity: &Identity) -> Result<AgentId, String> {
    let (id, from) = if let Some(a) = argument {
        (a.to_string(), "the agent_id argument")
    } else if let Some(a) = &identity.connection_agent {
        (
            a.clone(),
            "the X-Agent-Id header / agent_id query parameter",
        )
    } else if let Some(a) = &identity.token_agent {
        (a.clone(), "the bearer token")
    } else if let Some(s) = &identity.session_id {
        (
            format!("session-{}", &s[..s.len().min(24)]),
            "the MCP session",
        )
    } else {
        (DEFAULT_AGENT.to_string(), "the default")
    };
    let agent = AgentId::new(id.clone()).map_err(|e| format!("{e} (from {from})"))?;
    if let Some((token, allowed)) = &identity.token_agents
        && !allowed.iter().any(|a| a == "*" || a == agent.as_str())
    {
        return Err(format!(
            "the bearer token {token:?} may act as {}, not as agent {agent} (from {from})",
            allowed.join(", ")
        ));
    }
    Ok(agent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn first_match_wins() {
        let identity = Identity {
            connection_agent: Some("hdr".into()),
            token_agent: Some("tok".into()),
            token_agents: None,
            session_id: Some("0123456789abcdef0123456789abcdef".into()),
        };
        assert_eq!(resolve(Some("arg"), &identity).unwrap().as_str(), "arg");
        assert_eq!(resolve(None, &identity).unwrap().as_str(), "hdr");
        let no_header = Identity {
            connection_agent: None,
            ..identity.clone()
        };
        assert_eq!(resolve(None, &no_header).unwrap().as_str(), "tok");
        let session_only = Identity {
            connection_agent: None,
            token_agent: None,
            token_agents: None,
            ..identity
        };
        assert_eq!(
            resolve(None, &session_only).unwrap().as_str(),
            "session-0123456789abcdef01234567"
        );
        assert_eq!(
            resolve(None, &Identity::default()).unwrap().as_str(),
            "default"
        );
    }

    #[test]
    fn a_token_limits_the_agents_a_caller_may_name() {
        let identity = Identity {
            token_agent: Some("alice".into()),
            token_agents: Some(("laptop".into(), vec!["alice".into(), "alice-2".into()])),
            ..Identity::default()
        };
        assert_eq!(resolve(None, &identity).unwrap().as_str(), "alice");
        assert_eq!(
            resolve(Some("alice-2"), &identity).unwrap().as_str(),
            "alice-2"
        );
        assert_eq!(
            resolve(Some("bob"), &identity).unwrap_err(),
            "the bearer token \"laptop\" may act as alice, alice-2, not as agent bob \
             (from the agent_id argument)"
        );
        let header = Identity {
            connection_agent: Some("carol".into()),
            ..identity.clone()
        };
        assert!(resolve(None, &header).unwrap_err().contains("X-Agent-Id"));
        let any = Identity {
            token_agent: None,
            token_agents: Some(("ops".into(), vec!["*".into()])),
            ..Identity::default()
        };
        assert_eq!(resolve(Some("zed"), &any).unwrap().as_str(), "zed");
        assert_eq!(resolve(None, &any).unwrap().as_str(), "default");
    }

    #[test]
    fn bad_ids_name_their_source() {
        let identity = Identity {
            connection_agent: Some("a b".into()),
            ..Identity::default()
        };
        let err = resolve(None, &identity).unwrap_err();
        assert!(
            err.contains("\"a b\"") && err.contains("X-Agent-Id"),
            "{err}"
        );
    }
}
