//! What a bearer token grants: the agents its holder may act as and whether it is an
//! operator's. The engine's request identity carries it, so it lives below the HTTP
//! transport that checks the token (`transport::http::bearer`).

/// Any agent id: a token listing this may act as every agent.
pub const ANY_AGENT: &str = "*";

/// One token and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// A name for logs and errors (never the token).
    pub name: String,
    /// SHA-256 of the token.
    pub sha256: [u8; 32],
    /// Agents the holder may act as; the first one (unless [`ANY_AGENT`]) is the holder's
    /// agent when a call names none.
    pub agents: Vec<String>,
    /// An operator's token: the server tools (`list_sessions`, `list_active_agents`,
    /// `get_agent_status`, `cleanup_inactive_agents`) show and clean every agent, not
    /// only the listed ones. Acting as an agent still needs it listed.
    pub admin: bool,
}

impl TokenGrant {
    /// The agent a call without an explicit agent id runs as.
    pub fn default_agent(&self) -> Option<&str> {
        self.agents
            .first()
            .map(String::as_str)
            .filter(|a| *a != ANY_AGENT)
    }

    /// Whether the holder may act as `agent`.
    pub fn allows(&self, agent: &str) -> bool {
        self.agents.iter().any(|a| a == ANY_AGENT || a == agent)
    }

    /// Whether the server tools show the holder every agent: an admin token, or one
    /// that may act as any agent ([`ANY_AGENT`]) and so could look at each anyway.
    pub fn sees_all(&self) -> bool {
        self.admin || self.agents.iter().any(|a| a == ANY_AGENT)
    }
}
