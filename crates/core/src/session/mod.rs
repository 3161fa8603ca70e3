//! Legacy-era sessions: what an `initialize` handshake establishes and what outlives a
//! single HTTP request (log level, pending server-to-client requests, in-flight
//! requests for cancellation, and the replay log of SSE events for resumption).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use codex_mcp_protocol::jsonrpc::{Message, RequestId};
use codex_mcp_protocol::logging::LoggingLevel;
use codex_mcp_protocol::{ErrorObject, ProtocolVersion};
use parking_lot::Mutex;
use rand::RngCore;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::{Notify, oneshot};

mod follow;
mod in_flight;
mod transport_kind;

pub use follow::forward_standalone;
pub use in_flight::{InFlight, InFlightGuard};
pub use transport_kind::TransportKind;

/// Answer of the client to a server-to-client request.
pub type ClientAnswer = Result<Value, ErrorObject>;

/// One SSE event kept for replay after a reconnect.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    /// Sequence within its stream.
    pub seq: u64,
    /// The message, or `None` for the priming event.
    pub message: Option<Message>,
}

/// A replayable stream of events within a session (the GET stream or one POST's stream).
#[derive(Debug)]
pub struct StreamLog {
    next_seq: u64,
    created: Instant,
    events: VecDeque<StoredEvent>,
    /// Whether the stream has delivered its final response (POST streams).
    pub finished: bool,
}

/// How many events a stream keeps for replay.
const REPLAY_LIMIT: usize = 512;
/// How many streams a session remembers; the oldest finished one makes room.
const MAX_STREAMS_PER_SESSION: usize = 128;
/// Name of the standalone GET stream in the replay logs.
pub const STANDALONE_STREAM: &str = "get";

impl Default for StreamLog {
    fn default() -> Self {
        Self {
            next_seq: 0,
            created: Instant::now(),
            events: VecDeque::new(),
            finished: false,
        }
    }
}

/// Releases the standalone stream claim when the GET stream ends.
pub struct StandaloneGuard {
    session: Arc<Session>,
}

impl Drop for StandaloneGuard {
    fn drop(&mut self) {
        self.session.standalone_open.store(false, Ordering::Release);
    }
}

impl StreamLog {
    /// Appends an event, dropping the oldest past the replay limit; returns its seq.
    pub fn push(&mut self, message: Option<Message>) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.events.push_back(StoredEvent { seq, message });
        while self.events.len() > REPLAY_LIMIT {
            self.events.pop_front();
        }
        seq
    }

    /// Events after `seq` (every event when `None`), in order.
    pub fn after(&self, seq: Option<u64>) -> Vec<StoredEvent> {
        self.events
            .iter()
            .filter(|e| seq.is_none_or(|s| e.seq > s))
            .cloned()
            .collect()
    }
}

/// A live legacy session.
pub struct Session {
    id: String,
    version: ProtocolVersion,
    transport: TransportKind,
    client_info: Value,
    client_capabilities: Value,
    log_level: Mutex<Option<LoggingLevel>>,
    initialized: Mutex<bool>,
    pending: Mutex<HashMap<RequestId, oneshot::Sender<ClientAnswer>>>,
    /// Requests of this session that may be cancelled by `notifications/cancelled`.
    pub in_flight: Arc<InFlight>,
    streams: Mutex<HashMap<String, StreamLog>>,
    changed: Notify,
    standalone_open: AtomicBool,
    closed: AtomicBool,
    last_seen: Mutex<Instant>,
    /// Whether the client came back after the handshake (see [`SessionTable::create`]).
    used: AtomicBool,
    agent_hint: Option<String>,
    owner: Option<[u8; 32]>,
}

impl Session {
    /// The session id (visible ASCII, 128 bits of randomness).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The negotiated revision.
    pub fn version(&self) -> ProtocolVersion {
        self.version
    }

    /// Which transport created it.
    pub fn transport(&self) -> TransportKind {
        self.transport
    }

    /// The client's `clientInfo`.
    pub fn client_info(&self) -> Value {
        self.client_info.clone()
    }

    /// The client's declared capabilities.
    pub fn client_capabilities(&self) -> Value {
        self.client_capabilities.clone()
    }

    /// Agent id given by the connection that opened the session (header or query).
    pub fn agent_hint(&self) -> Option<&str> {
        self.agent_hint.as_deref()
    }

    /// The level set by `logging/setLevel`, if any.
    pub fn log_level(&self) -> Option<LoggingLevel> {
        *self.log_level.lock()
    }

    /// Records `logging/setLevel`.
    pub fn set_log_level(&self, level: LoggingLevel) {
        *self.log_level.lock() = Some(level);
    }

    /// Records `notifications/initialized`.
    pub fn mark_initialized(&self) {
        *self.initialized.lock() = true;
    }

    /// Notes activity, for idle expiry. Activity after `notifications/initialized`
    /// marks the session as used: sessions that never got that far go first when the
    /// table is full.
    pub fn touch(&self) {
        *self.last_seen.lock() = Instant::now();
        if *self.initialized.lock() {
            self.used.store(true, Ordering::Release);
        }
    }

    /// Whether nothing holds the session open right now: no request running, no
    /// question awaiting the client, no standalone stream, and a transport whose
    /// client can come back with a new `initialize` (streamable HTTP; a legacy SSE or
    /// stdio session lives as long as its connection).
    fn evictable(&self) -> bool {
        self.transport == TransportKind::StreamableHttp
            && self.in_flight.is_empty()
            && self.pending.lock().is_empty()
            && !self.standalone_open.load(Ordering::Acquire)
    }

    /// Time since the last request.
    pub fn idle_for(&self) -> Duration {
        self.last_seen.lock().elapsed()
    }

    /// Registers a server-to-client request awaiting the client's response.
    pub fn expect_response(&self, id: RequestId) -> oneshot::Receiver<ClientAnswer> {
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(id, tx);
        rx
    }

    /// Drops a pending server-to-client request.
    pub fn forget_response(&self, id: &RequestId) {
        self.pending.lock().remove(id);
    }

    /// Delivers the client's response; false when nothing was waiting for that id.
    pub fn deliver_response(&self, id: &RequestId, answer: ClientAnswer) -> bool {
        match self.pending.lock().remove(id) {
            Some(tx) => tx.send(answer).is_ok(),
            None => false,
        }
    }

    /// Appends an event to a named stream's replay log, wakes the stream's readers and
    /// returns the event's sequence number.
    pub fn log_event(&self, stream: &str, message: Option<Message>) -> u64 {
        let seq = {
            let mut streams = self.streams.lock();
            if !streams.contains_key(stream) && streams.len() >= MAX_STREAMS_PER_SESSION {
                let oldest_finished = streams
                    .iter()
                    .filter(|(_, log)| log.finished)
                    .min_by_key(|(_, log)| log.created)
                    .map(|(name, _)| name.clone());
                if let Some(name) = oldest_finished {
                    streams.remove(&name);
                }
            }
            streams.entry(stream.to_string()).or_default().push(message)
        };
        self.changed.notify_waiters();
        seq
    }

    /// Marks a POST stream as having delivered its final response.
    pub fn finish_stream(&self, stream: &str) {
        if let Some(log) = self.streams.lock().get_mut(stream) {
            log.finished = true;
        }
        self.changed.notify_waiters();
    }

    /// Events of a stream after `seq` (all events when `None`), and whether that stream
    /// is finished; `None` if the stream is unknown.
    pub fn replay(&self, stream: &str, after: Option<u64>) -> Option<(Vec<StoredEvent>, bool)> {
        self.streams
            .lock()
            .get(stream)
            .map(|log| (log.after(after), log.finished))
    }

    /// Resolves at the next logged event (or stream end) of this session.
    pub fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    /// Whether a request carrying the bearer token with this digest (`None`: no token)
    /// may use the session: only the token that opened it may. A session id that leaks
    /// (a log, a shared screen) is worthless without its token.
    pub fn admits(&self, token: Option<&[u8; 32]>) -> bool {
        self.owner.as_ref() == token
    }

    /// Claims the session's single standalone GET stream; `None` if one is open.
    pub fn claim_standalone(self: &Arc<Self>) -> Option<StandaloneGuard> {
        if self.standalone_open.swap(true, Ordering::AcqRel) {
            return None;
        }
        Some(StandaloneGuard {
            session: Arc::clone(self),
        })
    }

    /// Sends a message on the standalone stream (logged for replay).
    pub fn send_standalone(&self, message: Message) -> u64 {
        self.log_event(STANDALONE_STREAM, Some(message))
    }

    /// Whether the session has been closed (DELETE, expiry, shutdown).
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Ends the session: cancels its requests and fails pending questions.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.in_flight.cancel_all();
        self.pending.lock().clear();
        self.changed.notify_waiters();
    }
}

/// Generates a session id: 32 hex characters from the OS random generator.
fn new_session_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the engine learned from `initialize`.
#[derive(Debug, Clone)]
pub struct SessionInit {
    /// Negotiated revision.
    pub version: ProtocolVersion,
    /// Client info.
    pub client_info: Value,
    /// Client capabilities.
    pub client_capabilities: Value,
    /// SHA-256 of the bearer token that opened the session, when the server requires
    /// tokens: only requests with the same token may use the session.
    pub owner: Option<[u8; 32]>,
}

/// Told when sessions open and close, so an embedder can keep a durable record of them.
#[async_trait::async_trait]
pub trait SessionObserver: Send + Sync + 'static {
    /// A session opened. Awaited before the client learns the session id, so whatever
    /// is recorded during the session can refer to it.
    async fn opened(&self, session: &Session);
    /// A session closed (deleted, expired, replaced or at shutdown). Must not block.
    fn closed(&self, id: &str);
    /// The replica holding session `id` open, when another process sharing the record
    /// does (a request reached the wrong replica); `None` when nobody else can.
    async fn opened_elsewhere(&self, id: &str) -> Option<String> {
        let _ = id;
        None
    }
}

/// All live sessions, bounded in number.
pub struct SessionTable {
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    max: usize,
    idle_timeout: Duration,
    observer: Option<Arc<dyn SessionObserver>>,
}

/// Why a session could not be created: every one of the `0` open sessions is busy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "too many open sessions ({0}), each with a request, stream or connection open \
(MCPD_MAX_SESSIONS={0}); close some or raise MCPD_MAX_SESSIONS"
)]
pub struct TooManySessions(pub usize);

impl SessionTable {
    /// The replica holding session `id` open, when it is not this process (see
    /// [`SessionObserver::opened_elsewhere`]).
    pub async fn opened_elsewhere(&self, id: &str) -> Option<String> {
        match &self.observer {
            Some(observer) => observer.opened_elsewhere(id).await,
            None => None,
        }
    }

    /// A table holding at most `max` sessions, each expiring after `idle_timeout`.
    pub fn new(max: usize, idle_timeout: Duration) -> Self {
        Self {
            sessions: Mutex::new(HashMap::new()),
            max,
            idle_timeout,
            observer: None,
        }
    }

    /// The same table, reporting opened and closed sessions to `observer`.
    #[must_use]
    pub fn with_observer(mut self, observer: Option<Arc<dyn SessionObserver>>) -> Self {
        self.observer = observer;
        self
    }

    /// Creates and registers a session and waits until the observer has seen it.
    pub async fn open(
        &self,
        init: SessionInit,
        transport: TransportKind,
        agent_hint: Option<String>,
    ) -> Result<Arc<Session>, TooManySessions> {
        let session = self.create(init, transport, agent_hint)?;
        if let Some(observer) = &self.observer {
            observer.opened(&session).await;
        }
        Ok(session)
    }

    fn closed(&self, session: &Session) {
        session.close();
        if let Some(observer) = &self.observer {
            observer.closed(session.id());
        }
    }

    /// Creates and registers a session without telling the observer (see [`Self::open`]).
    pub fn create(
        &self,
        init: SessionInit,
        transport: TransportKind,
        agent_hint: Option<String>,
    ) -> Result<Arc<Session>, TooManySessions> {
        let mut sessions = self.sessions.lock();
        if sessions.len() >= self.max {
            let expired: Vec<String> = sessions
                .iter()
                .filter(|(_, s)| s.idle_for() > self.idle_timeout)
                .map(|(id, _)| id.clone())
                .collect();
            for id in expired {
                if let Some(s) = sessions.remove(&id) {
                    self.closed(&s);
                }
            }
            if sessions.len() >= self.max {
                // Make room so that opening sessions cannot lock others out: the idle
                // session whose client never came back after the handshake goes
                // first, else the least recently used idle one (its client gets 404
                // and initializes again).
                let victim = sessions
                    .iter()
                    .filter(|(_, s)| s.evictable())
                    .min_by_key(|(_, s)| (s.used.load(Ordering::Acquire), *s.last_seen.lock()))
                    .map(|(id, _)| id.clone());
                let Some(victim) = victim else {
                    return Err(TooManySessions(self.max));
                };
                if let Some(s) = sessions.remove(&victim) {
                    tracing::info!(
                        session = %victim,
                        "session table full (MCPD_MAX_SESSIONS): closed the least recently used idle session"
                    );
                    self.closed(&s);
                }
            }
        }
        let session = Arc::new(Session {
            id: new_session_id(),
            version: init.version,
            transport,
            client_info: init.client_info,
            client_capabilities: init.client_capabilities,
            log_level: Mutex::new(None),
            initialized: Mutex::new(false),
            pending: Mutex::new(HashMap::new()),
            in_flight: Arc::new(InFlight::default()),
            streams: Mutex::new(HashMap::new()),
            changed: Notify::new(),
            standalone_open: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            last_seen: Mutex::new(Instant::now()),
            used: AtomicBool::new(false),
            agent_hint,
            owner: init.owner,
        });
        sessions.insert(session.id.clone(), Arc::clone(&session));
        Ok(session)
    }

    /// Finds a live session.
    pub fn get(&self, id: &str) -> Option<Arc<Session>> {
        let session = self.sessions.lock().get(id).cloned()?;
        session.touch();
        Some(session)
    }

    /// Ends a session; false if it did not exist.
    pub fn remove(&self, id: &str) -> bool {
        let removed = self.sessions.lock().remove(id);
        match removed {
            Some(s) => {
                self.closed(&s);
                true
            }
            None => false,
        }
    }

    /// Every open session (for the dashboard's counts by transport and version).
    pub fn all(&self) -> Vec<Arc<Session>> {
        self.sessions.lock().values().cloned().collect()
    }

    /// Number of open sessions.
    pub fn len(&self) -> usize {
        self.sessions.lock().len()
    }

    /// Whether no session is open.
    pub fn is_empty(&self) -> bool {
        self.sessions.lock().is_empty()
    }

    /// Removes sessions idle longer than the timeout; returns how many.
    pub fn expire_idle(&self) -> usize {
        let mut sessions = self.sessions.lock();
        let before = sessions.len();
        sessions.retain(|_, s| {
            let keep = s.idle_for() <= self.idle_timeout;
            if !keep {
                self.closed(s);
            }
            keep
        });
        before - sessions.len()
    }

    /// Closes every session (shutdown).
    pub fn close_all(&self) {
        let all: Vec<_> = self.sessions.lock().drain().collect();
        for (_, s) in all {
            self.closed(&s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn init() -> SessionInit {
        SessionInit {
            version: ProtocolVersion::V2025_11_25,
            client_info: serde_json::json!({"name": "t", "version": "1"}),
            client_capabilities: serde_json::json!({}),
            owner: None,
        }
    }

    #[test]
    fn ids_are_unique_visible_ascii() {
        let table = SessionTable::new(10, Duration::from_secs(60));
        let a = table
            .create(init(), TransportKind::StreamableHttp, None)
            .unwrap();
        let b = table
            .create(init(), TransportKind::StreamableHttp, None)
            .unwrap();
        assert_ne!(a.id(), b.id());
        assert!(a.id().bytes().all(|c| (0x21..=0x7e).contains(&c)));
        assert_eq!(a.id().len(), 32);
    }

    #[test]
    fn a_session_admits_only_the_token_that_opened_it() {
        let table = SessionTable::new(2, Duration::from_secs(60));
        let owned = table
            .create(
                SessionInit {
                    owner: Some([1; 32]),
                    ..init()
                },
                TransportKind::StreamableHttp,
                None,
            )
            .unwrap();
        assert!(owned.admits(Some(&[1; 32])));
        assert!(!owned.admits(Some(&[2; 32])) && !owned.admits(None));
        let open = table
            .create(init(), TransportKind::StreamableHttp, None)
            .unwrap();
        assert!(open.admits(None) && !open.admits(Some(&[1; 32])));
    }

    #[test]
    fn table_is_bounded() {
        let table = SessionTable::new(1, Duration::from_secs(60));
        table.create(init(), TransportKind::Stdio, None).unwrap();
        let refused = table.create(init(), TransportKind::Stdio, None).err();
        assert_eq!(refused, Some(TooManySessions(1)));
        let message = refused.map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("MCPD_MAX_SESSIONS=1"), "{message}");
    }

    #[test]
    fn a_full_table_evicts_handshake_only_sessions_before_used_ones_and_never_busy_ones() {
        let table = SessionTable::new(3, Duration::from_secs(60));
        let http = TransportKind::StreamableHttp;
        let used = table.create(init(), http, None).unwrap();
        used.mark_initialized();
        assert!(table.get(used.id()).is_some());
        let busy = table.create(init(), http, None).unwrap();
        let _stream = busy.claim_standalone().unwrap();
        let fresh = table.create(init(), http, None).unwrap();
        // Full: the handshake-only session goes, though it is the most recent.
        let newer = table.create(init(), http, None).unwrap();
        assert!(fresh.is_closed() && table.get(fresh.id()).is_none());
        // Full again: `newer` was never used either, so it goes next.
        let newest = table.create(init(), http, None).unwrap();
        assert!(newer.is_closed());
        newest.mark_initialized();
        table.get(newest.id());
        // Now the least recently used idle one (`used`), never the busy one.
        table.create(init(), http, None).unwrap();
        assert!(used.is_closed());
        assert!(!busy.is_closed() && table.get(busy.id()).is_some());
    }

    #[test]
    fn replay_returns_events_after_a_sequence() {
        let table = SessionTable::new(1, Duration::from_secs(60));
        let s = table
            .create(init(), TransportKind::StreamableHttp, None)
            .unwrap();
        for _ in 0..3 {
            s.log_event("get", None);
        }
        let (events, finished) = s.replay("get", Some(0)).unwrap();
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2]);
        assert!(!finished);
        assert_eq!(s.replay("get", None).unwrap().0.len(), 3);
        assert!(s.replay("nope", Some(0)).is_none());
    }
}
