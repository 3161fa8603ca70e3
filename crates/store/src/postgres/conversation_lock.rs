//! One turn per conversation across replicas: a session-level advisory lock on a
//! connection of the turn's own, opened for the turn and closed when it ends.
//!
//! A connection of its own, not one from the pool: the hold lasts a whole Codex turn
//! (minutes), and twenty turns holding pooled connections would starve the pool that
//! records them. Closing the connection is the release, so a release can never be lost
//! (a replica killed mid-turn releases with its socket) and a waiter that gives up (its
//! call was cancelled) drops its connection and leaves the queue. Opening one costs a
//! PostgreSQL backend start, a few milliseconds against a turn of seconds.

use tokio_postgres::NoTls;

use crate::conversation_hold::ConversationHold;
use crate::error::StoreError;
use crate::postgres::failure::{Location, reason};

/// First key of every conversation lock ("CMTC"); the second is `hashtext` of the agent
/// and conversation. A hash collision only makes two conversations take turns.
pub(crate) const CONVERSATION_LOCKS: i32 = 0x434d_5443;

/// The first key of the lock replicas take to refresh their shared login ("CMLR").
pub(crate) const LOGIN_REFRESH: i32 = 0x434d_4c52;

/// Waits for the lock (`space`, `hashtext(key)`) to be free in the whole database, and
/// holds it on a connection of its own.
pub(crate) async fn hold(
    config: &tokio_postgres::Config,
    at: &Location,
    space: i32,
    key: &str,
) -> Result<ConversationHold, StoreError> {
    let (client, connection) =
        config
            .connect(NoTls)
            .await
            .map_err(|e| StoreError::Unreachable {
                location: at.0.clone(),
                reason: reason(&e),
            })?;
    // Ends when the client is dropped (the hold is released) or the server goes.
    let location = at.0.clone();
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(location, error = %e, "a conversation lock connection ended");
        }
    });
    client
        .execute("SELECT pg_advisory_lock($1, hashtext($2))", &[&space, &key])
        .await
        .map_err(|e| at.db(&e))?;
    Ok(ConversationHold::kept_by(client))
}
