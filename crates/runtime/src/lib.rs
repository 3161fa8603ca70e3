//! Where a codex-mcp agent lives.
//!
//! Every calling AI agent gets its own persistent environment in which the Codex CLI runs.
//! This crate hides *where* that is behind one trait, [`AgentRuntime`], so the engine
//! (`codex-mcp-core`) can ensure an agent's environment exists, run processes in it with
//! streamed output and a kill switch, copy files in (credentials, schemas) and report on it,
//! without knowing which backend is in use:
//!
//! - [`docker::DockerRuntime`]: one long-running, hardened container per agent, with the
//!   agent's workspace, Codex home and scratch space on named volumes that outlive the
//!   container. Found again after a restart through its labels.
//! - [`kubernetes::KubernetesRuntime`]: one hardened pod per agent with its data on three
//!   PVCs; processes through the exec API. Found again after a restart through its labels.
//! - [`local::LocalRuntime`]: a private folder per agent on the host and plain child
//!   processes, for machines without Docker.
//!
//! The crate does no policy: which backend to use, and when to stop or remove agents, is the
//! engine's call. `docs/runtime.md` in the repository describes both backends in depth.

mod disk;
mod error;
mod handle;
mod limits;
mod locks;
mod procfs;
mod types;
mod workspace;

pub mod docker;
pub mod kubernetes;
pub mod local;

pub use codex_mcp_protocol::AgentId;
pub use error::RuntimeError;
pub use handle::{ExecHandle, ExecOutput, OutputTooLarge};
pub use limits::{parse_cpu_limit, parse_memory_limit, parse_size, parse_workspace_roots};
pub(crate) use types::CarriedFile;
pub use types::{
    AgentEnv, AgentRuntime, AgentSpec, AgentState, AgentStatus, DISK_FILE_CAP, DiskUsage,
    ExecEvent, ExecSpec, FileToWrite, RuntimeChoice, RuntimeKind, StagedFiles,
};
pub use workspace::resolve_workspace;
