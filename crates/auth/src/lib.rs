//! # codex-mcp-auth
//!
//! Finds the credentials Codex runs on, reports them without revealing them, and prepares
//! what each agent's Codex home receives, so that "it just works" on a ChatGPT
//! subscription (the login `codex login` keeps in `~/.codex/auth.json`) or an API key.
//!
//! - [`detect()`] searches `CODEX_AUTH_DIR`, `~/.codex`, `$USERPROFILE/.codex`,
//!   `$HOME/.codex`, then `CHATGPT_OAUTH_TOKEN` and `OPENAI_API_KEY`, honouring
//!   `CODEX_AUTH_METHOD` and `CODEX_PREFER_OAUTH`. Its inputs are a plain struct
//!   ([`DetectInputs`]), so tests never touch the process environment.
//! - [`AuthStatus`] is the one shape behind `mcpd auth status`, `health_check` and
//!   `/health`: method, source, expiry, plan, masked account, problems as sentences.
//! - [`TokenRefresher`] makes the server the only party that ever spends the shared,
//!   single-use ChatGPT refresh token: agents receive a ticket instead
//!   ([`BrokerKey`]), the server refreshes once for everyone (single-flight) and writes
//!   the result back to the host's auth.json. `docs/auth.md` explains the design.
//! - [`AgentAuthFile`] and [`write_agent_auth`] are what the runtimes install (mode 0600,
//!   atomically), with a fingerprint to re-inject only on change.
//!
//! No value of a secret reaches `Debug`, `Display`, an error or a status: secrets live in
//! [`Secret`], whose formatting is redacted.

pub mod authfile;
pub mod broker;
pub mod credentials;
pub mod detect;
pub mod error;
mod fsutil;
pub mod inject;
pub mod jwt;
pub mod login;
pub mod refresh;
pub mod secret;
pub mod settings;
pub mod status;

pub use broker::{BrokerKey, TICKET_LIFETIME, TicketRefusal};
pub use credentials::{ChatGptLogin, Credentials, Fingerprint, Login, Source};
pub use detect::{DetectInputs, Detection, NO_CREDENTIALS_MESSAGE, detect, detect_at};
pub use error::{AuthError, RefreshError};
pub use fsutil::{AUTH_FILE_MODE, FileStamp, ReadProblem};
pub use inject::{AGENT_ENV_REMOVE, AgentAuthFile, REFRESH_URL_ENV, write_agent_auth};
pub use login::{LoginCommand, login_command};
pub use refresh::{
    BrokerReply, CODEX_CLIENT_ID, DEFAULT_TOKEN_URL, LoginShare, RefreshConfig, ShareError,
    ShareHold, TokenRefresher,
};
pub use secret::Secret;
pub use settings::{MethodSetting, Settings};
pub use status::{AuthMethod, AuthStatus};
