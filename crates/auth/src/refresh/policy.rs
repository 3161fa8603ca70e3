//! When to refresh, and the knobs that decide it.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::upstream::{CODEX_CLIENT_ID, DEFAULT_TOKEN_URL};
use crate::credentials::Credentials;

/// Codex's own staleness rule when an access token has no readable expiry.
const CODEX_REFRESH_INTERVAL: Duration = Duration::from_secs(8 * 24 * 3600);

/// How and when the server refreshes.
#[derive(Debug, Clone)]
pub struct RefreshConfig {
    /// The OAuth token endpoint (tests point it at a loopback server).
    pub token_url: String,
    /// OAuth client id sent with the refresh.
    pub client_id: String,
    /// Refresh once less than this remains before the access token expires (capped at
    /// half the token's lifetime). Generous by default so no agent's turn outlives the
    /// token it was started with, and so the server always refreshes before the host's
    /// Codex would (Codex waits until the token has expired).
    pub margin: Duration,
    /// Timeout of one request to the token endpoint.
    pub request_timeout: Duration,
    /// After a transient failure, callers get that failure for this long instead of
    /// each sending a request of their own.
    pub failure_backoff: Duration,
    /// Longest wait for another process's refresh of the same login.
    pub lock_timeout: Duration,
    /// An agent reporting a rejected token forces a refresh only if the current tokens
    /// are older than this (many agents hit by the same revocation cause one refresh).
    pub min_forced_interval: Duration,
}

impl Default for RefreshConfig {
    fn default() -> Self {
        Self {
            token_url: DEFAULT_TOKEN_URL.to_string(),
            client_id: CODEX_CLIENT_ID.to_string(),
            margin: Duration::from_secs(2 * 3600),
            request_timeout: Duration::from_secs(30),
            failure_backoff: Duration::from_secs(30),
            lock_timeout: Duration::from_secs(45),
            min_forced_interval: Duration::from_secs(30),
        }
    }
}

impl RefreshConfig {
    /// Defaults, with the endpoint taken from `CODEX_REFRESH_TOKEN_URL_OVERRIDE` as Codex
    /// itself does.
    pub fn from_process_env() -> Self {
        let mut config = Self::default();
        if let Ok(url) = std::env::var("CODEX_REFRESH_TOKEN_URL_OVERRIDE")
            && !url.trim().is_empty()
        {
            config.token_url = url.trim().to_string();
        }
        config
    }
}

/// Whether `c` should be refreshed now under `config`: within the margin of the access
/// token's expiry (the margin capped at half the token's lifetime, so short-lived tokens
/// are not refreshed continuously), or, when the expiry is unreadable, by Codex's own
/// rule of eight days since `last_refresh`.
pub(crate) fn is_due(config: &RefreshConfig, c: &Credentials, now: DateTime<Utc>) -> bool {
    let Some(login) = c.chatgpt() else {
        return false;
    };
    let margin = i64::try_from(config.margin.as_secs()).unwrap_or(i64::MAX);
    match login.tokens.expires_at() {
        Some(exp) => {
            let lifetime = login
                .tokens
                .access_claims
                .as_ref()
                .ok()
                .and_then(|c| c.issued_at)
                .map(|iat| exp - iat)
                .filter(|l| *l > 0);
            let margin = lifetime.map_or(margin, |l| margin.min(l / 2));
            exp - now.timestamp() <= margin
        }
        None => login.last_refresh.is_some_and(|last| {
            let interval = chrono::Duration::from_std(CODEX_REFRESH_INTERVAL).unwrap_or_default();
            now - last >= interval - chrono::Duration::seconds(margin.min(86_400))
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{DetectInputs, detect_at};
    use crate::jwt::unsigned_jwt;
    use crate::secret::Secret;

    fn creds(now: DateTime<Utc>, expires_in: i64, lifetime: i64) -> Credentials {
        let exp = now.timestamp() + expires_in;
        let token = unsigned_jwt(&serde_json::json!({"exp": exp, "iat": exp - lifetime}));
        let inputs = DetectInputs {
            chatgpt_oauth_token: Some(Secret::new(token)),
            ..Default::default()
        };
        detect_at(&inputs, now).credentials.unwrap()
    }

    #[test]
    fn margin_is_capped_by_half_the_lifetime() {
        let now = Utc::now();
        let config = RefreshConfig::default(); // 2 h margin
        let ten_days = 10 * 24 * 3600;
        assert!(!is_due(&config, &creds(now, 3 * 3600, ten_days), now));
        assert!(is_due(&config, &creds(now, 3600, ten_days), now));
        assert!(is_due(&config, &creds(now, -5, ten_days), now));
        // A one-hour token is refreshed in its last half hour, not all the time.
        assert!(!is_due(&config, &creds(now, 40 * 60, 3600), now));
        assert!(is_due(&config, &creds(now, 20 * 60, 3600), now));
    }
}
