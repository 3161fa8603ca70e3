//! Synthetic logins and a scripted OAuth token endpoint for the integration tests.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use codex_mcp_auth::jwt::unsigned_jwt;
use serde_json::{Value, json};

/// A fixed "now" for tests that compare whole statuses: 2026-01-01T00:00:00Z.
pub fn fixed_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

/// Seconds since the epoch, now.
pub fn unix_now() -> i64 {
    Utc::now().timestamp()
}

/// The facts of one synthetic ChatGPT login.
#[derive(Clone)]
pub struct Login {
    pub exp: i64,
    pub iat: i64,
    pub email: &'static str,
    pub plan: &'static str,
    pub account: &'static str,
    /// Distinguishes token generations: it is embedded in every token.
    pub tag: String,
}

impl Login {
    pub fn expiring_at(exp: i64) -> Self {
        Self {
            exp,
            iat: exp - 10 * 24 * 3600,
            email: "jonathan@example.com",
            plan: "plus",
            account: "acc-123",
            tag: "gen1".to_string(),
        }
    }

    pub fn access_token(&self) -> String {
        unsigned_jwt(&json!({
            "exp": self.exp, "iat": self.iat, "tag": format!("ACCESS-{}", self.tag),
            "https://api.openai.com/auth": {"chatgpt_account_id": self.account, "chatgpt_plan_type": self.plan}
        }))
    }

    pub fn id_token(&self) -> String {
        unsigned_jwt(&json!({
            "exp": self.exp, "iat": self.iat, "email": self.email, "tag": format!("ID-{}", self.tag),
            "https://api.openai.com/auth": {"chatgpt_account_id": self.account, "chatgpt_plan_type": self.plan}
        }))
    }

    pub fn refresh_token(&self) -> String {
        format!("rt_REFRESH-{}", self.tag)
    }

    /// The auth.json Codex writes after `codex login`, plus a field we do not know, which
    /// must survive a write-back.
    pub fn auth_json(&self) -> Value {
        json!({
            "OPENAI_API_KEY": null,
            "tokens": {
                "id_token": self.id_token(),
                "access_token": self.access_token(),
                "refresh_token": self.refresh_token(),
                "account_id": self.account,
            },
            "last_refresh": "2025-12-31T12:00:00Z",
            "future_field": {"kept": true},
        })
    }
}

pub fn write_json(path: &Path, value: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `<dir>/.codex/auth.json`.
pub fn codex_file(home: &Path) -> PathBuf {
    home.join(".codex").join("auth.json")
}

/// What the scripted endpoint answers.
#[derive(Clone)]
pub enum Script {
    /// Issue a new generation of tokens for `Login` with this tag and expiry.
    Succeed { tag: &'static str, exp: i64 },
    /// Answer with this status and body.
    Fail { status: u16, body: Value },
}

pub use codex_mcp_testkit::TokenEndpoint;

/// A scripted OAuth token endpoint on 127.0.0.1 that answers every request per `script`.
pub async fn endpoint(script: Script) -> TokenEndpoint {
    TokenEndpoint::start(move |_| match &script {
        Script::Succeed { tag, exp } => {
            let mut login = Login::expiring_at(*exp);
            login.tag = tag.to_string();
            let body = json!({
                "id_token": login.id_token(),
                "access_token": login.access_token(),
                "refresh_token": login.refresh_token(),
            });
            (200, body)
        }
        Script::Fail { status, body } => (*status, body.clone()),
    })
    .await
    .unwrap()
}

/// A refresher reading the login in `home`, refreshing at `endpoint`, minting tickets with
/// `key`.
pub fn refresher_at(
    home: &Path,
    endpoint: &TokenEndpoint,
    key: codex_mcp_auth::BrokerKey,
) -> codex_mcp_auth::TokenRefresher {
    let config = codex_mcp_auth::RefreshConfig {
        token_url: endpoint.url.clone(),
        request_timeout: std::time::Duration::from_secs(5),
        ..codex_mcp_auth::RefreshConfig::default()
    };
    let inputs = codex_mcp_auth::DetectInputs {
        home: Some(home.to_path_buf()),
        ..Default::default()
    };
    codex_mcp_auth::TokenRefresher::new(inputs, config, key).unwrap()
}
