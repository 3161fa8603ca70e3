//! The local backend: a private folder per agent on the host and plain child processes.
//!
//! For machines without Docker. Isolation is by folder only (the processes run as the
//! server's own user), so it suits a developer's machine, not a shared server: see
//! `docs/runtime.md`.
//!
//! Layout: `<data_dir>/agents/<id>/{workspace,codex-home,scratch}`, each created 0700.
//! Processes get a scrubbed environment (see [`PASSTHROUGH_ENV`]) plus the caller's
//! variables, run in a process group of their own, and are killed with their whole tree.

use std::collections::HashMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::handle::{self, Chunk, ExecParts, Killer};
use crate::locks::AgentLocks;
use crate::{
    AgentEnv, AgentId, AgentRuntime, AgentSpec, AgentState, AgentStatus, DiskUsage, ExecHandle,
    ExecSpec, FileToWrite, RuntimeError, RuntimeKind, resolve_workspace,
};
use crate::{disk, procfs};

/// Set in every process this backend starts, to its agents folder: marks processes a
/// later server on the same data folder may treat as its own orphans.
pub const OWNER_ENV: &str = "CODEX_MCP_LOCAL_OWNER";

/// Host environment variables a local process inherits; everything else (API keys above
/// all) is withheld, because credentials reach Codex through its home folder instead.
pub const PASSTHROUGH_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
];

/// Settings of the local backend.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LocalConfig {
    /// The server's data folder (`CODEX_MCP_DATA_DIR`); agents live in `agents/` below it.
    pub data_dir: PathBuf,
    /// Host folders an agent may use as its workspace (`CODEX_MCP_WORKSPACE_ROOTS`).
    pub workspace_roots: Vec<PathBuf>,
    /// How long a killed process tree gets between SIGTERM and SIGKILL.
    pub kill_grace: Duration,
}

impl LocalConfig {
    /// Defaults for a data folder: no host workspaces allowed, 2 s kill grace.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            workspace_roots: Vec::new(),
            kill_grace: Duration::from_secs(2),
        }
    }

    /// Sets the allowed workspace roots.
    pub fn with_workspace_roots(mut self, roots: Vec<PathBuf>) -> Self {
        self.workspace_roots = roots;
        self
    }

    /// Sets the kill grace period.
    pub fn with_kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = grace;
        self
    }
}

#[derive(Debug)]
struct Active {
    env: AgentEnv,
    started_at: DateTime<Utc>,
    execs: Vec<Killer>,
}

/// Agents as folders on the host. See the module documentation.
#[derive(Debug)]
pub struct LocalRuntime {
    cfg: LocalConfig,
    active: Mutex<HashMap<AgentId, Active>>,
    locks: AgentLocks,
}

impl LocalRuntime {
    /// A runtime over `cfg.data_dir`. Nothing is touched until the first `ensure`.
    pub fn new(cfg: LocalConfig) -> Self {
        Self {
            cfg,
            active: Mutex::new(HashMap::new()),
            locks: AgentLocks::default(),
        }
    }

    /// The value of [`OWNER_ENV`] in this runtime's processes.
    fn owner_mark(&self) -> String {
        self.agents_dir().display().to_string()
    }

    /// Kills processes a previous server on the same data folder started and left
    /// behind when it died (e.g. killed with SIGKILL mid-call), with their whole trees.
    /// Only correct before this runtime starts anything: every marked process is then
    /// an orphan. Returns how many trees were killed.
    pub async fn reap_orphans(&self) -> usize {
        let entry = format!("{OWNER_ENV}={}", self.owner_mark());
        let roots = procfs::with_env_entry(&entry);
        let own = std::process::id() as i32;
        let mut killed = 0;
        for pid in roots.into_iter().filter(|p| *p != own) {
            // Descendants carry the mark too; one still alive after its root's tree
            // was killed is killed on its own.
            if procfs::read_stat(pid).is_some_and(|p| !p.zombie) {
                procfs::kill_tree(pid, self.cfg.kill_grace).await;
                killed += 1;
            }
        }
        killed
    }

    fn agents_dir(&self) -> PathBuf {
        self.cfg.data_dir.join("agents")
    }

    fn agent_dir(&self, agent: &AgentId) -> PathBuf {
        self.agents_dir().join(agent.as_str())
    }

    fn active(&self) -> std::sync::MutexGuard<'_, HashMap<AgentId, Active>> {
        self.active.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The agent's env if `ensure` has run, else the right error.
    fn env_of(&self, agent: &AgentId) -> Result<AgentEnv, RuntimeError> {
        if let Some(a) = self.active().get(agent) {
            return Ok(a.env.clone());
        }
        Err(if self.agent_dir(agent).is_dir() {
            RuntimeError::NotRunning {
                agent: agent.to_string(),
                state: "stopped".into(),
            }
        } else {
            RuntimeError::NotFound {
                agent: agent.to_string(),
            }
        })
    }

    fn folder_status(&self, agent: &AgentId) -> Option<AgentStatus> {
        let dir = self.agent_dir(agent);
        let meta = std::fs::metadata(&dir).ok().filter(|m| m.is_dir())?;
        let mut st = AgentStatus::new(agent.clone(), AgentState::Stopped);
        st.created_at = meta
            .created()
            .or_else(|_| meta.modified())
            .ok()
            .map(Into::into);
        if let Some(a) = self.active().get(agent) {
            st.state = AgentState::Running;
            st.started_at = Some(a.started_at);
        } else if self.locks.is_locked(agent) {
            st.state = AgentState::Creating;
        }
        Some(st)
    }

    async fn kill_execs(&self, agent: &AgentId) {
        let killers = self
            .active()
            .get_mut(agent)
            .map(|a| std::mem::take(&mut a.execs))
            .unwrap_or_default();
        futures::future::join_all(killers.iter().map(Killer::kill)).await;
    }
}

pub(super) fn mkdir_private(path: &Path) -> Result<(), RuntimeError> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(RuntimeError::io("create folder", path))
}

fn path_string(p: &Path) -> Result<String, RuntimeError> {
    p.to_str()
        .map(str::to_string)
        .ok_or_else(|| RuntimeError::InvalidWorkspace {
            path: p.to_path_buf(),
            reason: "is not valid UTF-8".into(),
        })
}

/// Reads `r` to its end as a stream of chunks.
fn chunks<R: AsyncRead + Unpin + Send + 'static>(
    r: R,
    wrap: fn(Vec<u8>) -> Chunk,
) -> impl futures::Stream<Item = Chunk> + Send {
    futures::stream::unfold(r, move |mut r| async move {
        let mut buf = vec![0u8; 16 * 1024];
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((wrap(buf), r))
            }
        }
    })
}

#[async_trait]
impl AgentRuntime for LocalRuntime {
    fn kind(&self) -> RuntimeKind {
        RuntimeKind::Local
    }

    async fn ensure(&self, agent: &AgentId, spec: &AgentSpec) -> Result<AgentEnv, RuntimeError> {
        let _guard = self.locks.lock(agent).await;
        let dir = self.agent_dir(agent);
        mkdir_private(&self.agents_dir())?;
        let workspace = match &spec.workspace_host_path {
            Some(host) => resolve_workspace(host, &self.cfg.workspace_roots)?,
            None => dir.join("workspace"),
        };
        for sub in [dir.join("codex-home"), dir.join("scratch")] {
            mkdir_private(&sub)?;
        }
        if spec.workspace_host_path.is_none() {
            mkdir_private(&workspace)?;
        }
        let env = AgentEnv {
            workspace: path_string(&workspace)?,
            live_workspace: path_string(&workspace)?,
            codex_home: path_string(&dir.join("codex-home"))?,
            scratch_root: path_string(&dir.join("scratch"))?,
            container_id: None,
        };
        let mut active = self.active();
        let entry = active.entry(agent.clone()).or_insert_with(|| Active {
            env: env.clone(),
            started_at: Utc::now(),
            execs: Vec::new(),
        });
        entry.env = env.clone();
        Ok(env)
    }

    async fn exec(&self, agent: &AgentId, cmd: ExecSpec) -> Result<ExecHandle, RuntimeError> {
        let env = self.env_of(agent)?;
        let Some((program, args)) = cmd.argv.split_first() else {
            return Err(RuntimeError::InvalidExec("argv is empty".into()));
        };
        let cwd = cmd.cwd.clone().unwrap_or_else(|| env.workspace.clone());
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .current_dir(&cwd)
            .env_clear()
            .envs(
                PASSTHROUGH_ENV
                    .iter()
                    .filter_map(|k| Some((*k, std::env::var_os(k)?))),
            )
            .envs(cmd.env.iter().map(|(k, v)| (k, v)))
            .env(OWNER_ENV, self.owner_mark())
            .stdin(if cmd.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command
            .spawn()
            .map_err(RuntimeError::io("start process", PathBuf::from(program)))?;
        let pid = child
            .id()
            .and_then(|p| i32::try_from(p).ok())
            .ok_or_else(|| {
                RuntimeError::InvalidExec("process exited before it could be tracked".into())
            })?;
        if let (Some(mut stdin), Some(bytes)) = (child.stdin.take(), cmd.stdin) {
            tokio::spawn(async move {
                // A process that does not read its input makes this fail: not our error.
                let _ = stdin.write_all(&bytes).await;
                let _ = stdin.shutdown().await;
            });
        }
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(RuntimeError::InvalidExec(
                "process pipes unavailable".into(),
            ));
        };
        let output =
            futures::stream::select(chunks(stdout, Chunk::Stdout), chunks(stderr, Chunk::Stderr));
        let grace = self.cfg.kill_grace;
        let handle = handle::spawn(ExecParts {
            output: Box::pin(output),
            kill: Box::new(move || Box::pin(procfs::kill_tree(pid, grace))),
            finish: Box::new(move |killed| {
                Box::pin(async move {
                    let status = child.wait().await.ok();
                    if killed {
                        None
                    } else {
                        status.and_then(|s| s.code())
                    }
                })
            }),
        });
        if let Some(a) = self.active().get_mut(agent) {
            a.execs.retain(|k| !k.is_done());
            a.execs.push(handle.killer());
        }
        Ok(handle)
    }

    async fn write_file(
        &self,
        agent: &AgentId,
        path: &str,
        bytes: &[u8],
        mode: u32,
    ) -> Result<(), RuntimeError> {
        let file = FileToWrite { path, bytes, mode };
        self.write_files(agent, std::slice::from_ref(&file)).await
    }

    async fn write_files(
        &self,
        agent: &AgentId,
        files: &[FileToWrite<'_>],
    ) -> Result<(), RuntimeError> {
        let env = self.env_of(agent)?;
        files::write(agent, &env, files).await
    }

    async fn status(&self, agent: &AgentId) -> Result<Option<AgentStatus>, RuntimeError> {
        Ok(self.folder_status(agent))
    }

    async fn disk_usage(&self, agent: &AgentId) -> Result<Option<DiskUsage>, RuntimeError> {
        let dir = self.agent_dir(agent);
        if !dir.is_dir() {
            return Ok(None);
        }
        // The agent's folder holds its workspace, Codex home and scratch; a host folder
        // used as its workspace lies elsewhere and counts too.
        let mut roots = vec![dir.clone()];
        if let Some(a) = self.active().get(agent) {
            let workspace = PathBuf::from(&a.env.workspace);
            if !workspace.starts_with(&dir) {
                roots.push(workspace);
            }
        }
        tokio::task::spawn_blocking(move || disk::walk(&roots))
            .await
            .map(Some)
            .map_err(|e| RuntimeError::io("measure", dir)(std::io::Error::other(e)))
    }

    async fn list(&self) -> Result<Vec<AgentStatus>, RuntimeError> {
        let dir = self.agents_dir();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(RuntimeError::io("list", dir)(e)),
        };
        let mut out: Vec<AgentStatus> = entries
            .filter_map(|e| AgentId::new(e.ok()?.file_name().to_str()?).ok())
            .filter_map(|id| self.folder_status(&id))
            .collect();
        out.sort_by(|a, b| a.agent.cmp(&b.agent));
        Ok(out)
    }

    async fn stop(&self, agent: &AgentId) -> Result<(), RuntimeError> {
        let _guard = self.locks.lock(agent).await;
        self.kill_execs(agent).await;
        self.active().remove(agent);
        Ok(())
    }

    async fn remove(&self, agent: &AgentId, purge_data: bool) -> Result<(), RuntimeError> {
        self.stop(agent).await?;
        if purge_data {
            let _guard = self.locks.lock(agent).await;
            let dir = self.agent_dir(agent);
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(RuntimeError::io("remove", dir)(e)),
            }
        }
        Ok(())
    }
}

mod files;
