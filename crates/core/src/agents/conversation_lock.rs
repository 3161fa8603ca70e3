//! One Codex turn at a time per agent conversation. A turn reads the conversation's
//! thread, runs Codex on it and stores the thread Codex continued; two turns doing that
//! at once (two clients, or several stdio mcpd bridged to one owner, calling the same
//! agent) would both start from the same point and fork the conversation. So later turns
//! of a conversation wait for the one running.
//!
//! Replicas sharing a store (PostgreSQL) wait for each other too: after this process's own
//! lock, a turn takes the store's [`ConversationHold`], so each process queues at most one
//! turn per conversation on the database.

use std::collections::HashMap;
use std::sync::Arc;

use codex_mcp_store::{ConversationHold, SessionStore, StoreError};
use parking_lot::Mutex;
use tokio::sync::OwnedMutexGuard;

type Key = (String, String);
type Table = Arc<Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>>;

/// The lock of every conversation with a turn running or waiting.
#[derive(Default)]
pub(crate) struct ConversationLocks(Table);

impl ConversationLocks {
    /// Waits until no other turn of `agent`'s `conversation` runs, in this process and
    /// in any other sharing `store`; the turn holds the returned guard until it has
    /// stored its thread. A store that cannot take its hold fails the turn.
    pub(crate) async fn acquire(
        &self,
        store: &dyn SessionStore,
        agent: &str,
        conversation: &str,
    ) -> Result<ConversationTurn, StoreError> {
        let key = (agent.to_string(), conversation.to_string());
        let lock = Arc::clone(self.0.lock().entry(key.clone()).or_default());
        let guard = lock.lock_owned().await;
        let mut turn = ConversationTurn {
            hold: None,
            guard: Some(guard),
            key,
            table: Arc::clone(&self.0),
        };
        // Dropping `turn` on failure releases this process's lock for the next turn.
        turn.hold = Some(store.hold_conversation(agent, conversation).await?);
        Ok(turn)
    }
}

impl ConversationTurn {
    /// Whether other processes share the store's hold (replicas on PostgreSQL).
    pub(crate) fn is_shared(&self) -> bool {
        self.hold.as_ref().is_some_and(ConversationHold::is_shared)
    }
}

/// A running turn's hold on its conversation; the entry goes when nobody else waits.
pub(crate) struct ConversationTurn {
    /// The store's hold, released before this process's lock so the other replicas'
    /// waiters are not behind this process's next turn.
    hold: Option<ConversationHold>,
    guard: Option<OwnedMutexGuard<()>>,
    key: Key,
    table: Table,
}

impl Drop for ConversationTurn {
    fn drop(&mut self) {
        drop(self.hold.take());
        let mut table = self.table.lock();
        drop(self.guard.take());
        // Only the table holds it now: no turn waits (waiters clone it under this lock).
        if table
            .get(&self.key)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            table.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_second_turn_waits_and_the_entry_goes_afterwards() {
        let dir = tempfile::tempdir().unwrap();
        let store = codex_mcp_store::SqliteStore::open(dir.path()).unwrap();
        let locks = ConversationLocks::default();
        let first = locks.acquire(&store, "alice", "default").await.unwrap();
        let other = locks.acquire(&store, "bob", "default").await.unwrap();
        let waiting = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            locks.acquire(&store, "alice", "default"),
        )
        .await;
        assert!(
            waiting.is_err(),
            "alice's second turn must wait for the first"
        );
        drop(first);
        drop(other);
        let second = locks.acquire(&store, "alice", "default").await.unwrap();
        // One process per SQLite file: the store holds nothing of its own.
        assert_eq!(
            second.hold.as_ref().map(ConversationHold::is_shared),
            Some(false)
        );
        drop(second);
        assert!(locks.0.lock().is_empty());
    }
}
