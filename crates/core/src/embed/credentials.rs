//! Credentials for agents: `codex-mcp-auth`'s [`TokenRefresher`] behind core's
//! [`CredentialSource`], the health facts built from its status, and the refresh broker
//! route agents' Codex sends its token refreshes to (`docs/auth.md`). Moved here from
//! `mcpd` so that an embedder gets the same credential handling as the server.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::agents::{AgentCredentials, CredentialError, CredentialSource};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use codex_mcp_auth::{
    AuthError, AuthMethod, AuthStatus, BrokerKey, BrokerReply, DetectInputs, LoginShare,
    REFRESH_URL_ENV, RefreshConfig, TokenRefresher,
};
use codex_mcp_runtime::AgentId;
use codex_mcp_tools::tools::health::CredentialsHealth;

/// Where the HTTP server answers agents' token refreshes.
pub const BROKER_PATH: &str = "/auth/oauth/token";

/// How often the login is re-checked (and refreshed when due) while no call comes in.
const BACKGROUND_INTERVAL: Duration = Duration::from_secs(60);

/// Largest refresh request body the broker reads (Codex sends a few hundred bytes).
const BROKER_BODY_LIMIT: usize = 64 * 1024;

/// The health facts of a status: method, source, time to expiry and problems; never a
/// secret (the status holds none).
pub fn health_of(status: &AuthStatus) -> CredentialsHealth {
    CredentialsHealth {
        method: match status.method {
            AuthMethod::ApiKey => "api_key",
            AuthMethod::Chatgpt => "chatgpt",
            AuthMethod::None => "none",
        }
        .to_string(),
        source: status.source.clone(),
        expires_in_seconds: status.expires_in_secs,
        problems: status.problems.clone(),
    }
}

/// The server's credentials: one login, refreshed by the server alone, handed to each
/// agent as its own auth.json (with a per-agent ticket in place of the refresh token).
pub struct AgentCredentialSource {
    refresher: TokenRefresher,
    /// Whether agents' Codex can reach this server (local runtime, or Docker with the
    /// host's network), and so may be pointed at the broker.
    agents_reach_server: bool,
    /// The broker's URL once the HTTP server listens.
    broker_url: OnceLock<String>,
}

impl AgentCredentialSource {
    /// Detects the credentials from `inputs` (e.g. [`DetectInputs::from_process_env`])
    /// and starts keeping them fresh in the background (requires a Tokio runtime).
    /// `agents_reach_server`: whether agents' Codex can dial this server (local runtime,
    /// or Docker with the host's network), so their token refreshes may go through it.
    pub fn start(inputs: DetectInputs, agents_reach_server: bool) -> Result<Arc<Self>, AuthError> {
        Self::start_shared(inputs, agents_reach_server, None)
    }

    /// [`Self::start`] for one replica of several sharing the login through `share`
    /// (e.g. [`super::login_share::StoreLoginShare`] on PostgreSQL): one refresh serves
    /// the whole deployment.
    pub fn start_shared(
        inputs: DetectInputs,
        agents_reach_server: bool,
        share: Option<Arc<dyn LoginShare>>,
    ) -> Result<Arc<Self>, AuthError> {
        let mut refresher = TokenRefresher::new(
            inputs,
            RefreshConfig::from_process_env(),
            BrokerKey::random(),
        )?;
        if let Some(share) = share {
            refresher = refresher.with_share(share);
        }
        tokio::spawn(refresher.clone().run_background(BACKGROUND_INTERVAL));
        let status = refresher.status();
        tracing::info!(
            method = ?status.method,
            source = status.source.as_deref().unwrap_or("-"),
            ready = status.ready,
            "credentials"
        );
        for problem in &status.problems {
            tracing::warn!("credentials: {problem}");
        }
        Ok(Arc::new(Self {
            refresher,
            agents_reach_server,
            broker_url: OnceLock::new(),
        }))
    }

    /// The current status (method, source, expiry, problems).
    pub fn status(&self) -> AuthStatus {
        self.refresher.status()
    }

    /// The status as `health_check` and `/health` show it.
    pub fn health(&self) -> CredentialsHealth {
        health_of(&self.status())
    }

    /// Records that the HTTP server listens on `addr`, so agents that can reach it are
    /// started with their token refreshes pointed at the broker.
    pub fn serve_broker_at(&self, addr: SocketAddr) {
        if self.agents_reach_server {
            let url = format!("http://{}{BROKER_PATH}", reachable(addr));
            tracing::debug!(%url, "agents refresh their ChatGPT tokens through this server");
            let _ = self.broker_url.set(url);
        }
    }

    /// The broker route, to merge into the HTTP router (see [`crate::CodexMcp::router`]).
    pub fn broker_router(self: &Arc<Self>) -> axum::Router {
        axum::Router::new()
            .route(BROKER_PATH, axum::routing::post(broker))
            .layer(DefaultBodyLimit::max(BROKER_BODY_LIMIT))
            .with_state(self.refresher.clone())
    }

    /// The tool error for credentials that cannot serve a call: every problem the status
    /// names (so a malformed file or a conflicting setting is named), then `error` unless
    /// a problem already says it.
    fn unusable(&self, error: &AuthError) -> String {
        let mut parts = self.status().problems;
        let error = error.to_string();
        let said = error.to_lowercase();
        if !parts.iter().any(|p| p.to_lowercase().contains(&said)) {
            parts.push(error);
        }
        parts.join(" ")
    }
}

#[async_trait::async_trait]
impl CredentialSource for AgentCredentialSource {
    async fn for_agent(
        &self,
        agent: &AgentId,
    ) -> Result<Option<AgentCredentials>, CredentialError> {
        let file = self
            .refresher
            .prepare_agent(agent.as_str())
            .await
            .map_err(|e| CredentialError::new(self.unusable(&e)).with_source(e))?;
        let env = self
            .broker_url
            .get()
            .map(|url| vec![(REFRESH_URL_ENV.to_string(), url.clone())])
            .unwrap_or_default();
        Ok(Some(AgentCredentials {
            auth_json: file.bytes().to_vec(),
            fingerprint: file.fingerprint().to_hex(),
            env,
        }))
    }

    fn revoke(&self, agent: &str) {
        self.refresher.revoke_agent(agent);
        tracing::info!(agent, "revoked the purged agent's token broker tickets");
    }
}

/// `POST /auth/oauth/token`: an agent's Codex refreshing with its ticket.
async fn broker(State(refresher): State<TokenRefresher>, body: Bytes) -> Response {
    let reply = refresher.handle_agent_refresh(&body).await;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, BrokerReply::CONTENT_TYPE)],
        Bytes::copy_from_slice(reply.body()),
    )
        .into_response()
}

/// The address an agent on this host dials for a server listening on `addr`: loopback
/// for a wildcard address, else the address itself.
fn reachable(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn wildcard_listen_addresses_are_dialled_on_loopback() {
        let cases = [
            ("0.0.0.0:8210", "127.0.0.1:8210"),
            ("[::]:8210", "[::1]:8210"),
            ("127.0.0.1:9", "127.0.0.1:9"),
            ("10.1.2.3:80", "10.1.2.3:80"),
        ];
        for (listen, dialled) in cases {
            let addr: SocketAddr = listen.parse().unwrap_or_else(|e| panic!("{listen}: {e}"));
            assert_eq!(reachable(addr).to_string(), dialled);
        }
    }

    #[test]
    fn health_shows_the_status_without_secrets() {
        let none = health_of(&AuthStatus::none(Vec::new()));
        assert_eq!(
            (none.method.as_str(), none.source, none.expires_in_seconds),
            ("none", None, None)
        );
        assert_eq!(
            none.problems,
            vec![codex_mcp_auth::NO_CREDENTIALS_MESSAGE.to_string()]
        );
    }

    #[test]
    fn local_agents_inherit_none_of_the_variables_that_override_their_auth_json() {
        // The local runtime passes only an allow-list of the server's variables to agent
        // processes; none of them may be one that would override the injected login.
        let leaked: Vec<&str> = codex_mcp_runtime::local::PASSTHROUGH_ENV
            .iter()
            .copied()
            .filter(|v| codex_mcp_auth::AGENT_ENV_REMOVE.contains(v))
            .collect();
        assert_eq!(leaked, Vec::<&str>::new());
    }
}
