//! The server's stand-in for the OAuth token endpoint, for agents.
//!
//! An agent's Codex started with `CODEX_REFRESH_TOKEN_URL_OVERRIDE=<server>/...` sends its
//! refresh here, with its ticket as the refresh token. The broker answers with the
//! server's current tokens (refreshing first if due, or on a reported 401), and the same
//! ticket again, in the token endpoint's own format, so Codex stores the result as it
//! would OpenAI's. Core mounts [`TokenRefresher::handle_agent_refresh`] on a route; the
//! HTTP plumbing stays there.

use serde_json::{Value, json};

use super::TokenRefresher;
use super::upstream::{PERMANENT_CODES, RefreshReason, RefreshRequest};
use crate::credentials::Login;
use crate::error::{AuthError, RefreshError};
use crate::secret::SecretBytes;

/// An HTTP answer for the agent: status and a JSON body (which may hold tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerReply {
    /// HTTP status code.
    pub status: u16,
    body: SecretBytes,
}

impl BrokerReply {
    /// Content type of every reply.
    pub const CONTENT_TYPE: &'static str = "application/json";

    fn json(status: u16, value: &Value) -> Self {
        Self {
            status,
            body: SecretBytes::new(value.to_string().into_bytes()),
        }
    }

    fn error(status: u16, code: &str, message: &str) -> Self {
        Self::json(
            status,
            &json!({"error": {"code": code, "message": message}}),
        )
    }

    /// The response body. Holds tokens on success: send it, never log it.
    pub fn body(&self) -> &[u8] {
        self.body.expose()
    }
}

impl TokenRefresher {
    /// Answers one agent refresh request (the raw POST body).
    pub async fn handle_agent_refresh(&self, body: &[u8]) -> BrokerReply {
        let Ok(request) = serde_json::from_slice::<RefreshRequest>(body) else {
            return BrokerReply::error(400, "invalid_request", "expected a JSON refresh request");
        };
        if request.grant_type != "refresh_token" {
            return BrokerReply::error(
                400,
                "unsupported_grant_type",
                "only refresh_token is supported",
            );
        }
        let agent = match self.key().verify(&request.refresh_token) {
            Ok(agent) => agent,
            // Codex treats this code as permanent: the agent stops retrying.
            Err(why) => {
                tracing::debug!(reason = %why, "refused an agent refresh");
                return BrokerReply::error(401, "refresh_token_invalidated", &why.to_string());
            }
        };
        let reason = match request.refresh_reason.as_deref() {
            Some("unauthorized_recovery") => RefreshReason::UnauthorizedRecovery,
            _ => RefreshReason::ProactiveExpiry,
        };
        self.reload_if_changed().await;
        let result = self.refresh_for_agent(reason).await;
        // A failed refresh is reported even while the current token is still valid:
        // Codex 0.169 refreshes shortly before expiry, and answering with the same
        // near-expiry token made it ask again at once, dozens of times a second, until
        // the token expired (seen end to end through mcpd). On an error it carries on
        // with the token it has.
        let creds = match result {
            Ok(c) => c,
            Err(e) => return failure_reply(&e),
        };
        let Login::ChatGpt(login) = creds.login() else {
            return BrokerReply::error(
                400,
                "invalid_grant",
                "this server uses an API key, not a ChatGPT login",
            );
        };
        tracing::debug!(agent = %agent, "served tokens to an agent refresh");
        BrokerReply::json(
            200,
            &json!({
                "id_token": login.tokens.id_token.expose(),
                "access_token": login.tokens.access_token.expose(),
                "refresh_token": self.key().ticket(&agent).expose(),
            }),
        )
    }
}

fn failure_reply(e: &AuthError) -> BrokerReply {
    let message = e.to_string();
    match e {
        AuthError::Refresh(RefreshError::Permanent { reason }) => {
            let code = PERMANENT_CODES
                .iter()
                .find(|c| *c == reason)
                .copied()
                .unwrap_or("refresh_token_invalidated");
            BrokerReply::error(401, code, &message)
        }
        _ => BrokerReply::error(503, "temporarily_unavailable", &message),
    }
}
