//! The refresh request, byte for byte what Codex 0.169 sends, and reading the answer.
//!
//! Observed from the real `codex` 0.169.0 with `CODEX_REFRESH_TOKEN_URL_OVERRIDE` pointed
//! at a loopback server: `POST` with `Content-Type: application/json` and the body
//! `{"client_id":"app_EMoamEEZ73f0CkXaXp7hrann","grant_type":"refresh_token",
//! "refresh_reason":"proactive_expiry"|"unauthorized_recovery","refresh_token":"..."}`
//! (no `scope`). The answer is `{"id_token","access_token","refresh_token"}`, each
//! optional; failures carry `{"error":{"code":"refresh_token_expired"|
//! "refresh_token_reused"|"refresh_token_invalidated"}}` or `{"error":"..."}`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::authfile::RefreshedTokens;
use crate::error::RefreshError;
use crate::secret::Secret;

/// Codex's OAuth client id, which the token endpoint expects with every refresh.
pub const CODEX_CLIENT_ID: &str = "app_EMoamEEZ73f0CkXaXp7hrann";

/// Where Codex refreshes unless `CODEX_REFRESH_TOKEN_URL_OVERRIDE` says otherwise.
pub const DEFAULT_TOKEN_URL: &str = "https://auth.openai.com/oauth/token";

/// Error codes after which the same refresh token will never work again.
pub const PERMANENT_CODES: [&str; 3] = [
    "refresh_token_expired",
    "refresh_token_reused",
    "refresh_token_invalidated",
];

/// Why a refresh is being asked for, sent as Codex does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshReason {
    /// The access token is about to expire.
    ProactiveExpiry,
    /// A request was rejected with 401.
    UnauthorizedRecovery,
}

impl RefreshReason {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ProactiveExpiry => "proactive_expiry",
            Self::UnauthorizedRecovery => "unauthorized_recovery",
        }
    }
}

/// The request body (also what the broker accepts from agents).
#[derive(Serialize, Deserialize)]
pub(crate) struct RefreshRequest {
    pub client_id: String,
    pub grant_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_reason: Option<String>,
    pub refresh_token: String,
}

#[derive(Deserialize)]
struct RefreshResponse {
    #[serde(default)]
    id_token: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
    #[serde(default)]
    refresh_token: Option<String>,
}

/// Sends one refresh request. The only place the real refresh token leaves the process.
pub(crate) async fn request(
    http: &reqwest::Client,
    url: &str,
    client_id: &str,
    refresh_token: &Secret,
    reason: RefreshReason,
) -> Result<RefreshedTokens, RefreshError> {
    let body = RefreshRequest {
        client_id: client_id.to_string(),
        grant_type: "refresh_token".to_string(),
        refresh_reason: Some(reason.as_str().to_string()),
        refresh_token: refresh_token.expose().to_string(),
    };
    let response =
        http.post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| RefreshError::Transient {
                reason: describe_transport(&e),
            })?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .map_err(|e| RefreshError::Transient {
            reason: describe_transport(&e),
        })?;
    if !status.is_success() {
        return Err(classify_failure(status.as_u16(), &bytes));
    }
    let parsed: RefreshResponse =
        serde_json::from_slice(&bytes).map_err(|_| RefreshError::Transient {
            reason: "the token endpoint answered with something that is not a token response"
                .to_string(),
        })?;
    let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty()).map(Secret::new);
    let tokens = RefreshedTokens {
        id_token: non_empty(parsed.id_token),
        access_token: non_empty(parsed.access_token),
        refresh_token: non_empty(parsed.refresh_token),
    };
    if tokens.access_token.is_none() {
        return Err(RefreshError::Transient {
            reason: "the token endpoint answered without an access token".to_string(),
        });
    }
    Ok(tokens)
}

fn describe_transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the token endpoint did not answer in time".to_string()
    } else if e.is_connect() {
        "could not connect to the token endpoint".to_string()
    } else {
        "the request to the token endpoint failed".to_string()
    }
}

/// Turns a failed answer into an error, quoting only a short error code, never the body
/// (which could echo the token).
pub(crate) fn classify_failure(status: u16, body: &[u8]) -> RefreshError {
    let code = error_code(body);
    let permanent_code = code
        .as_deref()
        .filter(|c| PERMANENT_CODES.contains(c))
        .map(str::to_string);
    let described = match &code {
        Some(c) => format!("HTTP {status}, {c}"),
        None => format!("HTTP {status}"),
    };
    if let Some(code) = permanent_code {
        RefreshError::Permanent { reason: code }
    } else if status == 401 {
        RefreshError::Permanent { reason: described }
    } else {
        RefreshError::Transient { reason: described }
    }
}

/// Error codes we are willing to repeat: the refresh-token codes Codex knows and the
/// standard OAuth ones (RFC 6749 5.2). Anything else stays unquoted, since an endpoint
/// (or a proxy in front of it) might echo the token in its "code".
const QUOTABLE_CODES: [&str; 10] = [
    "refresh_token_expired",
    "refresh_token_reused",
    "refresh_token_invalidated",
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "server_error",
    "temporarily_unavailable",
];

fn error_code(body: &[u8]) -> Option<String> {
    let value: Value = serde_json::from_slice(body).ok()?;
    let raw = match value.get("error") {
        Some(Value::Object(o)) => o.get("code").and_then(Value::as_str),
        Some(Value::String(s)) => Some(s.as_str()),
        _ => None,
    }
    .or_else(|| value.get("code").and_then(Value::as_str))?;
    let code = raw.to_ascii_lowercase();
    QUOTABLE_CODES.contains(&code.as_str()).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_like_codex() {
        let reused = br#"{"error":{"code":"refresh_token_reused","message":"rt_abc"}}"#;
        assert_eq!(
            classify_failure(400, reused),
            RefreshError::Permanent {
                reason: "refresh_token_reused".into()
            }
        );
        assert_eq!(
            classify_failure(401, b"nope"),
            RefreshError::Permanent {
                reason: "HTTP 401".into()
            }
        );
        assert_eq!(
            classify_failure(503, br#"{"error":"temporarily_unavailable"}"#),
            RefreshError::Transient {
                reason: "HTTP 503, temporarily_unavailable".into()
            }
        );
        // A code that could be a secret is not quoted.
        let echo = br#"{"error":{"code":"rt_secret-value"}}"#;
        assert_eq!(
            classify_failure(500, echo),
            RefreshError::Transient {
                reason: "HTTP 500".into()
            }
        );
    }
}
