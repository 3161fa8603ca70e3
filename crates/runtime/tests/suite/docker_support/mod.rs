//! Shared fixtures of the Docker runtime tests: the busybox test image, a per-test slice of
//! the engine that cleans up after itself, and small helpers.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use bollard::query_parameters::TopOptionsBuilder;
use codex_mcp_runtime::docker::{DockerConfig, DockerRuntime};
use codex_mcp_runtime::{AgentId, AgentRuntime, ExecOutput, ExecSpec};

pub const BUSYBOX_IMAGE: &str = "codex-mcp-test-busybox:1";

pub use codex_mcp_testkit::docker::{AGENT_IMAGE, docker_cli};
use codex_mcp_testkit::docker::{labelled_containers, remove_labelled};
pub use codex_mcp_testkit::is_ci as ci;

pub fn image_exists(image: &str) -> bool {
    docker_cli(&["image", "inspect", "--format", "{{.Id}}", image]).is_some()
}

/// A tiny image for tests that need no Codex: busybox (from Debian's busybox-static) with
/// its applets, an `agent` user 1000 and the runtime's mount points owned by it. Built in
/// memory and imported once.
pub fn ensure_busybox_image() {
    static BUILT: Mutex<bool> = Mutex::new(false);
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if *built || image_exists(BUSYBOX_IMAGE) {
        *built = true;
        return;
    }
    let busybox = std::fs::read("/bin/busybox")
        .expect("/bin/busybox missing: run scripts/docker-setup.sh (installs busybox-static)");
    let applets = Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .unwrap()
        .stdout;
    let mut b = tar::Builder::new(Vec::new());
    let mut entry =
        |path: &str, kind: tar::EntryType, mode: u32, uid: u64, data: &[u8], link: Option<&str>| {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(kind);
            h.set_mode(mode);
            h.set_uid(uid);
            h.set_gid(uid);
            h.set_size(data.len() as u64);
            h.set_mtime(1_700_000_000);
            match link {
                Some(target) => b.append_link(&mut h, path, target).unwrap(),
                None => b.append_data(&mut h, path, data).unwrap(),
            }
        };
    use tar::EntryType::{Directory as D, Regular as F, Symlink as L};
    for (dir, mode, uid) in [
        ("bin", 0o755, 0),
        ("etc", 0o755, 0),
        ("tmp", 0o1777, 0),
        ("proc", 0o755, 0),
        ("sys", 0o755, 0),
        ("dev", 0o755, 0),
        ("home", 0o755, 0),
        ("workspace", 0o755, 1000),
        ("home/agent", 0o700, 1000),
        ("home/agent/.codex", 0o700, 1000),
        ("scratch", 0o700, 1000),
    ] {
        entry(dir, D, mode, uid, &[], None);
    }
    entry("bin/busybox", F, 0o755, 0, &busybox, None);
    for applet in String::from_utf8_lossy(&applets).split_whitespace() {
        if applet != "busybox" {
            entry(&format!("bin/{applet}"), L, 0o777, 0, &[], Some("busybox"));
        }
    }
    entry(
        "etc/passwd",
        F,
        0o644,
        0,
        b"root:x:0:0:root:/root:/bin/sh\nagent:x:1000:1000:agent:/home/agent:/bin/sh\n",
        None,
    );
    entry(
        "etc/group",
        F,
        0o644,
        0,
        b"root:x:0:\nagent:x:1000:\n",
        None,
    );
    let tarball = b.into_inner().unwrap();
    let mut child = Command::new("docker")
        .args(["import", "--change", "ENV PATH=/bin", "-", BUSYBOX_IMAGE])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&tarball).unwrap();
    assert!(
        child.wait().unwrap().success(),
        "docker import of the busybox test image failed"
    );
    *built = true;
}

/// One test's slice of the engine: its own prefix and label, cleaned up on drop.
pub struct TestEnv {
    pub run: String,
    pub rt: DockerRuntime,
    /// Whether processes run under the shell scripts rather than the run helper.
    pub scripted: bool,
}

impl TestEnv {
    /// `None` (after a loud notice) when no engine answers outside CI.
    pub async fn new(image: &str) -> Option<Self> {
        Self::new_wrapped(image, false).await
    }

    /// [`TestEnv::new`] whose agents run their processes under the shell scripts
    /// (`scripted`) or, as by default, the run helper of mcpd's agent image.
    pub async fn new_wrapped(image: &str, scripted: bool) -> Option<Self> {
        if docker_cli(&["info", "--format", "{{.ServerVersion}}"]).is_none() {
            let msg = "no Docker engine: run scripts/docker-setup.sh (as root) to run the Docker runtime tests";
            if ci() {
                panic!("{msg}");
            }
            eprintln!("\n!!!!!!!! SKIPPING: {msg} !!!!!!!!\n");
            return None;
        }
        if image == BUSYBOX_IMAGE {
            ensure_busybox_image();
        } else if !image_exists(image) {
            let msg = format!("image {image} missing: run scripts/build-agent-image.sh");
            if ci() {
                panic!("{msg}");
            }
            eprintln!("\n!!!!!!!! SKIPPING: {msg} !!!!!!!!\n");
            return None;
        }
        let run = format!("t{}x{:08x}", std::process::id(), rand::random::<u32>());
        let config = Self::wrapped_config(&run, image, scripted);
        let rt = DockerRuntime::connect(config).await.unwrap();
        Some(Self { run, rt, scripted })
    }

    /// This test's configuration for agents of `image`.
    pub fn config_for(&self, image: &str) -> DockerConfig {
        Self::wrapped_config(&self.run, image, self.scripted)
    }

    fn wrapped_config(run: &str, image: &str, scripted: bool) -> DockerConfig {
        let c = Self::config(run, image);
        c.with_run_helper(!scripted)
    }

    pub fn config(run: &str, image: &str) -> DockerConfig {
        DockerConfig::default()
            .with_image(image)
            .with_network_mode("none")
            .with_name_prefix(format!("cmt-{run}-"))
            .with_label("codex-mcp.test-run", run)
            .with_limits(Some(1_500_000_000), Some(256 << 20))
            .with_kill_grace(Duration::from_millis(500))
    }

    /// A second runtime over the same objects, as after a server restart.
    pub async fn restart(&self, image: &str) -> DockerRuntime {
        DockerRuntime::connect(self.config_for(image))
            .await
            .unwrap()
    }

    pub fn label(&self) -> String {
        format!("label=codex-mcp.test-run={}", self.run)
    }

    pub fn containers(&self) -> Vec<String> {
        labelled_containers(&self.label())
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        remove_labelled(&self.label());
    }
}

macro_rules! env_or_return {
    ($image:expr) => {
        match TestEnv::new($image).await {
            Some(t) => t,
            None => return,
        }
    };
    ($image:expr, scripted: $scripted:expr) => {
        match TestEnv::new_wrapped($image, $scripted).await {
            Some(t) => t,
            None => return,
        }
    };
}

pub fn id(s: &str) -> AgentId {
    AgentId::new(s).unwrap()
}

pub async fn run(rt: &DockerRuntime, agent: &AgentId, argv: &[&str]) -> ExecOutput {
    run_spec(rt, agent, ExecSpec::new(argv.iter().copied())).await
}

/// Runs `spec` to its end.
pub async fn run_spec(rt: &DockerRuntime, agent: &AgentId, spec: ExecSpec) -> ExecOutput {
    rt.exec(agent, spec).await.unwrap().collect().await
}

/// Commands of the container's processes (via the engine's `top`, from outside).
pub async fn top(rt: &DockerRuntime, agent: &AgentId) -> Vec<String> {
    let opts = TopOptionsBuilder::new().ps_args("-eo pid,args").build();
    // A container just started may still show `runc init` for its first process (the
    // engine's start returns before that process has become the image's command, which
    // takes a while on a loaded machine): wait for the settled list.
    for _ in 0..100 {
        let t = rt
            .client()
            .top_processes(&rt.container_name(agent), Some(opts.clone()))
            .await
            .unwrap();
        let procs: Vec<String> = t
            .processes
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.join(" "))
            .collect();
        if !procs.iter().any(|p| p.ends_with("runc init")) {
            return procs;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the container of {agent} still shows `runc init` after 10 s");
}
