//! The docker CLI for tests that look at the engine from outside (inspect, top, volumes),
//! and the agent image they run.

use std::process::{Command, Stdio};

use anyhow::{Result, bail};

/// The agent image tests run: what `scripts/build-agent-image.sh` builds and mcpd uses
/// by default.
pub const AGENT_IMAGE: &str = "codex-mcp-agent:latest";

/// Runs the docker CLI; its stdout when it succeeded, `None` otherwise (no engine, no
/// such object).
pub fn docker_cli(args: &[&str]) -> Option<String> {
    docker_ok(args).ok()
}

/// Runs the docker CLI; its stdout, or an error carrying the command and its stderr.
pub fn docker_ok(args: &[&str]) -> Result<String> {
    let out = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        bail!(
            "docker {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
