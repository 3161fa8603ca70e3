//! The one error type of the crate.

use std::path::PathBuf;

/// Everything that can go wrong in a runtime, each variant saying how to fix it.
///
/// Messages are meant to be shown to the operator as they are (by `mcpd doctor`, in tool
/// errors), so they name the setting, script or command that resolves the problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// An agent id broke the naming rule.
    #[error(transparent)]
    InvalidAgentId(#[from] codex_mcp_protocol::InvalidAgentId),

    /// The Docker engine did not answer.
    #[error(
        "cannot reach the Docker engine at {endpoint}: start dockerd (scripts/docker-setup.sh) or set CODEX_MCP_RUNTIME=local ({detail})"
    )]
    EngineUnreachable {
        /// The socket tried, as `unix:///path`.
        endpoint: String,
        /// The underlying failure.
        detail: String,
    },

    /// The configured agent image is not in the engine (there is no registry to pull from).
    #[error(
        "image {image} not found: build it with scripts/build-agent-image.sh (or point CODEX_MCP_AGENT_IMAGE at an existing image)"
    )]
    ImageMissing {
        /// The image reference looked up.
        image: String,
    },

    /// The agent image exists but its `codex` does not run.
    #[error(
        "image {image} has no working codex ({detail}): rebuild it with scripts/build-agent-image.sh (or point CODEX_MCP_AGENT_IMAGE at an image with codex on its PATH)"
    )]
    ImageLacksCodex {
        /// The image reference.
        image: String,
        /// What running `codex --version` in it gave.
        detail: String,
    },

    /// A requested host workspace is not under any allowed root.
    #[error(
        "workspace {path} is outside the allowed roots [{roots}]: add a parent folder to CODEX_MCP_WORKSPACE_ROOTS"
    )]
    WorkspaceOutsideRoots {
        /// The workspace as resolved (symlinks followed).
        path: PathBuf,
        /// The allowed roots, comma separated (empty when none are configured).
        roots: String,
    },

    /// A requested host workspace is malformed or unusable.
    #[error("workspace {path}: {reason}")]
    InvalidWorkspace {
        /// The workspace as given.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// The agent has no environment at all.
    #[error("agent {agent} has no environment: call ensure first")]
    NotFound {
        /// The agent asked about.
        agent: String,
    },

    /// The agent's environment exists but is not running.
    #[error("agent {agent} is not running ({state}): call ensure to start it")]
    NotRunning {
        /// The agent asked about.
        agent: String,
        /// Its current state, in words.
        state: String,
    },

    /// `write_file` was asked to write outside the agent's writable folders.
    #[error("cannot write {path:?} for agent {agent}: write under one of {allowed}")]
    PathNotAllowed {
        /// The agent.
        agent: String,
        /// The refused path.
        path: String,
        /// The folders that are writable.
        allowed: String,
    },

    /// A setting (environment variable) has a value that cannot be used.
    #[error("invalid setting {name}={value:?}: {reason}")]
    InvalidSetting {
        /// The setting's name, e.g. `CONTAINER_MEMORY_LIMIT`.
        name: String,
        /// The refused value.
        value: String,
        /// What a valid value looks like.
        reason: String,
    },

    /// A Docker object with one of our names exists without our labels; it is left alone.
    #[error(
        "{kind} {name} exists but is not labelled codex-mcp.managed=true for agent {agent}: remove or rename it, codex-mcp does not touch objects it did not create"
    )]
    Unmanaged {
        /// `container` or `volume`.
        kind: &'static str,
        /// The object's name.
        name: String,
        /// The agent it would have belonged to.
        agent: String,
    },

    /// An exec request was malformed.
    #[error("invalid exec request: {0}")]
    InvalidExec(String),

    /// The engine refused or failed an operation.
    #[error("Docker engine error during {op}: {message}")]
    Docker {
        /// What we were doing.
        op: &'static str,
        /// The HTTP status the engine answered with, when it answered.
        status: Option<u16>,
        /// The engine's message.
        message: String,
    },

    /// The Kubernetes API server did not answer (or no cluster is configured).
    #[error(
        "cannot reach the Kubernetes cluster: set KUBECONFIG (or run mcpd in the cluster with its service account), or pick another CODEX_MCP_RUNTIME ({detail})"
    )]
    ClusterUnreachable {
        /// The underlying failure.
        detail: String,
    },

    /// The Kubernetes API refused or failed an operation.
    #[error("Kubernetes error during {op}: {message}")]
    Kubernetes {
        /// What we were doing.
        op: &'static str,
        /// The HTTP status the API server answered with, when it answered.
        status: Option<u16>,
        /// The API server's message.
        message: String,
    },

    /// A host write found no space left: the message names the disk and the fix, as the
    /// store's does for its own file.
    #[error(
        "the disk holding {path} is full ({op}): free some space, or point CODEX_MCP_DATA_DIR \
         (where the agents' folders live) at a bigger disk"
    )]
    DiskFull {
        /// What we were doing.
        op: &'static str,
        /// The path whose write failed.
        path: PathBuf,
    },

    /// A host file system operation failed (local backend, bind validation).
    #[error("{op} {path}: {source}")]
    Io {
        /// What we were doing.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl RuntimeError {
    /// Wraps an I/O error with the operation and path, which `std::io::Error` lacks; a
    /// full disk becomes [`Self::DiskFull`], which says what to do about it.
    pub(crate) fn io(
        op: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| {
            if source.kind() == std::io::ErrorKind::StorageFull {
                Self::DiskFull { op, path }
            } else {
                Self::Io { op, path, source }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_full_disk_names_itself_and_the_setting_and_other_errors_stay_as_they_were() {
        let full = RuntimeError::io("write", "/data/agents/a/codex-home/auth.json")(
            std::io::Error::from_raw_os_error(28),
        );
        assert_eq!(
            full.to_string(),
            "the disk holding /data/agents/a/codex-home/auth.json is full (write): free some \
             space, or point CODEX_MCP_DATA_DIR (where the agents' folders live) at a bigger disk"
        );
        let denied = RuntimeError::io("write", "/x")(std::io::Error::from_raw_os_error(13));
        assert_eq!(
            denied.to_string(),
            "write /x: Permission denied (os error 13)"
        );
    }
}
