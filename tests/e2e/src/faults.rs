//! Fault injection for the end-to-end tests: a small tmpfs to fill (a full disk), a
//! private Docker engine that a test may restart without disturbing other tests, and
//! reading a finished agent's call records.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::Mcpd;

/// A tmpfs of a fixed size mounted on a fresh folder (root only); unmounted and removed
/// on drop, whatever the test did.
pub struct Tmpfs {
    /// The mount point.
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (a `mount -o size=` value such as `32m`).
    pub fn mount(size: &str) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("e2e-tmpfs").tempdir()?;
        let path = dir.path().join("mnt");
        std::fs::create_dir(&path)?;
        let out = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0700"),
                "tmpfs",
            ])
            .arg(&path)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "mount -t tmpfs failed (this test needs root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(Self { path, _dir: dir })
    }

    /// Writes `name` in 256 KiB pieces until the file system says it is full; returns
    /// the bytes written.
    pub fn fill(&self, name: &str) -> anyhow::Result<u64> {
        use std::io::Write as _;
        let mut file = std::fs::File::create(self.path.join(name))?;
        let chunk = vec![0x5a_u8; 256 << 10];
        let mut written = 0_u64;
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(n) => written += n as u64,
                Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
                Err(e) => return Err(e.into()),
            }
        }
        // Whatever is left (less than a piece) goes too.
        let mut byte = [0_u8; 1];
        while file.write(&byte).is_ok_and(|n| n == 1) {
            written += 1;
            byte[0] = byte[0].wrapping_add(1);
        }
        Ok(written)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: processes of a failed test may still hold files in it.
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
    }
}

/// A Docker engine of the test's own (own data root, exec root, socket and containerd),
/// so that it can be restarted without touching the engine other tests use. Stopped and
/// deleted on drop.
pub struct PrivateDockerd {
    /// `unix:///.../docker.sock`: the `DOCKER_HOST` for clients of this engine.
    pub host: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
    starts: usize,
}

impl PrivateDockerd {
    /// Starts the engine and waits until it answers (`--bridge=none`: containers get
    /// network mode `none` or `host` only).
    pub fn start() -> anyhow::Result<Self> {
        // Short path: a unix socket path must stay under 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("dockerd")
            .tempdir_in("/tmp")?;
        let host = format!("unix://{}/docker.sock", dir.path().display());
        let mut engine = Self {
            host,
            dir,
            child: None,
            starts: 0,
        };
        engine.spawn()?;
        Ok(engine)
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let d = self.dir.path();
        self.starts += 1;
        let log = std::fs::File::create(d.join(format!("dockerd-{}.log", self.starts)))?;
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("docker.pid"))
            .args(["-H", &self.host])
            .args(["--bridge=none", "--iptables=false", "--ip-masq=false"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()?;
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while self
            .docker(&["info", "--format", "{{.ServerVersion}}"])
            .is_err()
        {
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "the private dockerd did not answer within 60 s: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    }

    /// What the engine logged since its last start.
    pub fn log(&self) -> String {
        let path = self.dir.path().join(format!("dockerd-{}.log", self.starts));
        std::fs::read_to_string(path).unwrap_or_default()
    }

    /// Runs `docker ARGS` against this engine; its stdout, or an error with its stderr.
    pub fn docker(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new("docker")
            .env("DOCKER_HOST", &self.host)
            .args(args)
            .stdin(Stdio::null())
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "docker {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Copies `image` from the shared engine into this one (`docker save | docker load`).
    pub fn load_image(&self, image: &str) -> anyhow::Result<()> {
        let script = format!(
            "docker save {image} | DOCKER_HOST={} docker load -q",
            self.host
        );
        let out = Command::new("sh").args(["-c", &script]).output()?;
        anyhow::ensure!(
            out.status.success(),
            "copying {image} into the private engine failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    /// Stops the engine the way a service manager does (SIGTERM, which stops its
    /// containers), waits for it to exit, and starts it again on the same data.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.stop()?;
        self.spawn()
    }

    fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let pid = child.id().to_string();
        Command::new("kill").args(["-s", "TERM", &pid]).status()?;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while child.try_wait()?.is_none() {
            if std::time::Instant::now() > deadline {
                child.kill()?;
                child.wait()?;
                anyhow::bail!("the private dockerd ignored SIGTERM for 60 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }
}

impl Drop for PrivateDockerd {
    fn drop(&mut self) {
        if let Ok(ids) = self.docker(&["ps", "-aq"]) {
            for id in ids.split_whitespace() {
                let _ = self.docker(&["rm", "-f", "-v", id]);
            }
        }
        let _ = self.stop();
        // Anything dockerd left mounted under its roots would make the removal fail.
        let root = self.dir.path().display().to_string();
        if let Ok(mounts) = std::fs::read_to_string("/proc/self/mounts") {
            let mut inside: Vec<&str> = mounts
                .lines()
                .filter_map(|l| l.split_whitespace().nth(1))
                .filter(|m| m.starts_with(&root))
                .collect();
            inside.sort_by_key(|m| std::cmp::Reverse(m.len()));
            for m in inside {
                let _ = Command::new("umount").args(["-l", m]).status();
            }
        }
    }
}

/// The agent's calls as `get_agent_status` reports them, newest first: `(tool, status,
/// error)`.
pub async fn recent_calls(mcpd: &Mcpd, agent: &str) -> Vec<(String, String, Option<String>)> {
    let status = mcpd
        .call_tool("get_agent_status", json!({"agent_id": agent}))
        .await
        .unwrap_or_else(|e| panic!("get_agent_status {agent}: {e}"));
    let text = |v: &Value| v.as_str().map(str::to_string);
    status
        .pointer("/structuredContent/session/recent_calls")
        .and_then(Value::as_array)
        .map(|calls| {
            calls
                .iter()
                .map(|c| {
                    (
                        text(&c["tool"]).unwrap_or_default(),
                        text(&c["status"]).unwrap_or_default(),
                        text(&c["error"]),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Waits up to 15 s for the agent's newest call to be `tool` with `status` (the record
/// is written just after the caller got its answer); panics with the calls seen.
pub async fn wait_for_newest_call(mcpd: &Mcpd, agent: &str, tool: &str, status: &str) {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let calls = recent_calls(mcpd, agent).await;
        let newest = calls.first().map(|(t, st, _)| (t.as_str(), st.as_str()));
        if newest == Some((tool, status)) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{agent}'s newest call never became {tool} {status}: {calls:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// Sum of `calls_running` over every session `list_sessions` reports.
pub async fn calls_running(mcpd: &Mcpd) -> u64 {
    let listed = mcpd
        .call_tool("list_sessions", json!({}))
        .await
        .unwrap_or_else(|e| panic!("list_sessions: {e}"));
    listed
        .pointer("/structuredContent/sessions")
        .and_then(Value::as_array)
        .map(|s| s.iter().filter_map(|s| s["calls_running"].as_u64()).sum())
        .unwrap_or_default()
}
