//! The credential the server settled on, where it came from, and how to tell it changed.

use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::authfile::{AuthFile, TokenSet};
use crate::fsutil::{self, FileStamp};
use crate::secret::Secret;

/// Where a credential was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An auth.json on the host.
    File(PathBuf),
    /// An environment variable (`OPENAI_API_KEY` or `CHATGPT_OAUTH_TOKEN`).
    Env(&'static str),
}

impl Source {
    /// The auth.json path, for sources that are files.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::File(p) => Some(p),
            Self::Env(_) => None,
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(p) => write!(f, "{}", p.display()),
            Self::Env(name) => write!(f, "env:{name}"),
        }
    }
}

/// A SHA-256 over credential content: equal fingerprints mean identical credentials, so
/// the runtime re-injects exactly when something changed.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// Fingerprint of arbitrary bytes.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Lower-case hex, for storing alongside an injected file.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.to_hex();
        write!(f, "Fingerprint({})", hex.get(..12).unwrap_or(&hex))
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// The login itself.
#[derive(Debug, Clone, PartialEq)]
pub enum Login {
    /// An OpenAI API key.
    ApiKey(Secret),
    /// A ChatGPT subscription login (boxed: it is much larger than a key).
    ChatGpt(Box<ChatGptLogin>),
}

/// A ChatGPT login: its tokens, and the file they came from when they may be written back.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatGptLogin {
    /// The tokens and their decoded claims.
    pub tokens: TokenSet,
    /// `last_refresh` of the source.
    pub last_refresh: Option<DateTime<Utc>>,
    /// The parsed source file; `None` for `CHATGPT_OAUTH_TOKEN`.
    pub(crate) file: Option<AuthFile>,
}

/// The credentials every agent receives, with enough provenance to notice a change at
/// the source and to refresh in place.
#[derive(Debug, Clone, PartialEq)]
pub struct Credentials {
    pub(crate) login: Login,
    pub(crate) source: Source,
    pub(crate) fingerprint: Fingerprint,
    pub(crate) stamp: Option<FileStamp>,
    pub(crate) loaded_at: DateTime<Utc>,
    /// Bumped by the refresher each time it installs new credentials; lets concurrent
    /// callers see that "their" credentials were already replaced (single-flight).
    pub(crate) generation: u64,
}

impl Credentials {
    pub(crate) fn new(
        login: Login,
        source: Source,
        fingerprint: Fingerprint,
        stamp: Option<FileStamp>,
        loaded_at: DateTime<Utc>,
    ) -> Self {
        Self {
            login,
            source,
            fingerprint,
            stamp,
            loaded_at,
            generation: 0,
        }
    }

    /// The login.
    pub fn login(&self) -> &Login {
        &self.login
    }

    /// Where it was found.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// Hash of the source content (the file's bytes, or the variable's value).
    pub fn fingerprint(&self) -> Fingerprint {
        self.fingerprint
    }

    /// The ChatGPT login, if that is what this is.
    pub fn chatgpt(&self) -> Option<&ChatGptLogin> {
        match &self.login {
            Login::ChatGpt(c) => Some(c),
            Login::ApiKey(_) => None,
        }
    }

    /// Expiry of the access token, seconds since the epoch.
    pub fn expires_at(&self) -> Option<i64> {
        self.chatgpt().and_then(|c| c.tokens.expires_at())
    }

    /// Whether the server can renew this login itself: a ChatGPT login from a file, with
    /// a refresh token.
    pub fn can_refresh(&self) -> bool {
        self.chatgpt()
            .is_some_and(|c| c.file.is_some() && c.tokens.refresh_token.is_some())
    }

    /// Whether the source file differs from what was loaded. Costs one `stat` when
    /// nothing changed; on a changed (or too recent to trust) stamp the content is
    /// hashed, so a `touch` alone does not count. Environment sources never change during
    /// a process's life.
    pub fn source_changed(&self) -> bool {
        let Some(path) = self.source.path() else {
            return false;
        };
        let now = FileStamp::current(path);
        if let (Some(then), Some(now)) = (&self.stamp, &now)
            && then.proves_unchanged(now)
        {
            return false;
        }
        match fsutil::read_regular(path) {
            Ok(Some((bytes, _))) => Fingerprint::of(&bytes) != self.fingerprint,
            _ => true,
        }
    }
}
