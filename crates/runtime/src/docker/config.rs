//! The Docker backend's settings and where they come from.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::{RuntimeError, parse_cpu_limit, parse_memory_limit, parse_workspace_roots};

/// The engine socket used when `DOCKER_HOST` does not name a unix socket.
pub const DEFAULT_ENDPOINT: &str = "unix:///var/run/docker.sock";
/// The image agents run when `CODEX_MCP_AGENT_IMAGE` is unset.
pub const DEFAULT_IMAGE: &str = "codex-mcp-agent:latest";
/// The default name prefix: containers are `codex-mcp-agent-<id>`.
pub const DEFAULT_PREFIX: &str = "codex-mcp-agent-";

/// Settings of the Docker backend.
///
/// [`DockerConfig::from_env`] reads the project's environment settings; tests and embedders
/// build one with [`DockerConfig::default`] and the `with_*` methods.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DockerConfig {
    /// The engine's socket as `unix:///path` (only unix sockets: no TCP, no TLS).
    pub endpoint: String,
    /// The agent image (`CODEX_MCP_AGENT_IMAGE`).
    pub image: String,
    /// Images of particular agents, by agent id (`CODEX_MCP_AGENT_IMAGES`); the others run
    /// [`DockerConfig::image`].
    pub agent_images: BTreeMap<String, String>,
    /// mcpd's own agent image, which runs the short-lived step preparing an agent's
    /// volumes and holds the pinned Codex (`/opt/codex`) copied for images without one.
    pub helper_image: String,
    /// The agents' network mode (`CONTAINER_NETWORK_MODE`): `bridge`, `host`, `none`, or
    /// the name of an existing network.
    pub network_mode: String,
    /// CPU limit in billionths of a CPU (`CONTAINER_CPU_LIMIT`, default 4.0).
    pub nano_cpus: Option<i64>,
    /// Memory limit in bytes (`CONTAINER_MEMORY_LIMIT`, default 2048m); swap is not added.
    pub memory_bytes: Option<u64>,
    /// Most processes one agent may have at once (fork-bomb guard).
    pub pids_limit: i64,
    /// Size of the `/tmp` tmpfs in bytes (it counts against the memory limit).
    pub tmp_bytes: u64,
    /// Size of the `/home/agent` tmpfs in bytes (dot-files; the Codex home is a volume).
    pub home_bytes: u64,
    /// Host folders an agent may mount as its workspace (`CODEX_MCP_WORKSPACE_ROOTS`).
    pub workspace_roots: Vec<PathBuf>,
    /// Prefix of container and volume names.
    pub name_prefix: String,
    /// Labels added to every object and required by every lookup, besides
    /// `codex-mcp.managed=true`: lets several servers (or test runs) share one engine
    /// without seeing each other's agents.
    pub extra_labels: BTreeMap<String, String>,
    /// How long a killed process tree (or a stopping container) gets before SIGKILL.
    pub kill_grace: Duration,
    /// How long to wait for the engine to answer one request.
    pub request_timeout: Duration,
    /// Whether processes run under the run helper the helper image brings
    /// (`bins/codex-mcp-run`, about 4.5 ms less per turn), in containers that have it;
    /// off, every container runs them under the shell scripts any image can run.
    pub run_helper: bool,
}

impl Default for DockerConfig {
    fn default() -> Self {
        Self {
            endpoint: DEFAULT_ENDPOINT.into(),
            image: DEFAULT_IMAGE.into(),
            agent_images: BTreeMap::new(),
            helper_image: DEFAULT_IMAGE.into(),
            network_mode: "bridge".into(),
            nano_cpus: Some(4_000_000_000),
            memory_bytes: Some(2048 << 20),
            pids_limit: 256,
            tmp_bytes: 256 << 20,
            home_bytes: 64 << 20,
            workspace_roots: Vec::new(),
            name_prefix: DEFAULT_PREFIX.into(),
            extra_labels: BTreeMap::new(),
            kill_grace: Duration::from_secs(2),
            request_timeout: Duration::from_secs(120),
            run_helper: true,
        }
    }
}

impl DockerConfig {
    /// Reads `DOCKER_HOST` (unix sockets only), `CODEX_MCP_AGENT_IMAGE`,
    /// `CONTAINER_NETWORK_MODE`, `CONTAINER_CPU_LIMIT`, `CONTAINER_MEMORY_LIMIT` and
    /// `CODEX_MCP_WORKSPACE_ROOTS` over the defaults. A malformed value is an error naming
    /// the setting, never silently replaced by a default.
    pub fn from_env() -> Result<Self, RuntimeError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// [`DockerConfig::from_env`] over any source of settings (testable without touching
    /// the process environment).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, RuntimeError> {
        let mut cfg = Self::default();
        let set = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        if let Some(host) = set("DOCKER_HOST") {
            if !host.starts_with("unix://") {
                return Err(RuntimeError::InvalidSetting {
                    name: "DOCKER_HOST".into(),
                    value: host,
                    reason: "codex-mcp talks to the engine over a unix socket only: use unix:///path/to/docker.sock".into(),
                });
            }
            cfg.endpoint = host;
        }
        if let Some(v) = set("CODEX_MCP_AGENT_IMAGE") {
            cfg.image = v.trim().to_string();
        }
        if let Some(v) = set("CODEX_MCP_AGENT_IMAGES") {
            cfg.agent_images = parse_agent_images("CODEX_MCP_AGENT_IMAGES", &v)?;
        }
        if let Some(v) = set("CONTAINER_NETWORK_MODE") {
            let v = v.trim();
            let valid = v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b':'));
            if !valid {
                return Err(RuntimeError::InvalidSetting {
                    name: "CONTAINER_NETWORK_MODE".into(),
                    value: v.into(),
                    reason: "use bridge, host, none or the name of an existing network".into(),
                });
            }
            cfg.network_mode = v.to_string();
        }
        if let Some(v) = set("CONTAINER_CPU_LIMIT") {
            cfg.nano_cpus = Some(parse_cpu_limit("CONTAINER_CPU_LIMIT", &v)?);
        }
        if let Some(v) = set("CONTAINER_MEMORY_LIMIT") {
            cfg.memory_bytes = Some(parse_memory_limit("CONTAINER_MEMORY_LIMIT", &v)?);
        }
        if let Some(v) = set("CODEX_MCP_WORKSPACE_ROOTS") {
            cfg.workspace_roots = parse_workspace_roots("CODEX_MCP_WORKSPACE_ROOTS", &v)?;
        }
        Ok(cfg)
    }

    /// Sets the engine socket (`unix:///path`).
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = endpoint.into();
        self
    }

    /// Sets the agent image.
    pub fn with_image(mut self, image: impl Into<String>) -> Self {
        self.image = image.into();
        self
    }

    /// Gives particular agents their own image (agent id -> image).
    pub fn with_agent_images(mut self, images: BTreeMap<String, String>) -> Self {
        self.agent_images = images;
        self
    }

    /// Sets the image that prepares volumes and supplies the pinned Codex.
    pub fn with_helper_image(mut self, image: impl Into<String>) -> Self {
        self.helper_image = image.into();
        self
    }

    /// Turns the run helper on or off (see [`DockerConfig::run_helper`]).
    pub fn with_run_helper(mut self, on: bool) -> Self {
        self.run_helper = on;
        self
    }

    /// The image `agent` runs: its own from [`DockerConfig::agent_images`], else the
    /// default one.
    pub fn image_for(&self, agent: &crate::AgentId) -> &str {
        self.agent_images
            .get(agent.as_str())
            .map_or(self.image.as_str(), String::as_str)
    }

    /// Sets the network mode.
    pub fn with_network_mode(mut self, mode: impl Into<String>) -> Self {
        self.network_mode = mode.into();
        self
    }

    /// Sets the name prefix of containers and volumes.
    pub fn with_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.name_prefix = prefix.into();
        self
    }

    /// Adds a label that every object gets and every lookup requires.
    pub fn with_label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra_labels.insert(key.into(), value.into());
        self
    }

    /// Sets the allowed workspace roots.
    pub fn with_workspace_roots(mut self, roots: Vec<PathBuf>) -> Self {
        self.workspace_roots = roots;
        self
    }

    /// Sets the CPU and memory limits (`None`: unlimited).
    pub fn with_limits(mut self, nano_cpus: Option<i64>, memory_bytes: Option<u64>) -> Self {
        self.nano_cpus = nano_cpus;
        self.memory_bytes = memory_bytes;
        self
    }

    /// Sets the kill grace period.
    pub fn with_kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = grace;
        self
    }

    /// The socket path without its scheme.
    pub(crate) fn socket_path(&self) -> &str {
        self.endpoint
            .strip_prefix("unix://")
            .unwrap_or(&self.endpoint)
    }
}

/// Parses `agent=image` pairs separated by commas (`CODEX_MCP_AGENT_IMAGES`): each agent
/// id valid and given once, each image a plain reference (no spaces, no `=` or `,`).
pub fn parse_agent_images(
    setting: &str,
    value: &str,
) -> Result<BTreeMap<String, String>, RuntimeError> {
    let bad = |reason: String| RuntimeError::InvalidSetting {
        name: setting.into(),
        value: value.into(),
        reason,
    };
    let mut out = BTreeMap::new();
    for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((agent, image)) = pair.split_once('=') else {
            return Err(bad(format!(
                "{pair:?} is not agent=image; expected e.g. alice=python-tools:3.12,bob=node:22"
            )));
        };
        let (agent, image) = (agent.trim(), image.trim());
        crate::AgentId::new(agent).map_err(|e| bad(format!("{pair:?}: {e}")))?;
        let valid = !image.is_empty()
            && image.bytes().all(|b| {
                b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b':' | b'/' | b'@')
            });
        if !valid {
            return Err(bad(format!(
                "{pair:?}: {image:?} is not an image reference (name[:tag] or name@sha256:...)"
            )));
        }
        if out.insert(agent.to_string(), image.to_string()).is_some() {
            return Err(bad(format!("agent {agent} is given two images")));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<DockerConfig, RuntimeError> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        DockerConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_and_overrides() {
        let d = from(&[]).ok();
        assert_eq!(d, Some(DockerConfig::default()));
        let c = from(&[
            ("DOCKER_HOST", "unix:///run/x.sock"),
            ("CODEX_MCP_AGENT_IMAGE", "img:1"),
            ("CONTAINER_NETWORK_MODE", "none"),
            ("CONTAINER_CPU_LIMIT", "1.5"),
            ("CONTAINER_MEMORY_LIMIT", "512m"),
            ("CODEX_MCP_WORKSPACE_ROOTS", "/srv/a:/srv/b"),
        ]);
        let c = c.ok();
        assert_eq!(c.as_ref().map(|c| c.socket_path()), Some("/run/x.sock"));
        assert_eq!(c.as_ref().map(|c| c.image.as_str()), Some("img:1"));
        assert_eq!(c.as_ref().map(|c| c.network_mode.as_str()), Some("none"));
        assert_eq!(c.as_ref().and_then(|c| c.nano_cpus), Some(1_500_000_000));
        assert_eq!(c.as_ref().and_then(|c| c.memory_bytes), Some(512 << 20));
        assert_eq!(c.map(|c| c.workspace_roots.len()), Some(2));
    }

    #[test]
    fn agent_images_pick_each_agents_image() {
        let c = from(&[
            ("CODEX_MCP_AGENT_IMAGE", "default:1"),
            (
                "CODEX_MCP_AGENT_IMAGES",
                " alice=python-tools:3.12 , bob=reg.example/node@sha256:ab,",
            ),
        ]);
        let Ok(c) = c else {
            panic!("valid settings refused: {c:?}")
        };
        let image = |a: &str| {
            crate::AgentId::new(a)
                .map(|a| c.image_for(&a).to_string())
                .unwrap_or_default()
        };
        assert_eq!(
            (image("alice"), image("bob"), image("carol")),
            (
                "python-tools:3.12".to_string(),
                "reg.example/node@sha256:ab".to_string(),
                "default:1".to_string()
            )
        );
    }

    #[test]
    fn malformed_values_name_the_setting() {
        for (k, v) in [
            ("DOCKER_HOST", "tcp://1.2.3.4:2375"),
            ("CONTAINER_NETWORK_MODE", "bad mode"),
            ("CONTAINER_CPU_LIMIT", "lots"),
            ("CONTAINER_MEMORY_LIMIT", "2 tb"),
            ("CODEX_MCP_WORKSPACE_ROOTS", "relative"),
            ("CODEX_MCP_AGENT_IMAGES", "alice"),
            ("CODEX_MCP_AGENT_IMAGES", "no spaces=img:1"),
            ("CODEX_MCP_AGENT_IMAGES", "alice=img with space"),
            ("CODEX_MCP_AGENT_IMAGES", "alice=a:1,alice=b:2"),
        ] {
            let msg = from(&[(k, v)])
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(msg.contains(k), "{k}: {msg}");
        }
    }
}
