//! The compose deployment under test (deploy/docker-compose.yml): both images built by
//! `scripts/compose-up.sh`, the service started with docker-compose (or `docker compose`)
//! with the host's network (the only network mode tests may use: compose then creates no
//! network), the scripted model's Codex config and an API-key login mounted in. Everything
//! it creates (the server container and image tag, the data volume, the agents through
//! the [`DockerScope`]) is removed on drop.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use codex_mcp_testkit::{CodexHome, ScriptedModel, temp_dir};
use serde_json::Value;

use crate::docker::{AGENT_IMAGE, DockerScope, ci, docker_cli};

/// The container name the compose file gives the server.
pub const SERVER_CONTAINER: &str = "codex-mcp-server";

/// The repository root (two levels above this crate).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The compose command: `docker-compose` (Debian's 1.29), else `docker compose` (v2).
/// `None` (after failing under CI) when neither is installed.
pub fn compose_command_or_skip() -> Option<Vec<String>> {
    let works = |argv: &[&str]| {
        Command::new(argv[0])
            .args(&argv[1..])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if works(&["docker-compose", "version"]) {
        return Some(vec!["docker-compose".into()]);
    }
    if works(&["docker", "compose", "version"]) {
        return Some(vec!["docker".into(), "compose".into()]);
    }
    let problem = "no docker-compose: `scripts/test.sh compose` installs it";
    assert!(!ci(), "{problem} (CI=true: the compose test must run)");
    eprintln!("\n!!!!!!!! SKIPPING the compose test: {problem} !!!!!!!!\n");
    None
}

/// The Python interpreter of the test venv (with the MCP SDK), from `scripts/test-deps.sh`.
pub fn venv_python() -> PathBuf {
    let deps = std::env::var_os("TEST_DEPS_DIR")
        .map_or_else(|| repo().join(".cache/test-deps"), PathBuf::from);
    deps.join("venv/bin/python")
}

/// A free port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A started compose deployment.
pub struct ComposeDeploy {
    compose: Vec<String>,
    files: Vec<PathBuf>,
    env: Vec<(String, String)>,
    /// Where mcpd listens (host network): `127.0.0.1:PORT`.
    pub addr: String,
    /// The named data volume.
    pub data_volume: String,
    /// The server image tag built for this test.
    pub image: String,
    /// The agents' slice of the engine (dropped after the deployment).
    pub scope: DockerScope,
    _dir: tempfile::TempDir,
}

/// Builds the server image `image` (and the agent image, cached) from the `mcpd` under
/// test the way users do: `scripts/compose-up.sh` with `BUILD_ONLY=1`. `env` are the
/// script's settings (`CODEX_MCP_UID`, `DOCKER_GID`, ...).
pub fn build_server_image(image: &str, env: &[(String, String)]) -> Result<()> {
    let out = Command::new("bash")
        .arg(repo().join("scripts/compose-up.sh"))
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("BUILD_ONLY", "1")
        .env("SERVER_IMAGE", image)
        .env("MCPD_BIN", crate::mcpd_bin())
        .output()?;
    if !out.status.success() {
        bail!(
            "compose-up.sh BUILD_ONLY=1 failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

impl ComposeDeploy {
    /// Builds both images and writes the compose files; starts nothing. `env_file` lines
    /// are mcpd settings given through the compose `.env` file.
    pub fn prepare(
        compose: Vec<String>,
        model: &ScriptedModel,
        api_key: &str,
        env_file: &[(&str, &str)],
    ) -> Result<Self> {
        let scope = DockerScope::new();
        let dir = temp_dir("compose")?;
        let port = free_port()?;
        let uid = match current_uid()? {
            0 => 1000,
            uid => uid,
        };
        // The login mcpd detects: ~/.codex of the host, mounted read-only.
        let codex = dir.path().join("codex");
        std::fs::create_dir(&codex)?;
        std::fs::write(
            codex.join("auth.json"),
            serde_json::json!({ "OPENAI_API_KEY": api_key }).to_string(),
        )?;
        chown_to(&codex, uid)?;
        chown_to(&codex.join("auth.json"), uid)?;
        chmod(&codex.join("auth.json"), 0o600)?;
        // Agents' Codex config: the scripted model on the host's loopback.
        let config = dir.path().join("server-config.toml");
        std::fs::write(&config, CodexHome::new(dir.path(), model).config_toml())?;
        chmod(&config, 0o644)?;
        // The real compose file, without its port mapping: Docker refuses published ports
        // with the host network; everything else is as users get it.
        let main = std::fs::read_to_string(repo().join("deploy/docker-compose.yml"))?;
        let main = without_ports(&main)?;
        let main_file = dir.path().join("docker-compose.yml");
        std::fs::write(&main_file, main)?;
        let override_file = dir.path().join("override.yml");
        std::fs::write(
            &override_file,
            format!(
                "services:\n  codex-mcp-server:\n    network_mode: host\n    environment:\n      \
                 MCPD_LISTEN: 127.0.0.1:{port}\n      CODEX_MCP_CODEX_CONFIG: /config/server-config.toml\n    \
                 volumes:\n      - {}:/config/server-config.toml:ro\n",
                config.display()
            ),
        )?;
        let env_path = dir.path().join("env");
        let mut lines: Vec<String> = vec![
            format!("CODEX_MCP_AGENT_IMAGE={AGENT_IMAGE}"),
            "CONTAINER_NETWORK_MODE=host".into(),
            "CONTAINER_CPU_LIMIT=1".into(),
            "CONTAINER_MEMORY_LIMIT=1g".into(),
        ];
        lines.extend(env_file.iter().map(|(k, v)| format!("{k}={v}")));
        std::fs::write(&env_path, lines.join("\n") + "\n")?;

        let image = format!("codex-mcp-server:e2e-{}", scope.instance);
        let docker_gid = std::fs::metadata("/var/run/docker.sock")
            .map(|m| std::os::unix::fs::MetadataExt::gid(&m))
            .context("stat /var/run/docker.sock")?;
        let env: Vec<(String, String)> = [
            ("COMPOSE_PROJECT_NAME", scope.instance.clone()),
            ("CODEX_MCP_SERVER_IMAGE", image.clone()),
            ("CODEX_HOST_HOME", codex.display().to_string()),
            ("CODEX_MCP_ENV_FILE", env_path.display().to_string()),
            ("CODEX_MCP_INSTANCE", scope.instance.clone()),
            ("CODEX_MCP_DATA_VOLUME", format!("{}-data", scope.instance)),
            ("CODEX_MCP_UID", uid.to_string()),
            ("DOCKER_GID", docker_gid.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let deploy = Self {
            compose,
            files: vec![main_file, override_file],
            addr: format!("127.0.0.1:{port}"),
            data_volume: format!("{}-data", scope.instance),
            image,
            scope,
            env,
            _dir: dir,
        };
        deploy.build_images()?;
        Ok(deploy)
    }

    /// The agent image (cached) and this test's server image from the `mcpd` under test.
    fn build_images(&self) -> Result<()> {
        build_server_image(&self.image, &self.env)
    }

    /// Runs the compose command with this deployment's files, profile and variables.
    pub fn compose(&self, args: &[&str]) -> Result<String> {
        let mut cmd = Command::new(&self.compose[0]);
        cmd.args(&self.compose[1..]);
        for f in &self.files {
            cmd.arg("-f").arg(f);
        }
        cmd.args(["--profile", "codex-mcp"]).args(args);
        let out = cmd
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .output()?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if !out.status.success() {
            bail!("compose {args:?} failed: {text}");
        }
        Ok(text)
    }

    /// `up -d`, then waits until Docker reports the container healthy (its HEALTHCHECK).
    pub fn up(&self) -> Result<()> {
        self.compose(&["up", "-d"])?;
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let state = docker_cli(&[
                "inspect",
                "-f",
                "{{.State.Health.Status}}",
                SERVER_CONTAINER,
            ])
            .unwrap_or_default();
            if state.trim() == "healthy" {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "{SERVER_CONTAINER} is {state:?} after 90 s:\n{}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The server container's log (stdout and stderr).
    pub fn logs(&self) -> String {
        let out = Command::new("docker")
            .args(["logs", SERVER_CONTAINER])
            .output();
        out.map(|o| {
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        })
        .unwrap_or_default()
    }

    /// Calls `chat` for `agent` with the Python SDK over `transport` (`mcp` or `sse`).
    pub fn chat(&self, transport: &str, agent: &str, message: &str) -> Result<Value> {
        let url = format!("http://{}/{transport}", self.addr);
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/compose_chat.py");
        let out = Command::new(venv_python())
            .arg(script)
            .args([url.as_str(), transport, agent, message])
            .output()
            .context("running the Python MCP client (scripts/test-deps.sh makes its venv)")?;
        if !out.status.success() {
            bail!(
                "Python client failed: {}\n{}",
                String::from_utf8_lossy(&out.stderr),
                self.logs()
            );
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    }
}

impl Drop for ComposeDeploy {
    fn drop(&mut self) {
        let _ = self.compose(&["down", "-v", "--timeout", "10"]);
        let _ = docker_cli(&["volume", "rm", &self.data_volume]);
        let _ = docker_cli(&["image", "rm", &self.image]);
    }
}

/// The compose file without the service's `ports:` list.
fn without_ports(yaml: &str) -> Result<String> {
    let mut out = Vec::new();
    let mut skipping = false;
    for line in yaml.lines() {
        if line == "    ports:" {
            skipping = true;
            continue;
        }
        if skipping && line.starts_with("      - ") {
            continue;
        }
        skipping = false;
        out.push(line);
    }
    if out.len() == yaml.lines().count() {
        bail!("deploy/docker-compose.yml has no `    ports:` list any more; update the test");
    }
    Ok(out.join("\n") + "\n")
}

fn current_uid() -> Result<u32> {
    let meta = std::fs::metadata("/proc/self")?;
    Ok(std::os::unix::fs::MetadataExt::uid(&meta))
}

fn chown_to(path: &Path, uid: u32) -> Result<()> {
    if current_uid()? == 0 {
        std::os::unix::fs::chown(path, Some(uid), Some(uid))?;
    }
    Ok(())
}

fn chmod(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    Ok(())
}
