//! Credentials in the Docker runtime, through `mcpd` and the real agent image: the agent's
//! Codex uses the host's login, the injected file belongs to the agent user with mode
//! 0600, and no secret shows in `docker inspect`.

use super::auth_support;

use std::process::Command;

use auth_support::{World, assert_no_secret, chat, secrets_of, write_auth};
use codex_mcp_e2e::docker::AGENT_IMAGE;
use codex_mcp_testkit::{Auth, is_ci};
use pretty_assertions::assert_eq;

fn docker(args: &[&str]) -> Option<String> {
    let out = Command::new("docker").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether the engine and the agent image are there; outside CI a loud notice otherwise.
fn docker_ready() -> bool {
    let missing = if docker(&["info", "--format", "{{.ServerVersion}}"]).is_none() {
        "no Docker engine: run scripts/docker-setup.sh"
    } else if docker(&["image", "inspect", AGENT_IMAGE]).is_none() {
        "the agent image is missing: run scripts/build-agent-image.sh"
    } else {
        return true;
    };
    assert!(!is_ci(), "{missing}");
    eprintln!("\n!!!!!!!! SKIPPING: {missing} !!!!!!!!\n");
    false
}

/// Removes the agent's container and volumes when dropped.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let name = format!("codex-mcp-agent-{}", self.0);
        let _ = docker(&["rm", "-f", &name]);
        for kind in ["workspace", "codex-home", "scratch"] {
            let _ = docker(&["volume", "rm", "-f", &format!("{name}-{kind}")]);
        }
    }
}

#[tokio::test]
async fn docker_agents_get_the_login_and_docker_inspect_shows_no_secret() {
    if !docker_ready() {
        return;
    }
    let Some(world) = World::new().await else {
        return;
    };
    let agent = format!("auth-dock-{}", std::process::id());
    let _cleanup = Cleanup(agent.clone());
    let login = Auth::chatgpt("acct-docker", "docker");
    write_auth(&world.home_auth(), &login);
    let key = Auth::api_key("sk-e2e-docker-key-0123456789");
    let mcpd = world
        .mcpd(&[
            ("CODEX_MCP_RUNTIME", "docker".into()),
            ("CODEX_MCP_AGENT_IMAGE", AGENT_IMAGE.into()),
            // The scripted model listens on the host's loopback.
            ("CONTAINER_NETWORK_MODE", "host".into()),
            ("OPENAI_API_KEY", key.bearer().into()),
        ])
        .await;

    let result = chat(&mcpd, &agent).await;
    assert_eq!(result.get("isError"), None, "{result}\n{}", mcpd.log());
    let bearers = world.bearers();
    assert_eq!(bearers, vec![Some(login.bearer().to_string())]);

    let container = format!("codex-mcp-agent-{agent}");
    let file = docker(&[
        "exec",
        &container,
        "stat",
        "-c",
        "%u %a",
        "/home/agent/.codex/auth.json",
    ]);
    assert_eq!(file.as_deref().map(str::trim), Some("1000 600"));
    let inspect = docker(&["inspect", &container]).unwrap_or_default();
    assert!(inspect.contains(&container), "{inspect}");
    let mut secrets = secrets_of(&login);
    secrets.extend(secrets_of(&key));
    secrets.push("mcpd-rt:".to_string());
    assert_no_secret("docker inspect", &inspect, &secrets);
    assert_no_secret("mcpd's log", &mcpd.log(), &secrets);
}
