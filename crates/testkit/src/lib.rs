//! Test support for codex-mcp (never a dependency of shipped code).
//!
//! The only simulated part of codex-mcp's tests is the model behind Codex. This crate
//! provides:
//! - [`ScriptedModel`]: an OpenAI Responses-API server on 127.0.0.1 that tests program per
//!   request ([`Reply`]: text, JSON, `exec_command` calls, HTTP errors, broken or hanging
//!   streams, per-request functions) and that records every request ([`RecordedRequest`]).
//! - [`codex_bin`] / [`codex_vendor_dir`]: the real Codex CLI, pinned to
//!   [`CODEX_VERSION`], installed once with npm into a shared cache (or `CODEX_BIN`).
//! - [`CodexHome`]: a `CODEX_HOME` whose `config.toml` sends every request to a
//!   `ScriptedModel` and keeps Codex off the network, with API-key or ChatGPT credentials
//!   ([`Auth`], [`fake_jwt`]) so tests can assert which bearer token arrived.
//! - [`TokenEndpoint`]: a scripted OAuth token endpoint that counts refreshes.
//! - [`run_codex`] / [`CodexOutput`]: run Codex with the prompt on stdin under a time
//!   limit and read its `--json` events.
//! - [`CodexFixture`]: all of the above for one test, with the driver's argv.
//! - [`PgServer`]: a real PostgreSQL cluster on 127.0.0.1 for the store's second backend.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use codex_mcp_testkit::*;
//! let model = ScriptedModel::start().await?;
//! model.push(Reply::text("hello").with_usage(Usage::new(11, 7)));
//! let Some(codex) = codex_bin_or_skip() else { return Ok(()) };
//! let home_dir = temp_dir("home")?;
//! let work = temp_dir("work")?;
//! let home = CodexHome::new(home_dir.path(), &model);
//! home.write()?;
//! let mut cmd = home.command(&codex);
//! cmd.args(["exec", "--json", "--skip-git-repo-check", "-s", "read-only", "-C"])
//!     .arg(work.path())
//!     .args(home.offline_args());
//! let out = run_codex(cmd, "say hello", std::time::Duration::from_secs(60)).await?;
//! assert_eq!(out.last_agent_message(), Some("hello"));
//! assert_eq!(model.responses_requests()[0].bearer(), Some(home.bearer()));
//! # Ok(()) }
//! ```
//!
//! What the real Codex 0.169.0 does in each scripted case is recorded in
//! `docs/testing.md`.

mod codex;
pub mod docker;
mod fixture;
mod home;
pub mod kubernetes;
mod model;
mod oauth;
mod postgres;
mod reply;
mod request;
mod run;
mod scratch;

pub use codex::{
    CACHE_ENV, CODEX_BIN_ENV, CODEX_VERSION, codex_bin, codex_bin_or_skip, codex_vendor_dir, is_ci,
    test_cache_dir,
};
pub use fixture::{CodexFixture, DEFAULT_CODEX_TIMEOUT};
pub use home::{
    Auth, CodexHome, DEFAULT_MODEL, NETWORK_FEATURES, fake_jwt, offline_args, unix_now,
};
pub use model::{Matcher, ScriptedModel};
pub use oauth::{TOKEN_ENDPOINT_DELAY, TokenAnswer, TokenEndpoint};
pub use postgres::PgServer;
pub use reply::{Reply, ReplyFn, Usage, assistant_message, function_call, reasoning, sse_event};
pub use request::{Message, RecordedRequest};
pub use run::{CodexOutput, run_codex};
pub use scratch::temp_dir;
