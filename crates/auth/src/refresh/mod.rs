//! The server as the only party that ever spends the shared ChatGPT refresh token.
//!
//! See `docs/auth.md` for the design. In short: agents never hold the real refresh token
//! (they get a ticket, [`crate::broker`]); the server refreshes ahead of expiry, one
//! request at a time (a tokio mutex plus a generation counter make concurrent callers
//! share one refresh), re-reads the host's auth.json first so a refresh the host already
//! did is adopted instead of repeated, and writes the new tokens back so the host stays
//! logged in. Agents then get the new access token at their next call.

mod endpoint;
mod policy;
mod share;
pub mod upstream;

use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

pub use endpoint::BrokerReply;
pub use policy::RefreshConfig;
pub use share::{LoginShare, ShareError, ShareHold};
pub use upstream::{CODEX_CLIENT_ID, DEFAULT_TOKEN_URL, RefreshReason};

use crate::authfile;
use crate::broker::BrokerKey;
use crate::credentials::Credentials;
use crate::detect::{self, DetectInputs, Detection, NO_CREDENTIALS_MESSAGE};
use crate::error::{AuthError, RefreshError};
use crate::fsutil::{self, PendingWrite};
use crate::inject::AgentAuthFile;
use crate::status::AuthStatus;

struct State {
    detection: Detection,
    current: Option<Arc<Credentials>>,
    generation: u64,
    installed: Instant,
    failure: Option<Failure>,
    /// Problems that outlive one generation (e.g. a write-back that failed).
    notes: Vec<String>,
}

struct Failure {
    error: RefreshError,
    generation: u64,
    at: Instant,
}

struct Inner {
    inputs: DetectInputs,
    config: RefreshConfig,
    key: BrokerKey,
    /// Made on the first refresh: most servers (API keys, logins that never near expiry
    /// while it runs) never need it, and building it loads the TLS stack.
    http: std::sync::OnceLock<reqwest::Client>,
    state: RwLock<State>,
    flight: tokio::sync::Mutex<()>,
    /// The other replicas of the deployment, when there are any (see [`share`]).
    share: Option<Arc<dyn LoginShare>>,
}

/// Holds the server's credentials, keeps the ChatGPT login fresh for every agent and for
/// the host, and answers agents' refresh requests. Cheap to clone (shared state).
#[derive(Clone)]
pub struct TokenRefresher {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for TokenRefresher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRefresher")
            .field("token_url", &self.inner.config.token_url)
            .field("current", &self.current())
            .finish_non_exhaustive()
    }
}

/// What a refresh attempt should achieve.
#[derive(Clone, Copy)]
enum Want {
    /// Refresh only if the token is within the margin of expiry.
    IfDue,
    /// Refresh unless the credentials changed since generation `seen`.
    Force { seen: u64 },
    /// Refresh unless the current tokens are younger than this.
    ForceIfOlderThan(Duration),
}

impl TokenRefresher {
    /// The client for the token endpoint, made on first use.
    fn http_client(&self) -> Result<&reqwest::Client, RefreshError> {
        if let Some(client) = self.inner.http.get() {
            return Ok(client);
        }
        let client = reqwest::Client::builder()
            .timeout(self.inner.config.request_timeout)
            .user_agent(concat!("codex-mcp/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| {
                RefreshError::NotRefreshable(
                    "the HTTP client for the token endpoint could not be created".to_string(),
                )
            })?;
        Ok(self.inner.http.get_or_init(|| client))
    }

    /// Detects credentials from `inputs` and prepares to refresh them per `config`;
    /// `key` mints the agents' tickets.
    pub fn new(
        inputs: DetectInputs,
        config: RefreshConfig,
        key: BrokerKey,
    ) -> Result<Self, AuthError> {
        let detection = detect::detect(&inputs);
        let current = detection.credentials.clone().map(Arc::new);
        Ok(Self {
            inner: Arc::new(Inner {
                inputs,
                config,
                key,
                http: std::sync::OnceLock::new(),
                state: RwLock::new(State {
                    detection,
                    current,
                    generation: 0,
                    installed: Instant::now(),
                    failure: None,
                    notes: Vec::new(),
                }),
                flight: tokio::sync::Mutex::new(()),
                share: None,
            }),
        })
    }

    /// Refreshes in turn with the other replicas of a deployment sharing this login
    /// (see [`LoginShare`]). Call before the refresher is cloned or used.
    #[must_use]
    pub fn with_share(mut self, share: Arc<dyn LoginShare>) -> Self {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.share = Some(share);
        }
        self
    }

    fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&self
            .inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner))
    }

    fn write<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self
            .inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner))
    }

    /// The credentials agents get right now, without any I/O.
    pub fn current(&self) -> Option<Arc<Credentials>> {
        self.read(|s| s.current.clone())
    }

    /// The status as of now, including any refresh failure.
    pub fn status(&self) -> AuthStatus {
        self.status_at(Utc::now())
    }

    /// The status as of `now`, including any refresh failure.
    pub fn status_at(&self, now: DateTime<Utc>) -> AuthStatus {
        self.read(|s| {
            let mut status = s.detection.status_at(now);
            if let Some(c) = &s.current
                && s.detection.credentials.as_ref() != Some(c.as_ref())
            {
                // Refreshed since detection: report the live tokens.
                let mut live = c.status_at(now);
                let mut problems = s.detection.problems.clone();
                problems.append(&mut live.problems);
                live.problems = problems;
                status = live;
            }
            status.problems.extend(s.notes.iter().cloned());
            if let Some(f) = s.failure.as_ref().filter(|f| f.generation == s.generation) {
                status
                    .problems
                    .push(format!("{}.", capitalise(&f.error.to_string())));
                if f.error.is_permanent() && status.expires_in_secs.is_some_and(|secs| secs <= 0) {
                    status.ready = false;
                }
            }
            status
        })
    }

    /// Re-runs detection when the source changed (or nothing was found yet: the user may
    /// have logged in since). Returns whether the credentials changed.
    pub async fn reload_if_changed(&self) -> bool {
        // The file check runs outside the state lock: it may read the file.
        let stale = self.current().is_none_or(|c| c.source_changed());
        if !stale {
            return false;
        }
        let _flight = self.inner.flight.lock().await;
        self.reload_locked()
    }

    fn reload_locked(&self) -> bool {
        let still_stale = self.current().is_none_or(|c| c.source_changed());
        if !still_stale {
            return false;
        }
        let detection = detect::detect(&self.inner.inputs);
        self.write(|s| {
            let changed = s.current.as_deref().map(Credentials::fingerprint)
                != detection.credentials.as_ref().map(Credentials::fingerprint);
            let next = detection.credentials.clone();
            s.detection = detection;
            if changed {
                s.generation += 1;
                s.installed = Instant::now();
                s.notes.clear();
                s.current = next.map(|mut c| {
                    c.generation = s.generation;
                    Arc::new(c)
                });
            }
            changed
        })
    }

    /// Refreshes the ChatGPT login if it is within the margin of expiry; concurrent
    /// callers share one refresh. Returns the credentials to use.
    pub async fn ensure_fresh(&self) -> Result<Arc<Credentials>, AuthError> {
        self.refresh(Want::IfDue, RefreshReason::ProactiveExpiry)
            .await
    }

    /// Refreshes now because `seen` was rejected, unless the credentials were already
    /// replaced since: twenty callers reporting the same rejected token cause one
    /// refresh.
    pub async fn force_refresh(&self, seen: &Credentials) -> Result<Arc<Credentials>, AuthError> {
        let want = Want::Force {
            seen: seen.generation,
        };
        self.refresh(want, RefreshReason::UnauthorizedRecovery)
            .await
    }

    /// Everything before one agent call: notice a changed source, refresh if due, and
    /// return the agent's auth.json. Fails only when no usable credentials exist; a
    /// failed refresh of a still-valid token is reported in the status, not here.
    pub async fn prepare_agent(&self, agent_id: &str) -> Result<AgentAuthFile, AuthError> {
        self.reload_if_changed().await;
        let creds = match self.ensure_fresh().await {
            Ok(c) => c,
            Err(AuthError::Refresh(e)) => {
                let current = self.current().ok_or_else(no_credentials)?;
                if is_expired(&current, Utc::now()) {
                    return Err(AuthError::Refresh(e));
                }
                current
            }
            Err(e) => return Err(e),
        };
        if is_expired(&creds, Utc::now()) && !creds.can_refresh() {
            let status = creds.status_at(Utc::now());
            return Err(AuthError::NoCredentials(
                status
                    .problems
                    .first()
                    .cloned()
                    .unwrap_or_else(|| NO_CREDENTIALS_MESSAGE.into()),
            ));
        }
        Ok(creds.agent_auth_file(&self.inner.key.ticket(agent_id)))
    }

    /// Keeps the login fresh while the server idles, so the host's auth.json never
    /// expires under a running server. Runs until the future is dropped.
    pub async fn run_background(self, every: Duration) {
        loop {
            tokio::time::sleep(every).await;
            self.reload_if_changed().await;
            if let Err(e) = self.ensure_fresh().await {
                tracing::warn!(error = %e, "background token refresh failed");
            }
        }
    }

    async fn refresh(
        &self,
        want: Want,
        reason: RefreshReason,
    ) -> Result<Arc<Credentials>, AuthError> {
        let _flight = self.inner.flight.lock().await;
        // Bounded: each extra pass means the host file changed under us and was adopted.
        for _ in 0..3 {
            let (cur, generation, installed) =
                self.read(|s| (s.current.clone(), s.generation, s.installed));
            let cur = cur.ok_or_else(no_credentials)?;
            let now = Utc::now();
            match want {
                Want::Force { seen } if cur.generation != seen => return Ok(cur),
                Want::IfDue if !policy::is_due(&self.inner.config, &cur, now) => return Ok(cur),
                Want::ForceIfOlderThan(d) if installed.elapsed() < d => return Ok(cur),
                _ => {}
            }
            if !cur.can_refresh() {
                return match want {
                    Want::IfDue => Ok(cur),
                    _ => Err(RefreshError::NotRefreshable(format!(
                        "the login from {} cannot be refreshed by this server (no refresh token in a file)",
                        cur.source()
                    ))
                    .into()),
                };
            }
            if let Some(error) = self.recent_failure(generation) {
                return Err(error.into());
            }
            let Some(path) = cur.source().path().map(std::path::Path::to_path_buf) else {
                return Ok(cur);
            };
            let dir = path
                .parent()
                .map(std::path::Path::to_path_buf)
                .unwrap_or_default();
            let _lock = match fsutil::lock_dir(&dir, self.inner.config.lock_timeout).await {
                Ok(lock) => lock,
                Err(e) => {
                    return Err(self.fail(
                        generation,
                        RefreshError::Transient {
                            reason: e.to_string(),
                        },
                    ));
                }
            };
            // Guarded reload: another process (the host's Codex, another mcpd) may have
            // refreshed already; its tokens are then ours too, and refreshing again with
            // the old token would be a reuse.
            if cur.source_changed() {
                self.reload_locked();
                continue;
            }
            // The other replicas: one refreshes at a time, and a login one of them
            // refreshed meanwhile is adopted instead of spending the token again.
            let _shared = match self.shared_turn(&cur, &path, generation).await? {
                share::Turn::Adopted(theirs) => return Ok(theirs),
                share::Turn::Ours(hold) => hold,
            };
            let pending = match PendingWrite::create(&path, true) {
                Ok(p) => p,
                Err(e) => {
                    let error = RefreshError::NotRefreshable(format!(
                        "{} cannot be written ({e}), and refreshing without writing back would log the host out; the host's Codex must refresh it",
                        path.display()
                    ));
                    return Err(self.fail(generation, error));
                }
            };
            return self.refresh_with(&cur, pending, reason).await;
        }
        self.current().ok_or_else(no_credentials)
    }

    async fn refresh_with(
        &self,
        cur: &Credentials,
        pending: PendingWrite,
        reason: RefreshReason,
    ) -> Result<Arc<Credentials>, AuthError> {
        let generation = cur.generation;
        let (Some(login), Some(path)) = (cur.chatgpt(), cur.source().path()) else {
            return self.current().ok_or_else(no_credentials);
        };
        let (Some(file), Some(refresh_token)) = (&login.file, &login.tokens.refresh_token) else {
            return self.current().ok_or_else(no_credentials);
        };
        let config = &self.inner.config;
        tracing::info!(source = %cur.source(), reason = reason.as_str(), "refreshing the ChatGPT login");
        let http = match self.http_client() {
            Ok(h) => h,
            Err(e) => return Err(self.fail(generation, e)),
        };
        let new = match upstream::request(
            http,
            &config.token_url,
            &config.client_id,
            refresh_token,
            reason,
        )
        .await
        {
            Ok(new) => new,
            Err(e) => return Err(self.fail(generation, e)),
        };
        let now = Utc::now();
        let bytes = file.refreshed_bytes(&new, now);
        let parsed = match authfile::parse(&bytes) {
            Ok(parsed) => parsed,
            Err(e) => {
                let error = RefreshError::Permanent {
                    reason: format!(
                        "the token endpoint returned tokens Codex could not load: the result {e}"
                    ),
                };
                return Err(self.fail(generation, error));
            }
        };
        let mut notes = Vec::new();
        if let Err(e) = pending.commit(&bytes) {
            tracing::error!(path = %path.display(), error = %e, "refreshed tokens could not be written back");
            notes.push(format!(
                "The login was refreshed, but {} could not be updated ({e}); the host's Codex will need `codex login` again.",
                path.display()
            ));
        }
        if let Some(share) = &self.inner.share
            && let Err(e) = share.publish(&bytes).await
        {
            tracing::error!(error = %e, "the refreshed login could not be published to the other replicas");
            notes.push(format!(
                "The login was refreshed, but the other replicas could not be told ({e}); they will adopt it from the host's file or need `codex login` again."
            ));
        }
        if parsed.tokens.is_none() {
            return self.current().ok_or_else(no_credentials);
        }
        Ok(self.install(cur, parsed, &bytes, path, now, notes))
    }

    fn recent_failure(&self, generation: u64) -> Option<RefreshError> {
        self.read(|s| {
            let f = s.failure.as_ref().filter(|f| f.generation == generation)?;
            let fresh = f.at.elapsed() < self.inner.config.failure_backoff;
            (f.error.is_permanent() || fresh).then(|| f.error.clone())
        })
    }

    fn fail(&self, generation: u64, error: RefreshError) -> AuthError {
        tracing::warn!(error = %error, "ChatGPT token refresh failed");
        self.write(|s| {
            s.failure = Some(Failure {
                error: error.clone(),
                generation,
                at: Instant::now(),
            });
        });
        AuthError::Refresh(error)
    }

    /// Revokes every broker ticket issued to `agent_id` so far: called when the agent
    /// is purged, so a copy of its auth.json stops working at the broker.
    pub fn revoke_agent(&self, agent_id: &str) {
        self.inner.key.revoke(agent_id);
    }

    pub(crate) fn key(&self) -> &BrokerKey {
        &self.inner.key
    }

    pub(crate) fn min_forced_interval(&self) -> Duration {
        self.inner.config.min_forced_interval
    }

    pub(crate) async fn refresh_for_agent(
        &self,
        reason: RefreshReason,
    ) -> Result<Arc<Credentials>, AuthError> {
        let want = match reason {
            RefreshReason::UnauthorizedRecovery => {
                Want::ForceIfOlderThan(self.min_forced_interval())
            }
            RefreshReason::ProactiveExpiry => Want::IfDue,
        };
        self.refresh(want, reason).await
    }
}

fn no_credentials() -> AuthError {
    AuthError::NoCredentials(NO_CREDENTIALS_MESSAGE.to_string())
}

pub(crate) fn is_expired(c: &Credentials, now: DateTime<Utc>) -> bool {
    c.expires_at().is_some_and(|exp| exp <= now.timestamp())
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().collect::<String>() + chars.as_str()
    })
}
