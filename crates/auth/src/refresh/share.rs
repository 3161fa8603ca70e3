//! One refresh for a whole deployment. Replicas of a server that share one ChatGPT login
//! each hold their own copy of its auth.json (a mounted Secret, a volume per replica),
//! and the refresh token is single-use: two replicas refreshing on their own would spend
//! it twice, and the second would be logged out. So refreshes take a deployment-wide
//! lock ([`LoginShare::hold`]), and before spending its token a replica reads the latest
//! login another replica published ([`LoginShare::load`]): when that one is newer, it is
//! adopted (and written back to this replica's file) instead of refreshing again. The
//! replica that does refresh publishes the result ([`LoginShare::publish`]).

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::TokenRefresher;
use crate::authfile::{self, AuthFile};
use crate::credentials::{ChatGptLogin, Credentials, Fingerprint, Login};
use crate::error::{AuthError, RefreshError};
use crate::fsutil::{FileStamp, PendingWrite};

/// Why the deployment's shared login could not be read, written or locked.
#[derive(Debug, thiserror::Error)]
#[error("the login shared by the replicas: {0}")]
pub struct ShareError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Held while a replica refreshes; dropping it lets the next replica in.
pub type ShareHold = Box<dyn Send + Sync>;

/// Where the replicas of one deployment keep the latest ChatGPT login (mcpd: its
/// PostgreSQL store). A server that runs alone needs none.
#[async_trait::async_trait]
pub trait LoginShare: Send + Sync {
    /// Waits until no other replica is refreshing, and keeps them out until dropped.
    async fn hold(&self) -> Result<ShareHold, ShareError>;
    /// The auth.json the last refresh of any replica produced, if one was published.
    async fn load(&self) -> Result<Option<Vec<u8>>, ShareError>;
    /// Publishes the auth.json a refresh produced, for the other replicas.
    async fn publish(&self, auth_json: &[u8]) -> Result<(), ShareError>;
}

/// A shared login another replica refreshed after `cur` was issued, or `None` (nothing
/// published, the same tokens, or older than ours: a host's own refresh can be newer).
pub(super) fn newer_than(cur: &Credentials, shared: &[u8]) -> Option<AuthFile> {
    let ours = cur.chatgpt()?;
    let theirs = authfile::parse(shared).ok()?;
    let tokens = theirs.tokens.as_ref()?;
    let same = tokens.refresh_token.as_ref().map(|t| t.expose())
        == ours.tokens.refresh_token.as_ref().map(|t| t.expose());
    let newer = match (theirs.last_refresh, ours.last_refresh) {
        (Some(t), Some(o)) => t > o,
        (Some(_), None) => true,
        (None, _) => false,
    };
    (!same && newer).then_some(theirs)
}

/// What [`TokenRefresher::shared_turn`] found.
pub(super) enum Turn {
    /// This replica refreshes (holding the other replicas out, when there are any).
    Ours(Option<ShareHold>),
    /// Another replica refreshed meanwhile: its login, now installed here.
    Adopted(Arc<Credentials>),
}

impl TokenRefresher {
    /// Waits for this replica's turn to refresh `cur` (read from `path`), or adopts the
    /// newer login another replica published.
    pub(super) async fn shared_turn(
        &self,
        cur: &Credentials,
        path: &Path,
        generation: u64,
    ) -> Result<Turn, AuthError> {
        let Some(share) = &self.inner.share else {
            return Ok(Turn::Ours(None));
        };
        let taken = async {
            let hold = share.hold().await?;
            let published = share.load().await?;
            Ok::<_, ShareError>((hold, published))
        };
        match taken.await {
            Ok((hold, Some(bytes))) => Ok(match newer_than(cur, &bytes) {
                Some(theirs) => Turn::Adopted(self.adopt_shared(cur, theirs, &bytes, path)),
                None => Turn::Ours(Some(hold)),
            }),
            Ok((hold, None)) => Ok(Turn::Ours(Some(hold))),
            Err(e) => {
                let reason = e.to_string();
                Err(self.fail(generation, RefreshError::Transient { reason }))
            }
        }
    }

    /// Adopts `shared` (newer tokens another replica refreshed): written back to this
    /// replica's auth.json at `path` when it can be, and installed as the current login.
    fn adopt_shared(
        &self,
        cur: &Credentials,
        shared: AuthFile,
        bytes: &[u8],
        path: &Path,
    ) -> Arc<Credentials> {
        tracing::info!(source = %cur.source(), "adopting the login another replica refreshed");
        let mut notes = Vec::new();
        let written = PendingWrite::create(path, true).and_then(|pending| pending.commit(bytes));
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), error = %e, "the shared login could not be written back");
            notes.push(format!(
                "Another replica refreshed the login, but {} could not be updated ({e}); the host's Codex may need `codex login` again.",
                path.display()
            ));
        }
        self.install(cur, shared, bytes, path, Utc::now(), notes)
    }

    /// Makes `parsed` (whose file content is `bytes`, written at `path`) the current
    /// login, a new generation of `cur`'s source.
    pub(super) fn install(
        &self,
        cur: &Credentials,
        parsed: AuthFile,
        bytes: &[u8],
        path: &Path,
        now: DateTime<Utc>,
        notes: Vec<String>,
    ) -> Arc<Credentials> {
        let Some(tokens) = parsed.tokens.clone() else {
            return Arc::new(cur.clone());
        };
        let login = Login::ChatGpt(Box::new(ChatGptLogin {
            tokens,
            last_refresh: parsed.last_refresh,
            file: Some(parsed),
        }));
        // Stamped after the write: the stamp is racy (just written), so the next check
        // hashes the file and still notices a host write in the same tick.
        let stamp = FileStamp::current(path);
        let fresh = Credentials::new(
            login,
            cur.source().clone(),
            Fingerprint::of(bytes),
            stamp,
            now,
        );
        self.write(|s| {
            s.generation += 1;
            s.installed = Instant::now();
            s.failure = None;
            s.notes = notes;
            let mut fresh = fresh;
            fresh.generation = s.generation;
            let fresh = Arc::new(fresh);
            s.current = Some(fresh.clone());
            fresh
        })
    }
}
