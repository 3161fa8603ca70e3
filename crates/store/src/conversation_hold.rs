//! One Codex turn at a time per agent conversation, across every process sharing a store.
//!
//! A turn reads its conversation's thread, runs Codex on it and stores the thread Codex
//! continued; two turns doing that at once would fork the conversation. Inside one process
//! the engine serialises them itself; a store that several processes share (PostgreSQL
//! replicas) must also keep two *processes* from running a turn of one conversation at
//! once. [`crate::SessionStore::hold_conversation`] returns a [`ConversationHold`] the turn
//! keeps until it has stored its thread; dropping it lets the next turn in, wherever that
//! one waits.

use std::fmt;

/// A turn's hold on its conversation; released when dropped (also when the process dies:
/// the PostgreSQL lock goes with its connection).
pub struct ConversationHold {
    /// What keeps the hold (a database connection holding a lock); `None` for a store
    /// only one process can open, where the engine's own lock is the whole story.
    _held: Option<Box<dyn Send + Sync>>,
}

impl ConversationHold {
    /// The hold of a store only one process opens: nothing to keep.
    pub fn in_process() -> Self {
        Self { _held: None }
    }

    /// A hold kept by `held` (released when it is dropped).
    pub fn kept_by(held: impl Send + Sync + 'static) -> Self {
        Self {
            _held: Some(Box::new(held)),
        }
    }

    /// Whether another process could have been kept waiting by this hold.
    pub fn is_shared(&self) -> bool {
        self._held.is_some()
    }
}

impl fmt::Debug for ConversationHold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConversationHold")
            .field("shared", &self.is_shared())
            .finish()
    }
}
