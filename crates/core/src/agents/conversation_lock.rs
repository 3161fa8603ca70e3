//! One Codex turn at a time per agent conversation. A turn reads the conversation's
//! thread, runs Codex on it and stores the thread Codex continued; two turns doing that
//! at once (two clients, or several stdio mcpd bridged to one owner, calling the same
//! agent) would both start from the same point and fork the conversation. So later turns
//! of a conversation wait for the one running.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::OwnedMutexGuard;

type Key = (String, String);
type Table = Arc<Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>>;

/// The lock of every conversation with a turn running or waiting.
#[derive(Default)]
pub(crate) struct ConversationLocks(Table);

impl ConversationLocks {
    /// Waits until no other turn of `agent`'s `conversation` runs; the turn holds the
    /// returned guard until it has stored its thread.
    pub(crate) async fn acquire(&self, agent: &str, conversation: &str) -> ConversationTurn {
        let key = (agent.to_string(), conversation.to_string());
        let lock = Arc::clone(self.0.lock().entry(key.clone()).or_default());
        let guard = lock.lock_owned().await;
        ConversationTurn {
            guard: Some(guard),
            key,
            table: Arc::clone(&self.0),
        }
    }
}

/// A running turn's hold on its conversation; the entry goes when nobody else waits.
pub(crate) struct ConversationTurn {
    guard: Option<OwnedMutexGuard<()>>,
    key: Key,
    table: Table,
}

impl Drop for ConversationTurn {
    fn drop(&mut self) {
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
        let locks = ConversationLocks::default();
        let first = locks.acquire("alice", "default").await;
        let other = locks.acquire("bob", "default").await;
        let waiting = tokio::time::timeout(
            std::time::Duration::from_millis(50),
            locks.acquire("alice", "default"),
        )
        .await;
        assert!(
            waiting.is_err(),
            "alice's second turn must wait for the first"
        );
        drop(first);
        drop(other);
        let second = locks.acquire("alice", "default").await;
        drop(second);
        assert!(locks.0.lock().is_empty());
    }
}
