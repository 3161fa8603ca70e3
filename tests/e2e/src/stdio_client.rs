//! `mcpd serve --stdio` driven the way an MCP client that launches it does.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::{mcpd_bin, without_shell_settings};

/// `mcpd serve --stdio` run by a test as an MCP client runs it: JSON-RPC lines on its
/// stdin and stdout, stderr to a file.
pub struct StdioMcpd {
    /// The process.
    pub child: Child,
    /// Its stdin: one JSON-RPC message per line.
    pub stdin: tokio::process::ChildStdin,
    /// Its stdout, by line.
    pub stdout: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    /// The file its stderr goes to.
    pub stderr: std::path::PathBuf,
    next_id: u64,
}

impl StdioMcpd {
    /// Starts it with `env` (inherited settings removed) and initializes a session.
    pub async fn start(env: &[(&str, String)], stderr: std::path::PathBuf) -> Self {
        Self::start_with(env, stderr, &[]).await
    }

    /// [`Self::start`] with more arguments after `serve --stdio`.
    pub async fn start_with(
        env: &[(&str, String)],
        stderr: std::path::PathBuf,
        args: &[&str],
    ) -> Self {
        Self::launch(env, stderr, args, "2025-06-18").await
    }

    /// [`Self::start`] negotiating protocol `version` (2025-11-25 for tasks).
    pub async fn start_version(
        env: &[(&str, String)],
        stderr: std::path::PathBuf,
        version: &str,
    ) -> Self {
        Self::launch(env, stderr, &[], version).await
    }

    async fn launch(
        env: &[(&str, String)],
        stderr: std::path::PathBuf,
        args: &[&str],
        version: &str,
    ) -> Self {
        let mut cmd = Command::new(mcpd_bin());
        without_shell_settings(&mut cmd)
            .args(["serve", "--stdio"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(
                std::fs::File::create(&stderr)
                    .unwrap_or_else(|e| panic!("create {}: {e}", stderr.display())),
            ))
            .kill_on_drop(true);
        for (k, v) in env.iter().filter(|(k, _)| *k != "MCPD_LISTEN") {
            cmd.env(k, v);
        }
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn mcpd serve --stdio: {e}"));
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            panic!("mcpd serve --stdio without piped stdin and stdout");
        };
        let mut client = Self {
            stdin,
            stdout: BufReader::new(stdout).lines(),
            child,
            stderr,
            next_id: 0,
        };
        let init = client
            .request(
                "initialize",
                json!({"protocolVersion": version, "capabilities": {},
                       "clientInfo": {"name": "e2e-stdio", "version": "0"}}),
            )
            .await;
        assert_eq!(
            init["result"]["serverInfo"]["name"],
            json!("mcpd"),
            "{init}\n{}",
            client.log()
        );
        client
            .send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        client
    }

    /// Writes one message line.
    pub async fn send(&mut self, message: &Value) {
        let line = format!("{message}\n");
        let written = async {
            self.stdin.write_all(line.as_bytes()).await?;
            self.stdin.flush().await
        };
        if let Err(e) = written.await {
            panic!("write to mcpd's stdin: {e}: {}", self.log());
        }
    }

    /// Sends a request and returns its response, skipping notifications.
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        loop {
            let message = self.next_message().await;
            if message["id"] == json!(id) {
                return message;
            }
        }
    }

    /// The next message on stdout (a response or a notification), within 120 s.
    pub async fn next_message(&mut self) -> Value {
        let line =
            match tokio::time::timeout(Duration::from_secs(120), self.stdout.next_line()).await {
                Ok(Ok(Some(line))) => line,
                Ok(Ok(None)) => panic!("mcpd's stdout closed: {}", self.log()),
                Ok(Err(e)) => panic!("read mcpd's stdout: {e}: {}", self.log()),
                Err(_) => panic!("nothing on mcpd's stdout within 120 s: {}", self.log()),
            };
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON on stdout: {line:?}: {e}"))
    }

    /// What it logged on stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}
