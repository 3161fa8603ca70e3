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
    AgentId::new(id.clone()).map_err(|e| format!("{e} (from {from})"))
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
