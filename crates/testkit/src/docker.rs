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

/// Ids of the containers matching a `docker ps --filter` expression such as
/// `label=codex-mcp.instance=x`, stopped ones included.
pub fn labelled_containers(filter: &str) -> Vec<String> {
    words(docker_cli(&["ps", "-aq", "--filter", filter]))
}

/// Names of the volumes matching a `docker volume ls --filter` expression.
pub fn labelled_volumes(filter: &str) -> Vec<String> {
    words(docker_cli(&["volume", "ls", "-q", "--filter", filter]))
}

fn words(listed: Option<String>) -> Vec<String> {
    listed
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Force-removes every container, then every volume, matching `filter`: what a test's
/// scope leaves behind.
pub fn remove_labelled(filter: &str) {
    let removals = [
        (["rm", "-f"].as_slice(), labelled_containers(filter)),
        (["volume", "rm", "-f"].as_slice(), labelled_volumes(filter)),
    ];
    for (command, found) in removals {
        if !found.is_empty() {
            let mut args = command.to_vec();
            args.extend(found.iter().map(String::as_str));
            docker_cli(&args);
        }
    }
}
