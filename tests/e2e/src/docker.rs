//! The Docker side of the end-to-end tests: one isolated slice of the engine per test
//! (an `CODEX_MCP_INSTANCE` name that prefixes and labels everything mcpd creates, removed
//! on drop), the agent image, small derived images, and reading or writing an agent's
//! workspace volume from outside.

pub use codex_mcp_testkit::docker::{AGENT_IMAGE, docker_cli, docker_ok};
use codex_mcp_testkit::docker::{labelled_containers, labelled_volumes, remove_labelled};
pub use codex_mcp_testkit::is_ci as ci;

/// `true` when the engine answers and the agent image exists. Otherwise fails under CI
/// and says loudly that the test is skipped elsewhere.
pub fn docker_ready_or_skip() -> bool {
    let problem = if docker_cli(&["info", "--format", "{{.ServerVersion}}"]).is_none() {
        "no Docker engine: run scripts/docker-setup.sh (as root)".to_string()
    } else if docker_cli(&["image", "inspect", "--format", "{{.Id}}", AGENT_IMAGE]).is_none() {
        format!("image {AGENT_IMAGE} missing: run scripts/build-agent-image.sh")
    } else {
        return true;
    };
    assert!(!ci(), "{problem} (CI=true: Docker tests must run)");
    eprintln!("\n!!!!!!!! SKIPPING a Docker test: {problem} !!!!!!!!\n");
    false
}

/// One test's slice of the engine: everything mcpd creates with `CODEX_MCP_INSTANCE` set
/// to [`DockerScope::instance`] is removed when this is dropped.
pub struct DockerScope {
    /// The instance name given to mcpd.
    pub instance: String,
    /// Full ids of agents' containers, for reading their processes from the host's /proc.
    ids: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

impl Default for DockerScope {
    fn default() -> Self {
        Self::new()
    }
}

impl DockerScope {
    /// A fresh, unique instance name.
    pub fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        Self {
            instance: format!("t{}x{nanos:08x}", std::process::id()),
            ids: std::sync::Mutex::default(),
        }
    }

    /// The label filter selecting this scope's objects.
    pub fn filter(&self) -> String {
        format!("label=codex-mcp.instance={}", self.instance)
    }

    /// The name of an agent's container.
    pub fn container(&self, agent: &str) -> String {
        format!("codex-mcp-{}-agent-{agent}", self.instance)
    }

    /// The name of one of an agent's volumes (`workspace`, `codex-home`, `scratch`).
    pub fn volume(&self, agent: &str, kind: &str) -> String {
        format!("{}-{kind}", self.container(agent))
    }

    /// Ids of this scope's containers (running or not).
    pub fn containers(&self) -> Vec<String> {
        labelled_containers(&self.filter())
    }

    /// Names of this scope's volumes.
    pub fn volumes(&self) -> Vec<String> {
        labelled_volumes(&self.filter())
    }

    /// Runs `script` as the agent user in a throw-away container with the agent's
    /// workspace volume at `/workspace` (created with mcpd's labels when missing), so a
    /// test can seed or read it whether or not the agent's container exists.
    pub fn in_workspace(&self, agent: &str, script: &str) -> anyhow::Result<String> {
        let volume = self.volume(agent, "workspace");
        if docker_cli(&["volume", "inspect", &volume]).is_none() {
            let labels = [
                "codex-mcp.managed=true".to_string(),
                format!("codex-mcp.agent={agent}"),
                "codex-mcp.volume=workspace".to_string(),
                format!("codex-mcp.instance={}", self.instance),
            ];
            let mut args = vec!["volume", "create"];
            for l in &labels {
                args.extend(["--label", l]);
            }
            args.push(&volume);
            docker_ok(&args)?;
        }
        let mount = format!("{volume}:/workspace");
        let label = format!("codex-mcp.instance={}", self.instance);
        docker_ok(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--label",
            &label,
            "-v",
            &mount,
            AGENT_IMAGE,
            "sh",
            "-c",
            script,
        ])
    }

    /// Writes `text` to `file` in the agent's workspace.
    pub fn write_workspace(&self, agent: &str, file: &str, text: &str) -> anyhow::Result<()> {
        let script = format!("printf '%s' {} > /workspace/{file}", shell_quote(text));
        self.in_workspace(agent, &script).map(drop)
    }

    /// The contents of `file` in the agent's workspace.
    pub fn read_workspace(&self, agent: &str, file: &str) -> anyhow::Result<String> {
        self.in_workspace(agent, &format!("cat /workspace/{file}"))
    }

    /// Command lines of the processes in the agent's container (empty when it has none).
    /// Read from the host's /proc when the container's processes are visible there (a few
    /// milliseconds, so a test timing how fast a process goes measures the process, not a
    /// `docker top`: a CLI start and an engine round trip, 100 ms and more on a busy
    /// machine), else from `docker top`.
    pub fn processes(&self, agent: &str) -> Vec<String> {
        let name = self.container(agent);
        let known = self.lock_ids().get(agent).cloned();
        if let Some(found) = known.as_deref().and_then(host_processes_of) {
            return found;
        }
        let listed: Vec<String> = docker_cli(&["top", &name, "-eo", "pid,args"])
            .unwrap_or_default()
            .lines()
            .skip(1)
            .map(str::to_string)
            .collect();
        // A (re)created container: remember its id for the next look.
        if !listed.is_empty()
            && let Some(id) = docker_cli(&["inspect", "-f", "{{.Id}}", &name])
        {
            self.lock_ids()
                .insert(agent.to_string(), id.trim().to_string());
        }
        listed
    }

    fn lock_ids(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, String>> {
        self.ids.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for DockerScope {
    fn drop(&mut self) {
        remove_labelled(&self.filter());
    }
}

/// "PID ARGS" of the host processes in the cgroup of container `id` (the engine names the
/// container's full id in its cgroup path with either cgroup driver), or `None` when none
/// is visible: the container stopped or was replaced, or its engine runs in another PID
/// namespace than this test.
pub(crate) fn host_processes_of(id: &str) -> Option<Vec<String>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        else {
            continue;
        };
        let in_container = std::fs::read_to_string(entry.path().join("cgroup"))
            .is_ok_and(|groups| groups.contains(id));
        if !in_container {
            continue;
        }
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|&b| b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        found.push(format!("{pid} {}", args.join(" ")));
    }
    (!found.is_empty()).then_some(found)
}

/// Single-quotes `s` for `sh`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// An image derived from the agent image by `dockerfile_tail` (lines after `FROM`), with
/// `files` (name, contents, mode) in its build context. Cheap to repeat: the engine
/// caches the layers.
pub fn derived_image(
    tag: &str,
    dockerfile_tail: &str,
    files: &[(&str, &str, u32)],
) -> anyhow::Result<String> {
    image_from(AGENT_IMAGE, tag, dockerfile_tail, files)
}

/// The plain Debian base the agent image is built on (`scripts/build-agent-image.sh`
/// imports it with debootstrap): bash and git, no Codex, no agent user, no folders.
pub const BASE_IMAGE: &str = "codex-mcp-base:bookworm";

/// An image built from [`BASE_IMAGE`] alone, offline: what a user's own toolchain image
/// looks like to mcpd (nothing prepared for it).
pub fn plain_image() -> anyhow::Result<String> {
    image_from(
        BASE_IMAGE,
        "codex-mcp-test-plain:bookworm",
        "LABEL codex-mcp.test=plain-image",
        &[],
    )
}

/// An image built `FROM base` with `dockerfile_tail` and `files` in its context.
fn image_from(
    base: &str,
    tag: &str,
    dockerfile_tail: &str,
    files: &[(&str, &str, u32)],
) -> anyhow::Result<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let ctx = tempfile::tempdir()?;
    std::fs::write(
        ctx.path().join("Dockerfile"),
        format!("FROM {base}\n{dockerfile_tail}\n"),
    )?;
    for (name, text, mode) in files {
        let path = ctx.path().join(name);
        std::fs::write(&path, text)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode))?;
    }
    let dir = ctx.path().display().to_string();
    docker_ok(&["build", "-q", "--network", "none", "-t", tag, &dir])?;
    Ok(tag.to_string())
}
