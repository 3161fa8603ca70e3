//! Cancellation tokens of running requests, by the id their client gave them (within one
//! session or connection) or by a number only the server knows.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use codex_mcp_protocol::jsonrpc::RequestId;
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

/// How a running request is known to its table: by the client's own JSON-RPC id (within
/// one session or connection, where only that client can name it), or by a number the
/// server assigned (the server-wide table, which no client can name).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Client(RequestId),
    Server(u64),
}

/// Keeps per-request cancellation tokens so `notifications/cancelled` can find them.
///
/// A session or connection keeps its own table, keyed by its client's request ids, so a
/// cancellation only reaches the canceller's own requests. The engine's server-wide
/// table (`McpServer::in_flight`) registers requests under numbers it
/// assigns itself ([`InFlight::register_unnamed`]): it serves shutdown and metrics, and
/// no client id can collide with or target an entry in it.
#[derive(Default)]
pub struct InFlight {
    next: AtomicU64,
    requests: Mutex<HashMap<Key, CancellationToken>>,
}

impl InFlight {
    /// Registers a request under its client's id; the guard unregisters it when dropped.
    pub fn register(self: &Arc<Self>, id: RequestId, token: CancellationToken) -> InFlightGuard {
        self.insert(Key::Client(id), token)
    }

    /// Registers a request under a number only the server knows: it can be cancelled
    /// by [`Self::cancel_all`], never by a client naming an id.
    pub fn register_unnamed(self: &Arc<Self>, token: CancellationToken) -> InFlightGuard {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.insert(Key::Server(n), token)
    }

    fn insert(self: &Arc<Self>, key: Key, token: CancellationToken) -> InFlightGuard {
        self.requests.lock().insert(key.clone(), token);
        InFlightGuard {
            table: Arc::clone(self),
            key,
        }
    }

    /// Cancels a request by its client's id; false when it is unknown or already
    /// finished.
    pub fn cancel(&self, id: &RequestId) -> bool {
        match self.requests.lock().get(&Key::Client(id.clone())) {
            Some(token) => {
                token.cancel();
                true
            }
            None => false,
        }
    }

    /// Cancels everything (shutdown, session end).
    pub fn cancel_all(&self) {
        for token in self.requests.lock().values() {
            token.cancel();
        }
    }

    /// How many requests are running.
    pub fn len(&self) -> usize {
        self.requests.lock().len()
    }

    /// Whether nothing is running.
    pub fn is_empty(&self) -> bool {
        self.requests.lock().is_empty()
    }
}

/// Unregisters an in-flight request when the request finishes.
pub struct InFlightGuard {
    table: Arc<InFlight>,
    key: Key,
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.table.requests.lock().remove(&self.key);
    }
}
