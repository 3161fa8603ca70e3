//! [`CodexHome`]: a `CODEX_HOME` folder whose `config.toml` points Codex at a
//! [`ScriptedModel`](crate::ScriptedModel) and keeps it off the network, with an
//! `auth.json` holding test credentials ([`Auth`], [`fake_jwt`]).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::model::ScriptedModel;

/// The model name written to `config.toml`. It is in Codex 0.169's bundled catalog, so
/// Codex does not emit the "Model metadata for `...` not found" `error` item that an
/// unknown name (e.g. `gpt-5.1-codex`) causes at the start of every run.
pub const DEFAULT_MODEL: &str = "gpt-5.5";

/// Feature flags that make Codex reach outside services; the kit turns them off.
/// `apps`, `browser_use`, `computer_use` as the facts file says, plus `plugins`: without
/// it Codex 0.169 tries to sync its curated plugins from GitHub and ChatGPT on every run.
pub const NETWORK_FEATURES: &[&str] = &["apps", "browser_use", "computer_use", "plugins"];

/// The credentials written to `auth.json`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Auth {
    /// `{"OPENAI_API_KEY": key}`: Codex sends `Authorization: Bearer <key>`.
    ApiKey(String),
    /// A ChatGPT login: Codex sends the access token as the bearer, plus a
    /// `chatgpt-account-id` header.
    ChatGpt {
        /// JWT whose payload carries the email, plan and account id.
        id_token: String,
        /// JWT sent as the bearer token.
        access_token: String,
        /// Opaque refresh token (never used: tokens are made to stay valid).
        refresh_token: String,
        /// The ChatGPT account id.
        account_id: String,
    },
}

impl Auth {
    /// An API key login.
    pub fn api_key(key: impl Into<String>) -> Self {
        Self::ApiKey(key.into())
    }

    /// A ChatGPT login for `account_id` with JWTs built by [`fake_jwt`] that expire in a
    /// day. `tag` goes into the tokens so different agents get distinct bearers.
    pub fn chatgpt(account_id: &str, tag: &str) -> Self {
        Self::chatgpt_expiring(account_id, tag, unix_now() + 24 * 3600)
    }

    /// As [`chatgpt`](Self::chatgpt), with tokens expiring at `exp` (seconds since the
    /// epoch) and issued ten days before, for tests of expiry and refresh.
    pub fn chatgpt_expiring(account_id: &str, tag: &str, exp: u64) -> Self {
        let iat = exp.saturating_sub(10 * 24 * 3600);
        let auth_claims = json!({
            "chatgpt_account_id": account_id,
            "chatgpt_plan_type": "pro",
            "chatgpt_user_id": format!("user-{tag}"),
        });
        let id_token = fake_jwt(&json!({
            "exp": exp,
            "iat": iat,
            "email": format!("{tag}@example.com"),
            "https://api.openai.com/auth": auth_claims,
        }));
        let access_token = fake_jwt(&json!({
            "exp": exp,
            "iat": iat,
            "sub": format!("user-{tag}"),
            "https://api.openai.com/auth": {"chatgpt_account_id": account_id},
        }));
        Self::ChatGpt {
            id_token,
            access_token,
            refresh_token: format!("rt-{tag}"),
            account_id: account_id.to_owned(),
        }
    }

    /// The bearer token Codex will send with these credentials.
    pub fn bearer(&self) -> &str {
        match self {
            Self::ApiKey(key) => key,
            Self::ChatGpt { access_token, .. } => access_token,
        }
    }

    /// The `auth.json` document.
    pub fn to_json(&self) -> Value {
        match self {
            Self::ApiKey(key) => json!({"OPENAI_API_KEY": key}),
            Self::ChatGpt {
                id_token,
                access_token,
                refresh_token,
                account_id,
            } => json!({
                "OPENAI_API_KEY": null,
                "tokens": {
                    "id_token": id_token,
                    "access_token": access_token,
                    "refresh_token": refresh_token,
                    "account_id": account_id,
                },
                "last_refresh": "2026-01-01T00:00:00Z",
            }),
        }
    }
}

/// An unsigned JWT (`alg: none`, signature `"sig"`) with these claims. Codex only decodes
/// the payload (e.g. `exp`, the `https://api.openai.com/auth` claims), never verifies it.
pub fn fake_jwt(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signature = URL_SAFE_NO_PAD.encode(b"sig");
    format!("{header}.{payload}.{signature}")
}

/// Seconds since the epoch, now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A Codex home folder wired to a scripted model. Build it, adjust it with the `with_*`
/// methods, then [`write`](Self::write) it.
#[derive(Debug, Clone)]
pub struct CodexHome {
    dir: PathBuf,
    root_url: String,
    model: String,
    auth: Auth,
    stream_idle_timeout: Option<Duration>,
    extra_toml: String,
}

impl CodexHome {
    /// A home in `dir` pointing at `model`, with an API-key login `sk-test-codex-mcp`.
    pub fn new(dir: impl Into<PathBuf>, model: &ScriptedModel) -> Self {
        Self::for_root_url(dir, &model.root_url())
    }

    /// As [`new`](Self::new), for a server at `root_url` (`http://127.0.0.1:PORT`).
    pub fn for_root_url(dir: impl Into<PathBuf>, root_url: &str) -> Self {
        Self {
            dir: dir.into(),
            root_url: root_url.trim_end_matches('/').to_owned(),
            model: DEFAULT_MODEL.to_owned(),
            auth: Auth::api_key("sk-test-codex-mcp"),
            stream_idle_timeout: None,
            extra_toml: String::new(),
        }
    }

    /// Uses these credentials.
    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Uses this model name.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Sets the provider's `stream_idle_timeout_ms` (Codex's default is 300 s), so a test
    /// of a hanging model ends quickly.
    pub fn with_stream_idle_timeout(mut self, timeout: Duration) -> Self {
        self.stream_idle_timeout = Some(timeout);
        self
    }

    /// Appends raw TOML to `config.toml` (top-level keys must come before any table: use
    /// a `[table]` header or dotted keys).
    pub fn with_extra_toml(mut self, toml: &str) -> Self {
        self.extra_toml.push_str(toml);
        self.extra_toml.push('\n');
        self
    }

    /// The folder to pass as `CODEX_HOME`.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The credentials written to `auth.json`.
    pub fn auth(&self) -> &Auth {
        &self.auth
    }

    /// The bearer token Codex will send.
    pub fn bearer(&self) -> &str {
        self.auth.bearer()
    }

    /// The `config.toml` text.
    pub fn config_toml(&self) -> String {
        let root = &self.root_url;
        let mut toml = format!(
            "# Written by codex-mcp-testkit: every request goes to the scripted model.\n\
             model = {model}\n\
             model_provider = \"scripted\"\n\
             chatgpt_base_url = \"{root}/backend-api/\"\n\
             \n\
             [model_providers.scripted]\n\
             name = \"scripted\"\n\
             base_url = \"{root}/v1\"\n\
             wire_api = \"responses\"\n\
             requires_openai_auth = true\n\
             request_max_retries = 0\n\
             stream_max_retries = 0\n",
            model = toml_string(&self.model),
        );
        if let Some(t) = self.stream_idle_timeout {
            toml.push_str(&format!("stream_idle_timeout_ms = {}\n", t.as_millis()));
        }
        toml.push_str("\n[analytics]\nenabled = false\n\n[features]\n");
        for feature in NETWORK_FEATURES {
            toml.push_str(&format!("{feature} = false\n"));
        }
        if !self.extra_toml.is_empty() {
            toml.push('\n');
            toml.push_str(&self.extra_toml);
        }
        toml
    }

    /// Creates the folder and writes `config.toml` and `auth.json`.
    pub fn write(&self) -> Result<()> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("creating CODEX_HOME {}", self.dir.display()))?;
        let config = self.dir.join("config.toml");
        fs::write(&config, self.config_toml())
            .with_context(|| format!("writing {}", config.display()))?;
        let auth = self.dir.join("auth.json");
        fs::write(&auth, self.auth.to_json().to_string())
            .with_context(|| format!("writing {}", auth.display()))?;
        Ok(())
    }

    /// The argv flags that keep Codex off the network even if `config.toml` is replaced:
    /// `--disable` for each of [`NETWORK_FEATURES`], analytics off, and the ChatGPT
    /// backend pointed at the scripted server. Valid for `codex exec` and
    /// `codex exec resume`.
    pub fn offline_args(&self) -> Vec<String> {
        offline_args(&self.root_url)
    }

    /// A `codex` command with `CODEX_HOME` set to this home, the variables that would
    /// override its credentials or logging removed (`OPENAI_API_KEY`, `CODEX_API_KEY`,
    /// `RUST_LOG`), `LC_ALL=C.UTF-8` (the shell's error messages that tests read, such as
    /// "Read-only file system", stay English on a machine with another locale), and killed
    /// when dropped. Add the subcommand and flags.
    pub fn command(&self, codex_bin: &Path) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(codex_bin);
        cmd.env("CODEX_HOME", &self.dir)
            .env_remove("OPENAI_API_KEY")
            .env_remove("CODEX_API_KEY")
            .env_remove("OPENAI_BASE_URL")
            .env_remove("RUST_LOG")
            .env("LC_ALL", "C.UTF-8")
            .kill_on_drop(true);
        cmd
    }
}

/// See [`CodexHome::offline_args`]; `root_url` is `http://127.0.0.1:PORT`.
pub fn offline_args(root_url: &str) -> Vec<String> {
    let root = root_url.trim_end_matches('/');
    let mut args = Vec::new();
    for feature in NETWORK_FEATURES {
        args.push("--disable".to_owned());
        args.push((*feature).to_owned());
    }
    args.push("-c".to_owned());
    args.push("analytics.enabled=false".to_owned());
    args.push("-c".to_owned());
    args.push(format!("chatgpt_base_url=\"{root}/backend-api/\""));
    args
}

/// A TOML basic string literal.
fn toml_string(s: &str) -> String {
    // JSON string escaping is valid TOML basic-string escaping for these characters.
    Value::String(s.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_payload_round_trips() {
        let token = fake_jwt(&json!({"exp": 5, "sub": "a"}));
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let payload: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(payload, json!({"exp": 5, "sub": "a"}));
    }

    #[test]
    fn config_points_everything_at_the_server() {
        let home = CodexHome::for_root_url("/x", "http://127.0.0.1:9/")
            .with_stream_idle_timeout(Duration::from_millis(1500));
        let toml = home.config_toml();
        assert!(toml.contains("base_url = \"http://127.0.0.1:9/v1\""));
        assert!(toml.contains("chatgpt_base_url = \"http://127.0.0.1:9/backend-api/\""));
        assert!(toml.contains("stream_idle_timeout_ms = 1500"));
        assert!(toml.contains("plugins = false"));
        assert_eq!(home.bearer(), "sk-test-codex-mcp");
        let args = home.offline_args();
        assert_eq!(args.iter().filter(|a| *a == "--disable").count(), 4);
    }

    #[test]
    fn chatgpt_auth_uses_access_token_as_bearer() {
        let auth = Auth::chatgpt("acct-1", "alice");
        let doc = auth.to_json();
        assert_eq!(doc["tokens"]["access_token"], auth.bearer());
        assert_eq!(doc["tokens"]["account_id"], "acct-1");
        assert!(doc["OPENAI_API_KEY"].is_null());
    }
}
