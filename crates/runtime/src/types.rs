//! The runtime trait and the plain data it trades in.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{AgentId, ExecHandle, RuntimeError};

/// Which backend a runtime is, for logs, `doctor` and the container tools.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeKind {
    /// One container per agent.
    Docker,
    /// One host folder per agent.
    Local,
    /// One pod per agent.
    Kubernetes,
}

impl RuntimeKind {
    /// Whether agents run isolated from the host (a container or pod), so Codex's own
    /// sandbox is not used and the environment itself is the boundary.
    pub fn is_isolated(self) -> bool {
        matches!(self, Self::Docker | Self::Kubernetes)
    }
}

impl fmt::Display for RuntimeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Docker => "docker",
            Self::Local => "local",
            Self::Kubernetes => "kubernetes",
        })
    }
}

/// The value of `CODEX_MCP_RUNTIME`: which backend the operator wants.
///
/// `Auto` means Docker when [`crate::docker::DockerRuntime::probe`] succeeds (engine answers
/// and image exists), local otherwise; the engine decides, this type only parses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum RuntimeChoice {
    /// Docker if usable, else local.
    #[default]
    Auto,
    /// Docker or fail.
    Docker,
    /// Always local.
    Local,
    /// Pods in a Kubernetes cluster, or fail.
    Kubernetes,
}

impl FromStr for RuntimeChoice {
    type Err = RuntimeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" | "" => Ok(Self::Auto),
            "docker" => Ok(Self::Docker),
            "local" => Ok(Self::Local),
            "kubernetes" => Ok(Self::Kubernetes),
            _ => Err(RuntimeError::InvalidSetting {
                name: "CODEX_MCP_RUNTIME".into(),
                value: s.into(),
                reason: "use auto, docker, local or kubernetes".into(),
            }),
        }
    }
}

/// What the caller wants of an agent's environment beyond the runtime's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AgentSpec {
    /// A host folder to use as the workspace instead of the agent's own volume or folder.
    /// It must lie under one of the configured workspace roots (see
    /// [`crate::resolve_workspace`]). Changing it for an existing Docker agent recreates the
    /// container (volumes are kept).
    pub workspace_host_path: Option<PathBuf>,
}

impl AgentSpec {
    /// The default environment: the agent's own workspace.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses a host folder as the workspace.
    pub fn with_workspace_host_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.workspace_host_path = Some(path.into());
        self
    }
}

/// Where things are inside an agent's environment, as paths the agent's processes see.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AgentEnv {
    /// The project folder as every process sees it: read-only in Docker, so a tool that
    /// must not change it cannot, whatever the model does.
    pub workspace: String,
    /// The same folder, writable, for processes started with
    /// [`ExecSpec::writes_workspace`] (auto-mode writing tools). In Docker no other process
    /// can reach it; locally it is `workspace` (Codex's own sandbox keeps other runs out).
    pub live_workspace: String,
    /// The folder to pass as `CODEX_HOME` (conversation history, credentials, config).
    pub codex_home: String,
    /// A writable folder for throw-away copies, e.g. a read-only review's snapshot.
    pub scratch_root: String,
    /// The container's id (Docker only).
    pub container_id: Option<String>,
}

/// A process to run inside an agent's environment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecSpec {
    /// Program and arguments; `argv[0]` is looked up on the environment's `PATH`.
    pub argv: Vec<String>,
    /// Working directory inside the environment; the workspace when `None`.
    pub cwd: Option<String>,
    /// Extra environment variables (e.g. `CODEX_HOME`). Secrets belong in files written
    /// with `write_file`, not here: Docker shows exec environments in `docker inspect`.
    pub env: Vec<(String, String)>,
    /// Bytes written to the process's stdin, which is then closed. `None` closes it at once,
    /// which Codex needs so it does not wait for more prompt.
    pub stdin: Option<Vec<u8>>,
    /// Whether the process may write the live workspace (`AgentEnv::live_workspace`).
    /// Docker then runs it with the group that opens that folder and, after the agent's
    /// last such process ends, kills whatever it left running.
    pub writes_workspace: bool,
    /// Names the run so that a restarted server can find it again
    /// ([`AgentRuntime::reattach`]): the turn service passes the call's id. Letters,
    /// digits, `-` and `_` only; at most one running process per id and agent. `None`:
    /// an anonymous run, which a restarted server stops.
    pub run_id: Option<String>,
    /// Files [`AgentRuntime::stage_files`] uploaded for this run, moved into place just
    /// before the process starts.
    pub staged: Option<StagedFiles>,
}

impl ExecSpec {
    /// A spec running `argv` with no stdin, in the workspace.
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            argv: argv.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Sets the working directory.
    pub fn cwd(mut self, cwd: impl Into<String>) -> Self {
        self.cwd = Some(cwd.into());
        self
    }

    /// Adds one environment variable.
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Lets the process write the live workspace (see [`ExecSpec::writes_workspace`]).
    pub fn writing_workspace(mut self) -> Self {
        self.writes_workspace = true;
        self
    }

    /// Names the run (see [`ExecSpec::run_id`]).
    pub fn run_id(mut self, id: impl Into<String>) -> Self {
        self.run_id = Some(id.into());
        self
    }

    /// Installs `staged` when the run starts (see [`ExecSpec::staged`]).
    pub fn staged(mut self, staged: Option<StagedFiles>) -> Self {
        self.staged = staged;
        self
    }

    /// Sets the bytes fed to stdin.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }
}

/// One thing that happened to a running process.
///
/// Output is delivered line by line (without the line ending; invalid UTF-8 is replaced),
/// which is what Codex's JSONL needs. `Exited` is always the last event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecEvent {
    /// A line the process wrote to stdout.
    Stdout(String),
    /// A line the process wrote to stderr.
    Stderr(String),
    /// The process is gone. `None` when it was killed through the runtime
    /// ([`ExecHandle::kill`], dropping the handle, `stop` of a local agent) or its status
    /// could not be learned. A signal from elsewhere gives `None` locally but `128 + signal`
    /// in Docker, where the status is that of the small shell wrapper around the process.
    Exited(Option<i32>),
}

/// The lifecycle state of an agent's environment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AgentState {
    /// Ready to run processes.
    Running,
    /// Exists but stopped; `ensure` starts it again.
    Stopped,
    /// The container is gone but the agent's data (volumes) remains; `ensure` recreates it.
    Missing,
    /// `ensure` is creating or starting it right now.
    Creating,
}

impl fmt::Display for AgentState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Running => "running",
            Self::Stopped => "stopped",
            Self::Missing => "missing",
            Self::Creating => "creating",
        })
    }
}

/// What is known about one agent's environment, for the container tools and `mcpd agents`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AgentStatus {
    /// Whose environment.
    pub agent: AgentId,
    /// Its state.
    pub state: AgentState,
    /// The container's id (Docker only, when a container exists).
    pub container_id: Option<String>,
    /// When the container (or folder) was created.
    pub created_at: Option<DateTime<Utc>>,
    /// When it was last started.
    pub started_at: Option<DateTime<Utc>>,
    /// CPU use over about the last second, in percent of one CPU (Docker, running only).
    pub cpu_percent: Option<f64>,
    /// Memory in use, page cache excluded (Docker, running only).
    pub memory_bytes: Option<u64>,
    /// The memory limit in force.
    pub memory_limit_bytes: Option<u64>,
}

impl AgentStatus {
    /// A status with only the state known; backends fill in the rest.
    pub fn new(agent: AgentId, state: AgentState) -> Self {
        Self {
            agent,
            state,
            container_id: None,
            created_at: None,
            started_at: None,
            cpu_percent: None,
            memory_bytes: None,
            memory_limit_bytes: None,
        }
    }
}

/// Where agents live: the one interface the engine uses for both backends.
///
/// All methods are safe to call concurrently; `ensure` serialises itself per agent.
#[async_trait]
pub trait AgentRuntime: Send + Sync + 'static {
    /// Which backend this is.
    fn kind(&self) -> RuntimeKind;

    /// Creates and starts the agent's environment if needed and says where things are.
    /// Idempotent: calling it for a running agent only checks it.
    async fn ensure(&self, agent: &AgentId, spec: &AgentSpec) -> Result<AgentEnv, RuntimeError>;

    /// Starts a process in the agent's (running) environment and streams its output.
    async fn exec(&self, agent: &AgentId, cmd: ExecSpec) -> Result<ExecHandle, RuntimeError>;

    /// Writes a file owned by the agent's user with `mode`, creating missing parent folders.
    /// `path` is a path inside the environment under its workspace, Codex home or scratch
    /// root. The bytes never pass through environment variables, labels or command lines.
    async fn write_file(
        &self,
        agent: &AgentId,
        path: &str,
        bytes: &[u8],
        mode: u32,
    ) -> Result<(), RuntimeError>;

    /// Writes several files as [`write_file`](Self::write_file) would, in as few runtime
    /// round trips as the runtime can: the turn service rewrites `auth.json` and
    /// `config.toml` before every turn, and on Docker each upload is an API call.
    async fn write_files(
        &self,
        agent: &AgentId,
        files: &[FileToWrite<'_>],
    ) -> Result<(), RuntimeError> {
        for f in files {
            self.write_file(agent, f.path, f.bytes, f.mode).await?;
        }
        Ok(())
    }

    /// Writes `files` for the run `run_id` so that each replaces its target in one step
    /// when that run starts (pass the result as its [`ExecSpec::staged`]): a process of
    /// another run (another replica's turn on the same agent) that reads a target
    /// meanwhile finds the old file or the new one, whole and readable, never a missing,
    /// half-written or root-owned one. `None` when the files were written at once, which
    /// the default does: a runtime whose writes are already atomic (the local and
    /// Kubernetes ones write a temporary file and rename it).
    async fn stage_files(
        &self,
        agent: &AgentId,
        run_id: &str,
        files: &[FileToWrite<'_>],
    ) -> Result<Option<StagedFiles>, RuntimeError> {
        let _ = run_id;
        self.write_files(agent, files).await.map(|()| None)
    }

    /// Stops the run named `run_id` that another server started and left behind (it
    /// died): its process would otherwise hold what the next run needs (Codex keeps a
    /// thread's writer until it exits). Nothing happens when no such run is running. The
    /// default does nothing: the local and Kubernetes runtimes stop such runs at start.
    async fn stop_run(&self, agent: &AgentId, run_id: &str) -> Result<(), RuntimeError> {
        let _ = (agent, run_id);
        Ok(())
    }

    /// The run named `run_id` ([`ExecSpec::run_id`]) that a previous server started in
    /// the agent's environment and that is still there: `None` when it is gone (or the
    /// runtime cannot re-attach: the local and Kubernetes runtimes stop such runs at
    /// start). The handle delivers the run's whole output, from its start, once it has
    /// ended, then its exit status; killing or dropping it kills the run.
    async fn reattach(
        &self,
        agent: &AgentId,
        run_id: &str,
    ) -> Result<Option<ExecHandle>, RuntimeError> {
        let _ = (agent, run_id);
        Ok(None)
    }

    /// Stops the Codex runs a previous server left in the agents' environments, except
    /// those named in `keep` (by [`ExecSpec::run_id`]): runs the engine re-attaches to,
    /// and runs of other live servers sharing this runtime. The engine calls it once at
    /// start, after reading the store. The default does nothing: the local runtime stops
    /// such runs when it is created, and Kubernetes when it is adopted.
    async fn reap_left_runs(&self, keep: &[String]) -> Result<(), RuntimeError> {
        let _ = keep;
        Ok(())
    }

    /// The agent's state and resource use, `None` when the runtime knows nothing of it.
    async fn status(&self, agent: &AgentId) -> Result<Option<AgentStatus>, RuntimeError>;

    /// How many processes the kernel's OOM killer has killed in the agent's running
    /// environment since it started, when the runtime can tell (a memory-limited
    /// container); `None` when it cannot. Lets a failed call say "out of memory".
    async fn oom_kills(&self, agent: &AgentId) -> Result<Option<u64>, RuntimeError> {
        let _ = agent;
        Ok(None)
    }

    /// What the agent's own folders (workspace, Codex home, scratch) take on disk, when
    /// the runtime can tell: `None` for an agent it does not know, or (Docker) whose
    /// container is not running. A walk of at most [`DISK_FILE_CAP`] entries, so a huge
    /// workspace costs bounded work and gives a lower bound ([`DiskUsage::complete`]
    /// false). Callers should cache it: it reads every file's metadata.
    async fn disk_usage(&self, agent: &AgentId) -> Result<Option<DiskUsage>, RuntimeError>;

    /// Every agent this runtime manages.
    async fn list(&self) -> Result<Vec<AgentStatus>, RuntimeError>;

    /// Stops the agent's processes (and container); its data stays.
    async fn stop(&self, agent: &AgentId) -> Result<(), RuntimeError>;

    /// Removes the agent's environment; its data (volumes, folders) only when `purge_data`.
    async fn remove(&self, agent: &AgentId, purge_data: bool) -> Result<(), RuntimeError>;
}

/// How many files and folders [`AgentRuntime::disk_usage`] looks at, at most.
pub const DISK_FILE_CAP: u64 = 100_000;

/// What an agent's folders take on disk (allocated blocks, as `du` counts them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DiskUsage {
    /// Bytes allocated to the entries counted.
    pub bytes: u64,
    /// Files and folders counted.
    pub entries: u64,
    /// False when the walk stopped at [`DISK_FILE_CAP`] entries: `bytes` is then a lower
    /// bound.
    pub complete: bool,
}

impl DiskUsage {
    /// Nothing counted yet.
    pub(crate) fn start() -> Self {
        Self {
            complete: true,
            ..Self::default()
        }
    }

    /// Counts one entry of `bytes` allocated bytes; false (and nothing counted) once
    /// [`DISK_FILE_CAP`] entries are in: the walk should stop.
    pub(crate) fn add(&mut self, bytes: u64) -> bool {
        if self.entries >= DISK_FILE_CAP {
            self.complete = false;
            return false;
        }
        self.entries += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        true
    }
}

/// Files [`AgentRuntime::stage_files`] prepared for one run, which puts them in place
/// as it starts: uploaded beside their targets, or carried by the run itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StagedFiles {
    /// The folder holding the uploaded ones (removed once they are moved).
    pub(crate) folder: String,
    /// Each uploaded file's name in `folder` and the path it replaces.
    pub(crate) moves: Vec<(String, String)>,
    /// Files nothing uploaded: the run receives them ahead of its stdin and writes
    /// them itself (Docker: no archive upload, see `docker/carry.rs`).
    pub(crate) carried: Vec<CarriedFile>,
}

/// One file a run writes itself before it starts (see [`StagedFiles`]).
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct CarriedFile {
    /// The path it replaces.
    pub(crate) target: String,
    /// Its contents (credentials, maybe: never printed).
    pub(crate) bytes: Vec<u8>,
}

impl std::fmt::Debug for CarriedFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CarriedFile")
            .field("target", &self.target)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// One file for [`AgentRuntime::write_files`]: a path inside the environment (as for
/// `write_file`), its bytes and its mode.
#[derive(Debug, Clone, Copy)]
pub struct FileToWrite<'a> {
    /// Path inside the environment, under its workspace, Codex home or scratch root.
    pub path: &'a str,
    /// The file's contents.
    pub bytes: &'a [u8],
    /// Its permission bits.
    pub mode: u32,
}
