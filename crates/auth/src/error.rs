//! The crate's error type. No variant carries a credential: messages name files, fields
//! and settings, and are written to be shown to a person as they are.

use std::path::PathBuf;

/// What went wrong, in words a tool error or `mcpd auth status` can show unchanged.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No usable credentials; the message says how to provide some.
    #[error("{0}")]
    NoCredentials(String),
    /// A setting has a value outside its vocabulary.
    #[error("{name} is {value}, which is not one of {expected}")]
    InvalidSetting {
        /// The environment variable.
        name: &'static str,
        /// The value, or a placeholder when it might be a secret.
        value: String,
        /// The accepted values.
        expected: &'static str,
    },
    /// Reading or writing a credential file failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What we were doing ("cannot write", ...).
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// Refreshing the ChatGPT login failed.
    #[error(transparent)]
    Refresh(#[from] RefreshError),
}

/// Why the ChatGPT login could not be refreshed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    /// The token endpoint rejected the refresh token for good (expired, reused, revoked):
    /// only a new `codex login` helps, so we stop asking until the source changes.
    #[error(
        "the ChatGPT login could not be refreshed ({reason}); run `codex login` on the host to sign in again"
    )]
    Permanent {
        /// The endpoint's error code or HTTP status, never its body.
        reason: String,
    },
    /// A network or server failure that may pass.
    #[error("the ChatGPT login could not be refreshed right now ({reason}); it will be retried")]
    Transient {
        /// What failed.
        reason: String,
    },
    /// The login cannot be refreshed by us at all (no refresh token, token from an
    /// environment variable, or a source we may not write back to).
    #[error("{0}")]
    NotRefreshable(String),
}

impl RefreshError {
    /// Whether trying again with the same refresh token can ever succeed.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Permanent { .. } | Self::NotRefreshable(_))
    }
}
