//! What a handler knows about the request it serves, and how it talks back.
//!
//! Handlers are written once for both protocol eras. Progress and log messages go to
//! wherever the transport routes this request's notifications. Asking the client for
//! input ([`RequestCtx::ask`]) sends a server-to-client request in the legacy era and,
//! in the stateless era, either finds the answer among the retried request's
//! `inputResponses` or stops the handler with [`Pending`] so the engine can return an
//! `input_required` result.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use codex_mcp_protocol::jsonrpc::{Message, Notification, Request, RequestId};
use codex_mcp_protocol::logging::LoggingLevel;
use codex_mcp_protocol::meta::ModernMeta;
use codex_mcp_protocol::notifications::methods;
use codex_mcp_protocol::{Era, ErrorObject, ProtocolVersion};
use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::server::grant::TokenGrant;
use crate::server::tasks::TaskEntry;
use crate::session::Session;
pub use crate::session::{InFlight, InFlightGuard, TransportKind};

/// Where a request's notifications (and legacy server-to-client requests) go.
pub type Outbound = mpsc::Sender<Message>;

/// Who is calling, as far as the transport could tell (see the agent identity rules).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// `X-Agent-Id` header or `agent_id` query parameter of the connection.
    pub connection_agent: Option<String>,
    /// The grant of the bearer token that authenticated the request, when the server
    /// requires tokens: its first agent is the caller's default agent, explicit agent
    /// ids outside its list are refused, and the server tools show only its agents
    /// unless it is an admin token (see [`crate::agents::identity::Scope`]).
    pub token: Option<Arc<TokenGrant>>,
    /// MCP session id (legacy era), or a per-connection id.
    pub session_id: Option<String>,
}

/// A handler stopped because the client must supply input first (stateless era).
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// Server-assigned key -> `{method, params}` the client must fulfil.
    pub input_requests: Map<String, Value>,
}

/// Per-request context handed to every handler.
#[derive(Clone)]
pub struct RequestCtx {
    pub(crate) inner: Arc<CtxInner>,
}

pub(crate) struct CtxInner {
    pub server: Option<crate::server::McpServer>,
    pub version: ProtocolVersion,
    pub request_id: Option<RequestId>,
    pub modern: Option<ModernMeta>,
    pub session: Option<Arc<Session>>,
    pub outbound: Option<Outbound>,
    pub cancel: CancellationToken,
    pub identity: Identity,
    pub transport: TransportKind,
    pub progress_token: Option<Value>,
    pub last_progress: Mutex<Option<f64>>,
    pub input_responses: Map<String, Value>,
    pub request_state: Option<Value>,
    pub asked: Mutex<Map<String, Value>>,
    /// The task this call runs as (2026-07-28 tasks extension), if any.
    pub task: Option<Arc<TaskEntry>>,
}

static SERVER_REQUEST_IDS: AtomicU64 = AtomicU64::new(1);

/// Everything needed to build a [`RequestCtx`]; transports fill what they know.
#[derive(Default)]
pub struct CtxParts {
    /// Negotiated or requested protocol revision.
    pub version: Option<ProtocolVersion>,
    /// The request's id.
    pub request_id: Option<RequestId>,
    /// Modern-era metadata, when the request carried it.
    pub modern: Option<ModernMeta>,
    /// The legacy session, when there is one.
    pub session: Option<Arc<Session>>,
    /// Where notifications go.
    pub outbound: Option<Outbound>,
    /// Cancelled when the client cancels or goes away (modern era).
    pub cancel: Option<CancellationToken>,
    /// Caller identity hints.
    pub identity: Identity,
    /// The carrying transport.
    pub transport: Option<TransportKind>,
}

impl RequestCtx {
    /// Builds a context; `params` supplies progress token, input responses and state.
    pub(crate) fn new(
        server: Option<crate::server::McpServer>,
        parts: CtxParts,
        params: Option<&Value>,
        input_responses: Map<String, Value>,
        request_state: Option<Value>,
    ) -> Self {
        Self {
            inner: Arc::new(CtxInner {
                server,
                version: parts.version.unwrap_or(ProtocolVersion::LATEST_LEGACY),
                request_id: parts.request_id,
                modern: parts.modern,
                session: parts.session,
                outbound: parts.outbound,
                cancel: parts.cancel.unwrap_or_default(),
                identity: parts.identity,
                transport: parts.transport.unwrap_or(TransportKind::InProcess),
                progress_token: codex_mcp_protocol::meta::progress_token(params),
                last_progress: Mutex::new(None),
                input_responses,
                request_state,
                asked: Mutex::new(Map::new()),
                task: None,
            }),
        }
    }

    /// The context of `task`, made from the request that created it: same caller,
    /// capabilities and answers so far, but no notification route (the request is
    /// answered already) and the task's own cancellation. In a legacy session the
    /// request's progress token stays in use for the task's lifetime (2025-11-25:
    /// progress of a task-augmented request keeps its original token); the
    /// notifications go to the session's standalone stream.
    pub(crate) fn for_task(&self, task: Arc<TaskEntry>) -> Self {
        let i = &self.inner;
        let progress_token = i.session.as_ref().and_then(|_| i.progress_token.clone());
        Self {
            inner: Arc::new(CtxInner {
                server: i.server.clone(),
                version: i.version,
                request_id: i.request_id.clone(),
                modern: i.modern.clone(),
                session: i.session.clone(),
                outbound: None,
                cancel: task.cancellation().clone(),
                identity: i.identity.clone(),
                transport: i.transport,
                progress_token,
                last_progress: Mutex::new(None),
                input_responses: i.input_responses.clone(),
                request_state: i.request_state.clone(),
                asked: Mutex::new(Map::new()),
                task: Some(task),
            }),
        }
    }

    /// The task this call runs as, when the client let it become one: tools report
    /// what they are doing with [`TaskEntry::set_status_message`].
    pub fn task(&self) -> Option<&Arc<TaskEntry>> {
        self.inner.task.as_ref()
    }

    /// The protocol revision this request speaks.
    pub fn version(&self) -> ProtocolVersion {
        self.inner.version
    }

    /// The engine serving this request (for tools that report on the server itself).
    pub fn server(&self) -> Option<&crate::server::McpServer> {
        self.inner.server.as_ref()
    }

    /// The id of the request being served.
    pub fn request_id(&self) -> Option<&RequestId> {
        self.inner.request_id.as_ref()
    }

    /// The protocol era of this request.
    pub fn era(&self) -> Era {
        self.inner.version.era()
    }

    /// Fires when the client cancels or disconnects (where that means cancel).
    pub fn cancellation(&self) -> &CancellationToken {
        &self.inner.cancel
    }

    /// Caller identity hints from the transport.
    pub fn identity(&self) -> &Identity {
        &self.inner.identity
    }

    /// The carrying transport.
    pub fn transport(&self) -> TransportKind {
        self.inner.transport
    }

    /// The legacy session, if any.
    pub fn session(&self) -> Option<&Arc<Session>> {
        self.inner.session.as_ref()
    }

    /// Verified state the server sealed into an earlier `input_required` result.
    pub fn request_state(&self) -> Option<&Value> {
        self.inner.request_state.as_ref()
    }

    /// The client's capabilities for this request (modern) or session (legacy).
    pub fn client_capabilities(&self) -> Value {
        if let Some(modern) = &self.inner.modern {
            return Value::Object(modern.client_capabilities.clone());
        }
        self.inner
            .session
            .as_ref()
            .map(|s| s.client_capabilities())
            .unwrap_or(Value::Null)
    }

    /// Whether the client declared a capability, e.g. `"sampling"` or `"elicitation"`.
    pub fn client_supports(&self, capability: &str) -> bool {
        self.client_capabilities()
            .get(capability)
            .is_some_and(|v| !v.is_null())
    }

    async fn send(&self, message: Message) {
        if self.inner.cancel.is_cancelled() {
            return;
        }
        if let Some(out) = &self.inner.outbound {
            let _ = out.send(message).await;
        }
    }

    /// Reports progress if the client asked for it (a task shows the message as its
    /// `statusMessage`). Values that would not increase are
    /// dropped, because the protocol requires progress to grow monotonically.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<String>) {
        if let (Some(task), Some(message)) = (&self.inner.task, &message) {
            task.set_status_message(message.clone());
        }
        let Some(token) = self.inner.progress_token.clone() else {
            return;
        };
        {
            let mut last = self.inner.last_progress.lock();
            if last.is_some_and(|l| progress <= l) {
                return;
            }
            *last = Some(progress);
        }
        let mut params = json!({ "progressToken": token, "progress": progress });
        if let Some(total) = total {
            params["total"] = json!(total);
        }
        if let Some(message) = message {
            params["message"] = json!(message);
        }
        let note = Message::Notification(Notification::new(methods::PROGRESS, Some(params)));
        match (&self.inner.task, &self.inner.session, &self.inner.outbound) {
            // A task's request was answered already: its progress goes to the session's
            // standalone stream (lost when none is open, as the status notifications
            // are), and stops once the task has ended.
            (Some(task), Some(session), None) => {
                if !self.inner.cancel.is_cancelled() && !task.task().status.is_terminal() {
                    session.send_standalone(note);
                }
            }
            _ => self.send(note).await,
        }
    }

    /// The minimum level the client wants log messages at, if it opted in.
    pub fn log_level(&self) -> Option<LoggingLevel> {
        match &self.inner.modern {
            Some(modern) => modern.log_level,
            None => self.inner.session.as_ref().and_then(|s| s.log_level()),
        }
    }

    /// Sends a log message to the client when it opted in at or below `level`.
    pub async fn log(&self, level: LoggingLevel, logger: Option<&str>, data: Value) {
        let Some(min) = self.log_level() else { return };
        if level < min {
            return;
        }
        let mut params = json!({ "level": level, "data": data });
        if let Some(logger) = logger {
            params["logger"] = json!(logger);
        }
        self.send(Message::Notification(Notification::new(
            methods::MESSAGE,
            Some(params),
        )))
        .await;
    }

    /// Asks the client for input (`sampling/createMessage`, `elicitation/create`,
    /// `roots/list`). `key` names the question so a stateless retry can answer it.
    pub async fn ask(&self, key: &str, method: &str, params: Value) -> Result<Value, AskError> {
        if let Some(task) = &self.inner.task {
            if let Some(answer) = self.inner.input_responses.get(key) {
                return Ok(answer.clone());
            }
            let mut answers = task
                .ask(vec![(key.to_string(), method.to_string(), params)])
                .await
                .ok_or(AskError::Cancelled)?;
            return Ok(answers.pop().unwrap_or(Value::Null));
        }
        if self.era() == Era::Modern {
            if let Some(answer) = self.inner.input_responses.get(key) {
                return Ok(answer.clone());
            }
            self.inner.asked.lock().insert(
                key.to_string(),
                json!({ "method": method, "params": params }),
            );
            return Err(AskError::Pending(Pending {
                input_requests: self.inner.asked.lock().clone(),
            }));
        }
        let session = self.inner.session.clone().ok_or(AskError::Unsupported)?;
        let out = self.inner.outbound.clone().ok_or(AskError::Unsupported)?;
        let id = RequestId::String(format!(
            "srv-{}",
            SERVER_REQUEST_IDS.fetch_add(1, Ordering::Relaxed)
        ));
        let rx = session.expect_response(id.clone());
        let request = Request::new(id.clone(), method, Some(params));
        if out.send(Message::Request(request)).await.is_err() {
            session.forget_response(&id);
            return Err(AskError::Disconnected);
        }
        tokio::select! {
            answer = rx => match answer {
                Ok(Ok(value)) => Ok(value),
                Ok(Err(error)) => Err(AskError::Client(error)),
                Err(_) => Err(AskError::Disconnected),
            },
            () = self.inner.cancel.cancelled() => {
                session.forget_response(&id);
                Err(AskError::Cancelled)
            }
        }
    }

    /// Asks several questions at once. In the stateless era every unanswered question
    /// goes into one `input_required` result; in the legacy era they are sent in turn.
    pub async fn ask_many(
        &self,
        questions: Vec<(String, String, Value)>,
    ) -> Result<Vec<Value>, AskError> {
        if let Some(task) = &self.inner.task {
            let given = &self.inner.input_responses;
            let missing: Vec<_> = questions
                .iter()
                .filter(|(key, _, _)| !given.contains_key(key))
                .cloned()
                .collect();
            let mut fresh = if missing.is_empty() {
                Vec::new()
            } else {
                task.ask(missing).await.ok_or(AskError::Cancelled)?
            }
            .into_iter();
            return Ok(questions
                .iter()
                .map(|(key, _, _)| {
                    given
                        .get(key)
                        .cloned()
                        .unwrap_or_else(|| fresh.next().unwrap_or(Value::Null))
                })
                .collect());
        }
        if self.era() == Era::Modern {
            let mut missing = false;
            for (key, method, params) in &questions {
                if !self.inner.input_responses.contains_key(key) {
                    missing = true;
                    self.inner
                        .asked
                        .lock()
                        .insert(key.clone(), json!({ "method": method, "params": params }));
                }
            }
            if missing {
                return Err(AskError::Pending(Pending {
                    input_requests: self.inner.asked.lock().clone(),
                }));
            }
        }
        let mut answers = Vec::with_capacity(questions.len());
        for (key, method, params) in questions {
            answers.push(self.ask(&key, &method, params).await?);
        }
        Ok(answers)
    }

    /// Answers the client has given so far (carried across retries in the sealed state).
    pub(crate) fn answers(&self) -> &Map<String, Value> {
        &self.inner.input_responses
    }
}

/// Why [`RequestCtx::ask`] produced no answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AskError {
    /// Stateless era: return `input_required`; the client retries with the answer.
    #[error("the client must supply input first")]
    Pending(Pending),
    /// The client answered with an error.
    #[error("the client refused: {0}")]
    Client(ErrorObject),
    /// The transport cannot carry server-to-client requests.
    #[error("this transport cannot ask the client for input")]
    Unsupported,
    /// The client went away before answering.
    #[error("the client disconnected before answering")]
    Disconnected,
    /// The request was cancelled while waiting.
    #[error("the request was cancelled")]
    Cancelled,
}
