//! The real `mcpd` binary driven by the official Rust SDK client (`rmcp`): streamable
//! HTTP and stdio, in both the handshake era (`initialize`) and the stateless era
//! (`server/discover`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use codex_mcp_e2e::{Mcpd, mcpd_bin, without_shell_settings};
use pretty_assertions::assert_eq;
use rmcp::ServiceExt as _;
use rmcp::model::{CallToolRequestParams, CallToolResult, ProtocolVersion};
use rmcp::service::{ClientLifecycleMode, ClientServiceExt as _, RoleClient, RunningService};
use rmcp::transport::{ConfigureCommandExt as _, StreamableHttpClientTransport, TokioChildProcess};
use serde_json::{Value, json};

/// Upper bound of any single client step.
const STEP: Duration = Duration::from_secs(20);

async fn within<F: std::future::Future>(what: &str, fut: F) -> F::Output {
    tokio::time::timeout(STEP, fut)
        .await
        .unwrap_or_else(|_| panic!("timed out after {STEP:?}: {what}"))
}

/// A configuration in which mcpd considers itself healthy without Docker or a real
/// Codex: local runtime, an API key, and a (stub) Codex executable it can find.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("data")).unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        let codex = dir.path().join("codex");
        std::fs::write(&codex, "#!/bin/sh\necho 'codex-cli 0.169.0'\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&codex, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        let p = |sub: &str| self.path().join(sub).display().to_string();
        vec![
            ("CODEX_MCP_DATA_DIR", p("data")),
            ("CODEX_MCP_RUNTIME", "local".to_string()),
            ("CODEX_BIN", p("codex")),
            ("OPENAI_API_KEY", "sk-e2e-not-a-real-key".to_string()),
            ("HOME", p("home")),
        ]
    }
}

/// Kills a child process by pid when dropped, in case the client did not stop it.
struct KillOnDrop(Option<u32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(pid) = self.0
            && Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

fn health_call() -> CallToolRequestParams {
    CallToolRequestParams::new("health_check")
}

/// Lists the tools, calls `health_check` and checks its structured answer.
async fn exercise(client: &RunningService<RoleClient, ()>, log: impl Fn() -> String) {
    let info = client.peer_info().expect("the server identified itself");
    let server = info.server_info.as_ref().expect("serverInfo");
    assert_eq!(server.name, "mcpd");
    assert_eq!(server.version, env!("CARGO_PKG_VERSION"));
    assert!(
        info.capabilities.tools.is_some(),
        "tools capability: {info:?}"
    );

    let tools = within("tools/list", client.list_all_tools())
        .await
        .unwrap_or_else(|e| panic!("tools/list failed: {e}\n{}", log()));
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    assert!(names.contains(&"health_check"), "tools: {names:?}");
    let health = tools.iter().find(|t| t.name == "health_check").unwrap();
    assert!(
        health.output_schema.is_some(),
        "health_check declares an output schema"
    );

    let result: CallToolResult = within("tools/call health_check", client.call_tool(health_call()))
        .await
        .unwrap_or_else(|e| panic!("health_check failed: {e}\n{}", log()));
    assert_ne!(
        result.is_error,
        Some(true),
        "health_check failed: {result:?}"
    );
    let structured = result
        .structured_content
        .clone()
        .expect("health_check returns structuredContent");
    assert_eq!(
        structured["status"],
        json!("ok"),
        "health_check: {structured:#}\n{}",
        log()
    );
    assert_eq!(structured["version"], json!(env!("CARGO_PKG_VERSION")));
    // The same JSON is given as text for clients that read only text.
    let text = result
        .content
        .iter()
        .find_map(|c| c.as_text().map(|t| t.text.clone()))
        .expect("a text block");
    let as_json: Value = serde_json::from_str(&text).expect("text block is the JSON");
    assert_eq!(as_json["status"], structured["status"]);
}

async fn start_http(sandbox: &Sandbox) -> Mcpd {
    within("mcpd starts", Mcpd::start(&sandbox.env(), sandbox.path()))
        .await
        .expect("mcpd starts and answers /health")
}

#[tokio::test]
async fn rmcp_over_streamable_http_with_initialize() {
    let sandbox = Sandbox::new();
    let mcpd = start_http(&sandbox).await;
    let transport = StreamableHttpClientTransport::from_uri(format!("{}/mcp", mcpd.base));
    let mut client = within("initialize", ().serve(transport))
        .await
        .unwrap_or_else(|e| panic!("initialize failed: {e}\n{}", mcpd.log()));
    assert_eq!(
        client.peer_info().unwrap().protocol_version,
        ProtocolVersion::V_2025_11_25
    );
    exercise(&client, || mcpd.log()).await;
    within("close", client.close()).await.unwrap();
}

#[tokio::test]
async fn rmcp_over_streamable_http_with_discover() {
    let sandbox = Sandbox::new();
    let mcpd = start_http(&sandbox).await;
    let transport = StreamableHttpClientTransport::from_uri(format!("{}/mcp", mcpd.base));
    let mut client = within(
        "server/discover",
        ().serve_with_lifecycle(
            transport,
            ClientLifecycleMode::Discover {
                preferred_versions: vec![ProtocolVersion::V_2026_07_28],
            },
        ),
    )
    .await
    .unwrap_or_else(|e| panic!("discover failed: {e}\n{}", mcpd.log()));
    assert_eq!(
        client.peer_info().unwrap().protocol_version,
        ProtocolVersion::V_2026_07_28
    );
    exercise(&client, || mcpd.log()).await;
    within("close", client.close()).await.unwrap();
}

fn stdio_command(sandbox: &Sandbox) -> (tokio::process::Command, PathBuf) {
    let log = sandbox.path().join("mcpd-stdio.log");
    let cmd = tokio::process::Command::new(mcpd_bin()).configure(|cmd| {
        cmd.args(["serve", "--stdio"]);
        without_shell_settings(cmd);
        for (k, v) in sandbox.env() {
            cmd.env(k, v);
        }
    });
    (cmd, log)
}

async fn stdio_client(
    sandbox: &Sandbox,
    lifecycle: ClientLifecycleMode,
) -> (RunningService<RoleClient, ()>, KillOnDrop, PathBuf) {
    let (cmd, log) = stdio_command(sandbox);
    let stderr = std::fs::File::create(&log).unwrap();
    let (transport, _) = TokioChildProcess::builder(cmd)
        .stderr(Stdio::from(stderr))
        .spawn()
        .expect("spawn mcpd serve --stdio");
    let guard = KillOnDrop(transport.id());
    let read_log = log.clone();
    let client = within(
        "stdio handshake",
        ().serve_with_lifecycle(transport, lifecycle),
    )
    .await
    .unwrap_or_else(|e| {
        panic!(
            "stdio handshake failed: {e}\n{}",
            std::fs::read_to_string(&read_log).unwrap_or_default()
        )
    });
    (client, guard, log)
}

#[tokio::test]
async fn rmcp_over_stdio_with_initialize() {
    let sandbox = Sandbox::new();
    let (mut client, guard, log) = stdio_client(&sandbox, ClientLifecycleMode::Initialize).await;
    assert_eq!(
        client.peer_info().unwrap().protocol_version,
        ProtocolVersion::V_2025_11_25
    );
    exercise(&client, || {
        std::fs::read_to_string(&log).unwrap_or_default()
    })
    .await;
    within("close", client.close()).await.unwrap();
    drop(guard);
}

#[tokio::test]
async fn rmcp_over_stdio_with_discover() {
    let sandbox = Sandbox::new();
    let (mut client, guard, log) = stdio_client(
        &sandbox,
        ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        },
    )
    .await;
    assert_eq!(
        client.peer_info().unwrap().protocol_version,
        ProtocolVersion::V_2026_07_28
    );
    exercise(&client, || {
        std::fs::read_to_string(&log).unwrap_or_default()
    })
    .await;
    within("close", client.close()).await.unwrap();
    drop(guard);
}
