//! Support for the end-to-end tests in `tests/`: locating and running the `mcpd` binary
//! and talking MCP to it over plain HTTP; [`Setup`] (an `mcpd` with the real Codex and a
//! scripted model on either runtime) and [`docker`] (the tests' slice of the engine).

pub mod bench;
pub mod bench_loop;
pub mod compose;
pub mod dashboard_feed;
pub mod direct;
pub mod docker;
pub mod docker_proxy;
pub mod engine_exec;
pub mod faults;
pub mod jobs;
pub mod kubernetes;
mod legacy_client;
pub mod process_stats;
pub mod scripted;
pub mod setup;
pub mod stdio_client;
pub mod task_clients;
pub mod tokens;

pub use legacy_client::SseEvents;
pub use setup::{Runtime, Setup};

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

/// Path of the `mcpd` binary built beside the running test (`target/<profile>/mcpd`),
/// or `MCPD_BIN` when set.
pub fn mcpd_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("MCPD_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/deps/<test> -> target/<profile>/mcpd
    exe.parent()
        .and_then(|d| d.parent())
        .map(|d| d.join("mcpd"))
        .unwrap_or_else(|| PathBuf::from("mcpd"))
}

/// Runs `mcpd ARGS` to completion with `env` (and a free listen address, in case it
/// serves), outside any test's environment variables that mcpd reads; gives up after
/// `timeout`. Returns its exit code (`None` when it was killed) and its stdout + stderr.
pub async fn run_mcpd(
    args: &[&str],
    env: &[(&str, String)],
    timeout: Duration,
) -> anyhow::Result<(Option<i32>, String)> {
    let mut cmd = tokio::process::Command::new(mcpd_bin());
    without_shell_settings(&mut cmd)
        .args(args)
        .env("MCPD_LISTEN", "127.0.0.1:0")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(timeout, cmd.output()).await??;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((out.status.code(), text))
}

/// Prefixes of the environment variables `mcpd` reads as settings (`mcpd config --list`)
/// or Codex reads from its environment.
const SHELL_SETTING_PREFIXES: &[&str] = &["MCPD_", "CODEX_", "OPENAI_", "OAUTH_", "CONTAINER_"];

/// The other settings `mcpd` reads, plus `RUST_LOG` and the Windows home.
const SHELL_SETTING_NAMES: &[&str] = &[
    "CHATGPT_OAUTH_TOKEN",
    "MAX_CONCURRENT_SESSIONS",
    "SESSION_TIMEOUT",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "PERSISTENT_MODE",
    "RUST_LOG",
    "USERPROFILE",
];

/// True for a variable a test's `mcpd` must not inherit from the shell running the tests:
/// a developer's `LOG_LEVEL=warn` (no "mcpd listening" line), `CODEX_MCP_RUNTIME=docker`
/// or `OPENAI_API_KEY` would otherwise change results. Each test sets what it needs.
pub fn is_shell_setting(name: &str) -> bool {
    SHELL_SETTING_PREFIXES.iter().any(|p| name.starts_with(p))
        || SHELL_SETTING_NAMES.contains(&name)
}

/// Removes from `cmd` every inherited variable [`is_shell_setting`] names; set the test's
/// own settings after this.
pub fn without_shell_settings(cmd: &mut tokio::process::Command) -> &mut tokio::process::Command {
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_shell_setting) {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// `http://HOST:PORT` from mcpd's "mcpd listening: streamable HTTP at http://HOST:PORT/mcp"
/// log line: how a test learns the port of an mcpd told to listen on `127.0.0.1:0` (a port
/// picked in advance could be taken by another test before mcpd binds it).
pub fn listening_at(log: &str) -> Option<String> {
    let line = log.lines().find(|l| l.contains("mcpd listening"))?;
    let start = line.find("http://")?;
    let rest = &line[start..];
    let end = rest.find("/mcp")?;
    Some(rest[..end].to_string())
}

/// A running `mcpd`, killed on drop.
pub struct Mcpd {
    child: tokio::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub(crate) http: reqwest::Client,
    stderr_path: PathBuf,
}

impl Mcpd {
    /// Starts `mcpd` with `env` and waits until `/health` answers. It listens on a free
    /// port of 127.0.0.1 unless `env` sets `MCPD_LISTEN`.
    pub async fn start(env: &[(&str, String)], log_dir: &std::path::Path) -> anyhow::Result<Self> {
        // Without a fixed address mcpd binds port 0 and the log says which port it got:
        // no window in which another test can take a port picked in advance.
        let listen = env
            .iter()
            .find(|(k, _)| *k == "MCPD_LISTEN")
            .map_or_else(|| "127.0.0.1:0".to_string(), |(_, v)| v.clone());
        static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stderr_path = log_dir.join(format!("mcpd-{}-{n}.log", std::process::id()));
        let stderr = std::fs::File::create(&stderr_path)?;
        let mut cmd = tokio::process::Command::new(mcpd_bin());
        without_shell_settings(&mut cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.env("MCPD_LISTEN", &listen);
        let mut child = cmd.spawn()?;
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        let log = || std::fs::read_to_string(&stderr_path).unwrap_or_default();
        let base = loop {
            if let Some(base) = listening_at(&log()) {
                break base;
            }
            if let Some(status) = child.try_wait()? {
                anyhow::bail!("mcpd exited with {status} before listening: {}", log());
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("mcpd never said where it listens: {}", log());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        loop {
            if http
                .get(format!("{base}/health"))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("mcpd did not answer {base}/health: {}", log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Self {
            child,
            base,
            http,
            stderr_path,
        })
    }

    /// What mcpd logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The child's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Stops mcpd with SIGTERM (a graceful shutdown) and waits until it has exited.
    pub async fn terminate(&mut self) -> anyhow::Result<std::process::ExitStatus> {
        let pid = self
            .pid()
            .ok_or_else(|| anyhow::anyhow!("mcpd already exited"))?;
        let sent = tokio::process::Command::new("kill")
            .args(["-s", "TERM", &pid.to_string()])
            .status()
            .await?;
        anyhow::ensure!(sent.success(), "kill -TERM {pid} failed");
        Ok(tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await??)
    }

    /// Kills mcpd with SIGKILL (no shutdown of any kind) and waits until it is gone.
    pub async fn kill(&mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }

    /// A stateless (2026-07-28) `tools/call`; returns the JSON-RPC `result`.
    pub async fn call_tool(&self, name: &str, arguments: Value) -> anyhow::Result<Value> {
        self.call_tool_with(name, arguments, None).await
    }

    /// Like [`Mcpd::call_tool`], with an `X-Agent-Id` header.
    pub async fn call_tool_with(
        &self,
        name: &str,
        arguments: Value,
        agent: Option<&str>,
    ) -> anyhow::Result<Value> {
        self.call_tool_via(&self.http, name, arguments, agent).await
    }

    /// Like [`Mcpd::call_tool_with`], over the caller's own HTTP client (its own
    /// connections, e.g. to count mcpd's file descriptors once they are closed).
    pub async fn call_tool_via(
        &self,
        http: &reqwest::Client,
        name: &str,
        arguments: Value,
        agent: Option<&str>,
    ) -> anyhow::Result<Value> {
        let mut req = self.tool_call(http, name, arguments);
        if let Some(a) = agent {
            req = req.header("x-agent-id", a);
        }
        Self::tool_result(name, req).await
    }

    /// Like [`Mcpd::call_tool`], with `Authorization: Bearer <token>`.
    pub async fn call_tool_as(
        &self,
        token: &str,
        name: &str,
        arguments: Value,
    ) -> anyhow::Result<Value> {
        let req = self
            .tool_call(&self.http, name, arguments)
            .bearer_auth(token);
        Self::tool_result(name, req).await
    }

    /// A stateless (2026-07-28) `tools/call` request, ready to send.
    fn tool_call(
        &self,
        http: &reqwest::Client,
        name: &str,
        arguments: Value,
    ) -> reqwest::RequestBuilder {
        let body = json!({
            "jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {
                "name": name, "arguments": arguments,
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities": {}
                }
            }
        });
        http.post(format!("{}/mcp", self.base))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", name)
            .timeout(Duration::from_secs(120))
            .body(body.to_string())
    }

    /// Sends a `tools/call` and returns its JSON-RPC `result`.
    async fn tool_result(name: &str, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let text = req.send().await?.text().await?;
        let message = last_message(&text)?;
        match message.get("result") {
            Some(r) => Ok(r.clone()),
            None => anyhow::bail!("tools/call {name} failed: {message}"),
        }
    }

    /// Any stateless (2026-07-28) request on `/mcp`, as `token` when given; returns the
    /// whole JSON-RPC answer (`result` or `error`).
    pub async fn rpc(
        &self,
        method: &str,
        params: Value,
        token: Option<&str>,
    ) -> anyhow::Result<Value> {
        let mut params = params;
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {}
        });
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let mut req = self
            .http
            .post(format!("{}/mcp", self.base))
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method)
            .timeout(Duration::from_secs(120));
        if let Some(uri) = params.get("uri").and_then(Value::as_str) {
            req = req.header("mcp-name", uri);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let text = req.body(body.to_string()).send().await?.text().await?;
        last_message(&text)
    }

    /// A stateless `tools/list`.
    pub async fn list_tools(&self) -> anyhow::Result<Vec<Value>> {
        let body = json!({
            "jsonrpc": "2.0", "id": 1, "method": "tools/list",
            "params": { "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {}
            }}
        });
        let text = self
            .http
            .post(format!("{}/mcp", self.base))
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/list")
            .body(body.to_string())
            .send()
            .await?
            .text()
            .await?;
        let message = last_message(&text)?;
        Ok(message
            .pointer("/result/tools")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default())
    }
}

/// Runs `mcpd agents <args>` with `env`; returns (exit code, stdout, stderr).
pub async fn mcpd_agents(
    env: &[(&'static str, String)],
    args: &[&str],
) -> (Option<i32>, String, String) {
    let out = without_shell_settings(&mut tokio::process::Command::new(mcpd_bin()))
        .arg("agents")
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(std::process::Stdio::null())
        .output()
        .await;
    match out {
        Ok(out) => (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ),
        Err(e) => (None, String::new(), format!("cannot run mcpd agents: {e}")),
    }
}

/// The last JSON-RPC message of a JSON or SSE body.
pub fn last_message(body: &str) -> anyhow::Result<Value> {
    if let Ok(v) = serde_json::from_str::<Value>(body) {
        return Ok(v);
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .next_back()
        .ok_or_else(|| anyhow::anyhow!("no JSON-RPC message in body: {body}"))
}

/// A stand-in for Codex that answers every run at once with a valid `chat` result
/// (10 input and 2 output tokens, a thread of its own named after its pid), so that
/// hundreds of calls cost milliseconds each. A prompt containing `SLOW` makes it take
/// 3 s first, which keeps a call running for tests that need one. `--version` answers
/// like the pinned Codex (mcpd asks at startup).
pub const FAKE_CHAT_CODEX: &str = r#"#!/bin/sh
if [ "$1" = "--version" ]; then echo 'codex-cli 0.169.0'; exit 0; fi
prompt=$(cat)
case "$prompt" in *SLOW*) sleep 3 ;; esac
echo "{\"type\":\"thread.started\",\"thread_id\":\"fake-thread-$$\"}"
echo '{"type":"turn.started"}'
echo '{"type":"item.completed","item":{"id":"item_0","type":"agent_message","text":"{\"reply\":\"ok\",\"follow_up_suggestions\":[],\"referenced_files\":[]}"}}'
echo '{"type":"turn.completed","usage":{"input_tokens":10,"cached_input_tokens":0,"output_tokens":2}}'
"#;

/// Writes [`FAKE_CHAT_CODEX`] as an executable `codex` in `dir` and returns its path.
pub fn install_fake_codex(dir: &std::path::Path) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join("codex");
    std::fs::write(&path, FAKE_CHAT_CODEX)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(path)
}

/// Settings for an mcpd on the local runtime with Codex at `codex`, data in `data`, a
/// fake API key and no ChatGPT login; `extra` entries replace or add settings.
pub fn local_env(
    codex: &std::path::Path,
    data: &std::path::Path,
    extra: &[(&'static str, String)],
) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("CODEX_MCP_RUNTIME", "local".to_string()),
        ("CODEX_BIN", codex.display().to_string()),
        ("CODEX_MCP_DATA_DIR", data.display().to_string()),
        ("OPENAI_API_KEY", "sk-e2e-test-key".to_string()),
        (
            "CODEX_AUTH_DIR",
            data.with_extension("no-login").display().to_string(),
        ),
    ];
    for (k, v) in extra {
        env.retain(|(name, _)| name != k);
        env.push((k, v.clone()));
    }
    env
}

/// The text of a tool result that must be an error (`isError: true`); panics otherwise.
pub fn error_text(result: &Value) -> String {
    assert_eq!(
        result.get("isError"),
        Some(&json!(true)),
        "expected an error result: {result}"
    );
    result
        .pointer("/content/0/text")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}
