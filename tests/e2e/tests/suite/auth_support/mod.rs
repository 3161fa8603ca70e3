//! A world for the credential tests: a scripted model, the real Codex, a fake home and a
//! data folder, and `mcpd` started over them with the local runtime.

use std::path::{Path, PathBuf};

use codex_mcp_e2e::{Mcpd, mcpd_bin, without_shell_settings};
use codex_mcp_testkit::{Auth, CodexHome, Reply, ScriptedModel, codex_bin_or_skip, temp_dir};
use serde_json::{Value, json};

/// The chat tool's answer every scripted reply gives.
pub fn chat_reply(text: &str) -> Reply {
    Reply::json(json!({"reply": text, "follow_up_suggestions": [], "referenced_files": []}))
}

/// One test's surroundings. Files live under one temporary folder, removed on drop.
pub struct World {
    pub model: ScriptedModel,
    pub codex: PathBuf,
    dir: tempfile::TempDir,
}

impl World {
    /// A world whose model answers every chat; `None` when Codex is missing outside CI.
    pub async fn new() -> Option<Self> {
        Self::with_codex_toml("").await
    }

    /// As [`World::new`], with extra TOML in the agents' Codex `config.toml`.
    pub async fn with_codex_toml(extra: &str) -> Option<Self> {
        let codex = codex_bin_or_skip()?;
        let model = ScriptedModel::start().await.unwrap();
        model.set_fallback(chat_reply("ok"));
        let dir = temp_dir("e2e-auth").unwrap();
        let home = CodexHome::new(dir.path().join("unused-codex-home"), &model);
        let home = if extra.is_empty() {
            home
        } else {
            home.with_extra_toml(extra)
        };
        std::fs::write(dir.path().join("codex-config.toml"), home.config_toml()).unwrap();
        for sub in ["home", "data"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        Some(Self { model, codex, dir })
    }

    /// The folder of this world.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The bearer token of every model turn so far, in order.
    pub fn bearers(&self) -> Vec<Option<String>> {
        self.model
            .responses_requests()
            .iter()
            .map(|r| r.bearer().map(String::from))
            .collect()
    }

    /// `HOME` of the server.
    pub fn home(&self) -> PathBuf {
        self.path().join("home")
    }

    /// The host's Codex login, `~/.codex/auth.json`.
    pub fn home_auth(&self) -> PathBuf {
        self.home().join(".codex/auth.json")
    }

    /// A folder for `CODEX_AUTH_DIR`.
    pub fn auth_dir(&self) -> PathBuf {
        self.path().join("auth-dir")
    }

    /// An agent's injected auth.json.
    pub fn agent_auth(&self, agent: &str) -> PathBuf {
        self.path()
            .join("data/agents")
            .join(agent)
            .join("codex-home/auth.json")
    }

    /// The server's environment: local runtime, the real Codex, debug logging, `extra`.
    pub fn env(&self, extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
        let p = |sub: &str| self.path().join(sub).display().to_string();
        let mut env = vec![
            ("CODEX_MCP_RUNTIME", "local".to_string()),
            ("CODEX_BIN", self.codex.display().to_string()),
            ("CODEX_MCP_DATA_DIR", p("data")),
            ("CODEX_MCP_CODEX_CONFIG", p("codex-config.toml")),
            ("HOME", p("home")),
            ("LOG_LEVEL", "debug".to_string()),
        ];
        env.extend(extra.iter().cloned());
        env
    }

    /// Starts `mcpd` with [`World::env`].
    pub async fn mcpd(&self, extra: &[(&'static str, String)]) -> Mcpd {
        Mcpd::start(&self.env(extra), self.path()).await.unwrap()
    }

    /// `mcpd ARGS` with [`World::env`] and no inherited settings.
    pub fn command(
        &self,
        args: &[&str],
        extra: &[(&'static str, String)],
    ) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(mcpd_bin());
        without_shell_settings(&mut cmd)
            .args(args)
            .envs(self.env(extra))
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Runs `mcpd auth status --json`: exit code, the status, stderr.
    pub async fn auth_status(&self, extra: &[(&'static str, String)]) -> (i32, Value, String) {
        let out = self
            .command(&["auth", "status", "--json"], extra)
            .output()
            .await
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let status = serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("auth status printed no JSON ({e}): {stdout}"));
        (
            out.status.code().unwrap_or(-1),
            status,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Writes `auth` as an auth.json at `path`, creating folders.
pub fn write_auth(path: &Path, auth: &Auth) {
    write_file(path, &auth.to_json().to_string());
}

/// Writes `text` at `path`, creating folders.
pub fn write_file(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Every secret of a login (whole tokens and each JWT part long enough to matter).
pub fn secrets_of(auth: &Auth) -> Vec<String> {
    let mut out = Vec::new();
    match auth {
        Auth::ApiKey(key) => out.push(key.clone()),
        Auth::ChatGpt {
            id_token,
            access_token,
            refresh_token,
            ..
        } => {
            for token in [id_token, access_token] {
                out.push(token.clone());
                out.extend(token.split('.').filter(|p| p.len() > 8).map(String::from));
            }
            out.push(refresh_token.clone());
        }
    }
    out
}

/// Panics naming `place` if any of `secrets` occurs in `text`.
pub fn assert_no_secret(place: &str, text: &str, secrets: &[String]) {
    for s in secrets {
        assert!(
            !text.contains(s.as_str()),
            "{place} contains a secret ({} chars): {text}",
            s.len()
        );
    }
}

/// A chat call as `agent`; returns the tool result.
pub async fn chat(mcpd: &Mcpd, agent: &str) -> Value {
    mcpd.call_tool_with("chat", json!({"message": "hello"}), Some(agent))
        .await
        .unwrap()
}

/// Runs `run` on every case at once, each in a task of its own; returns the failures'
/// descriptions (empty when all passed).
pub async fn failures<C, F, Fut>(cases: Vec<C>, run: F) -> Vec<String>
where
    C: Send + 'static,
    F: Fn(C) -> Fut,
    Fut: std::future::Future<Output = Option<String>> + Send + 'static,
{
    let tasks: Vec<_> = cases.into_iter().map(|c| tokio::spawn(run(c))).collect();
    let mut out = Vec::new();
    for task in tasks {
        out.extend(task.await.unwrap());
    }
    out
}

/// `health_check`'s `credentials` object.
pub async fn health_credentials(mcpd: &Mcpd) -> Value {
    let result = mcpd.call_tool("health_check", json!({})).await.unwrap();
    result
        .pointer("/structuredContent/credentials")
        .cloned()
        .unwrap_or_else(|| panic!("no credentials in health_check: {result}"))
}

/// `GET /health` as text.
pub async fn health_text(mcpd: &Mcpd) -> String {
    reqwest::get(format!("{}/health", mcpd.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}
