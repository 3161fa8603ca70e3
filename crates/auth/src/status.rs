//! The one status shape behind `mcpd auth status`, the `health_check` tool and `/health`.
//!
//! It carries facts about the credentials and never the credentials: no field is built
//! from a token or key, only from claims (the email masked) and paths.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::authfile::rfc3339;
use crate::credentials::{Credentials, Login};
use crate::detect::{Detection, NO_CREDENTIALS_MESSAGE};
use crate::secret::mask_email;

/// The kind of credential agents are given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// An OpenAI API key.
    ApiKey,
    /// A ChatGPT subscription login.
    Chatgpt,
    /// Nothing usable.
    None,
}

/// What the server knows about its credentials, safe to print and to serve.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthStatus {
    /// Which kind of credential is in use.
    pub method: AuthMethod,
    /// Where it came from: an auth.json path or `env:NAME`.
    pub source: Option<String>,
    /// Whether an agent call can be served with these credentials now (possibly after a
    /// refresh the server will do itself).
    pub ready: bool,
    /// Seconds until the access token expires; negative once it has.
    pub expires_in_secs: Option<i64>,
    /// When the access token expires (RFC 3339).
    pub expires_at: Option<String>,
    /// When the login was last refreshed, as recorded in auth.json.
    pub last_refresh: Option<String>,
    /// Whether the server can renew the login itself.
    pub refreshable: bool,
    /// ChatGPT plan (free, plus, pro, team, ...).
    pub plan: Option<String>,
    /// The account's email, partially masked.
    pub account: Option<String>,
    /// Everything a person should know or fix, as sentences.
    pub problems: Vec<String>,
}

impl AuthStatus {
    /// The status when nothing was found: the two ways to fix it come first.
    pub fn none(problems: Vec<String>) -> Self {
        let mut problems = problems;
        if problems.is_empty() {
            problems.push(NO_CREDENTIALS_MESSAGE.to_string());
        }
        Self {
            method: AuthMethod::None,
            source: None,
            ready: false,
            expires_in_secs: None,
            expires_at: None,
            last_refresh: None,
            refreshable: false,
            plan: None,
            account: None,
            problems,
        }
    }

    /// A sentence for a tool error when the credentials cannot serve a call, or `None`
    /// when they can.
    pub fn unusable_reason(&self) -> Option<String> {
        if self.ready {
            return None;
        }
        Some(
            self.problems
                .first()
                .cloned()
                .unwrap_or_else(|| NO_CREDENTIALS_MESSAGE.to_string()),
        )
    }
}

impl Detection {
    /// The status of this detection as of now.
    pub fn status(&self) -> AuthStatus {
        self.status_at(Utc::now())
    }

    /// The status of this detection as of `now`.
    pub fn status_at(&self, now: DateTime<Utc>) -> AuthStatus {
        match &self.credentials {
            None => AuthStatus::none(self.problems.clone()),
            Some(c) => {
                let mut status = c.status_at(now);
                let mut problems = self.problems.clone();
                problems.append(&mut status.problems);
                status.problems = problems;
                status
            }
        }
    }
}

impl Credentials {
    /// The status of these credentials alone as of `now`.
    pub fn status_at(&self, now: DateTime<Utc>) -> AuthStatus {
        let source = Some(self.source.to_string());
        let login = match &self.login {
            Login::ApiKey(_) => {
                return AuthStatus {
                    method: AuthMethod::ApiKey,
                    source,
                    ready: true,
                    expires_in_secs: None,
                    expires_at: None,
                    last_refresh: None,
                    refreshable: false,
                    plan: None,
                    account: None,
                    problems: Vec::new(),
                };
            }
            Login::ChatGpt(login) => login,
        };
        let tokens = &login.tokens;
        let refreshable = self.can_refresh();
        let exp = tokens.expires_at();
        let expires_in = exp.map(|e| e - now.timestamp());
        let expired = expires_in.is_some_and(|s| s <= 0);
        let mut problems = Vec::new();
        if let Err(e) = &tokens.access_claims {
            problems.push(format!(
                "The access token from {} {e}; its expiry is unknown.",
                self.source
            ));
        }
        if let Some(secs) = expires_in.filter(|_| expired) {
            let ago = human_duration(-secs);
            problems.push(if refreshable {
                format!(
                    "The ChatGPT access token from {} expired {ago} ago; the server refreshes it before the next call.",
                    self.source
                )
            } else {
                format!(
                    "The ChatGPT access token from {} expired {ago} ago and cannot be refreshed; run `codex login` on the host to sign in again.",
                    self.source
                )
            });
        } else if login.file.is_some() && tokens.refresh_token.is_none() {
            problems.push(format!(
                "{} has no refresh token, so this login stops working when its access token expires.",
                self.source
            ));
        }
        AuthStatus {
            method: AuthMethod::Chatgpt,
            source,
            ready: !expired || refreshable,
            expires_in_secs: expires_in,
            expires_at: exp
                .and_then(|e| DateTime::<Utc>::from_timestamp(e, 0))
                .map(rfc3339),
            last_refresh: login.last_refresh.map(rfc3339),
            refreshable,
            plan: tokens.plan().map(str::to_string),
            account: tokens.email().map(mask_email),
            problems,
        }
    }
}

/// "3 d 4 h", "2 h 5 min", "40 s": precise enough for a person deciding whether to act.
pub fn human_duration(secs: i64) -> String {
    let secs = secs.max(0);
    let (d, h, m) = (secs / 86_400, secs % 86_400 / 3600, secs % 3600 / 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{secs} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

impl fmt::Display for AuthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method = match self.method {
            AuthMethod::ApiKey => "API key",
            AuthMethod::Chatgpt => "ChatGPT login",
            AuthMethod::None => "none",
        };
        write!(f, "method:  {method}")?;
        let details: Vec<String> = [
            self.plan.as_ref().map(|p| format!("plan {p}")),
            self.account.as_ref().map(|a| format!("account {a}")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !details.is_empty() {
            write!(f, " ({})", details.join(", "))?;
        }
        writeln!(f)?;
        if let Some(source) = &self.source {
            writeln!(f, "source:  {source}")?;
        }
        if let (Some(secs), Some(at)) = (self.expires_in_secs, &self.expires_at) {
            if secs > 0 {
                writeln!(f, "expires: in {} ({at})", human_duration(secs))?;
            } else {
                writeln!(f, "expires: expired {} ago ({at})", human_duration(-secs))?;
            }
        }
        if self.method == AuthMethod::Chatgpt {
            let who = if self.refreshable {
                "by this server (single refresher for all agents and the host)"
            } else {
                "not by this server"
            };
            writeln!(f, "refresh: {who}")?;
        }
        writeln!(f, "ready:   {}", if self.ready { "yes" } else { "no" })?;
        for p in &self.problems {
            writeln!(f, "problem: {p}")?;
        }
        Ok(())
    }
}
