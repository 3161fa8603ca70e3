//! One client connection's message loop, shared by every transport.
//!
//! A transport frames messages (a line on stdio, a POST body over HTTP) and hands each
//! one to [`Connection::handle`]; everything else happens here, once: `initialize`
//! opens the legacy session, requests are registered in flight under the sender's own
//! table so `notifications/cancelled` can reach them, the request context is built, the
//! cached answers are used, client responses reach the server-to-client request waiting
//! for them, and a request's answer is dropped when the client cancelled it. What comes
//! back is a [`Step`]: nothing to send, a finished [`Reply`], or a [`Call`] the
//! transport runs (inline, or spawned with [`Call::spawn`]) and frames the reply of.

use std::sync::Arc;

use codex_mcp_protocol::jsonrpc::{Message, Request, RequestId, Response};
use codex_mcp_protocol::meta::{self, ModernMeta};
use codex_mcp_protocol::notifications::methods;
use codex_mcp_protocol::{Era, ErrorObject, ProtocolVersion};
use parking_lot::Mutex;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::McpServer;
use super::context::{CtxParts, Identity, Outbound};
use super::dispatch::{EncodedResponse, not_initialized};
use crate::session::{InFlight, InFlightGuard, Session, TransportKind};

/// The answer to one request, ready to frame.
#[derive(Debug)]
pub enum Reply {
    /// A cached answer, already serialised (see [`McpServer::precomputed_response`]).
    Encoded(EncodedResponse),
    /// An answer the engine produced for this request.
    Rpc(Response),
}

impl Reply {
    /// The JSON-RPC error, when the reply is one.
    pub fn error(&self) -> Option<&ErrorObject> {
        match self {
            Self::Encoded(_) => None,
            Self::Rpc(response) => response.error.as_ref(),
        }
    }

    /// The reply as a message, for transports that write messages to one channel. A
    /// cached answer is read back from its bytes (they are exactly what the engine would
    /// have answered).
    pub fn into_message(self) -> Message {
        Message::Response(match self {
            Self::Rpc(response) => response,
            Self::Encoded(encoded) => serde_json::from_slice(&encoded.to_vec())
                .unwrap_or_else(|e| Response::error(None, ErrorObject::internal(e.to_string()))),
        })
    }
}

/// What handling one message produced.
pub enum Step {
    /// Nothing to send back (a notification or a client's response).
    Quiet,
    /// The answer, known at once (`initialize`, a cached answer, a refusal).
    Reply(Reply),
    /// A request to run; its [`Call::run`] gives the answer. Boxed: a call carries its
    /// whole context and is moved into a task.
    Run(Box<Call>),
}

/// A request registered in flight with its context, ready to run.
pub struct Call {
    server: McpServer,
    request: Request,
    parts: CtxParts,
    cancel: CancellationToken,
    _guards: (InFlightGuard, Option<InFlightGuard>),
    answer_cancelled: bool,
}

impl Call {
    /// The request's method.
    pub fn method(&self) -> &str {
        &self.request.method
    }

    /// The request's id.
    pub fn id(&self) -> &RequestId {
        &self.request.id
    }

    /// Cancelled when the client cancels the request or the server shuts down; a
    /// transport may cancel it too (a modern stream that closed).
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancel
    }

    /// Routes the request's notifications (and legacy server-to-client requests) to
    /// `outbound`.
    #[must_use]
    pub fn with_outbound(mut self, outbound: Outbound) -> Self {
        self.parts.outbound = Some(outbound);
        self
    }

    /// Runs the request. `None` when it was cancelled meanwhile and its connection does
    /// not answer cancelled requests (the client said it no longer wants the answer).
    pub async fn run(self) -> Option<Reply> {
        let Self {
            server,
            request,
            parts,
            cancel,
            _guards,
            answer_cancelled,
        } = self;
        let response = server.handle_request(request, parts).await;
        drop(_guards);
        (answer_cancelled || !cancel.is_cancelled()).then_some(Reply::Rpc(response))
    }

    /// Runs the request on its own task, its notifications and then its answer going to
    /// `outbound` (stdio, `/sse`).
    pub fn spawn(self, outbound: Outbound) {
        let call = self.with_outbound(outbound.clone());
        tokio::spawn(async move {
            if let Some(reply) = call.run().await {
                let _ = outbound.send(reply.into_message()).await;
            }
        });
    }
}

/// One client's connection to the engine: a stdio pipe, an `/sse` stream, a legacy
/// `/mcp` session or a single stateless `/mcp` request.
pub struct Connection {
    server: McpServer,
    transport: TransportKind,
    /// Agent and bearer token of whoever opened the connection: the session it opens
    /// belongs to them.
    opener: Identity,
    session: Mutex<Option<Arc<Session>>>,
    /// Requests outside a session that this client may cancel by id; only a connection
    /// [`Self::detecting_era`] (stdio) has them, so an HTTP request allocates no table.
    requests: Option<Arc<InFlight>>,
    /// Answer a request even after it was cancelled (a stateless HTTP request: its
    /// cancellation is the client going away or shutdown, and the answer says so).
    answer_cancelled: bool,
}

impl Connection {
    /// A connection carried by `transport`, opened by `opener`.
    pub fn new(server: McpServer, transport: TransportKind, opener: Identity) -> Self {
        Self {
            server,
            transport,
            opener,
            session: Mutex::new(None),
            requests: None,
            answer_cancelled: false,
        }
    }

    /// A connection inside an existing legacy session (one legacy `/mcp` POST).
    #[must_use]
    pub fn in_session(self, session: Arc<Session>) -> Self {
        *self.session.lock() = Some(session);
        self
    }

    /// Handles a request whose `_meta` names the stateless era statelessly, whatever
    /// the session (stdio, where one pipe carries both eras).
    #[must_use]
    pub fn detecting_era(mut self) -> Self {
        self.requests = Some(Arc::new(InFlight::default()));
        self
    }

    /// Answers requests even after they were cancelled (stateless HTTP).
    #[must_use]
    pub fn answering_cancelled(mut self) -> Self {
        self.answer_cancelled = true;
        self
    }

    /// The legacy session `initialize` opened, if any.
    pub fn session(&self) -> Option<Arc<Session>> {
        self.session.lock().clone()
    }

    /// Handles one message from the client; `caller` is who sent it (an HTTP request
    /// names its own agent and token).
    pub async fn handle(&self, message: Message, caller: Identity) -> Step {
        match message {
            Message::Request(request) => self.request(request, None, caller).await,
            Message::Notification(n) => {
                let session = self.session();
                self.server
                    .handle_notification(&n, session.as_ref(), self.requests.as_deref());
                Step::Quiet
            }
            Message::Response(r) => {
                if let (Some(session), Some(id)) = (self.session(), &r.id) {
                    let answer = match (r.result, r.error) {
                        (_, Some(e)) => Err(e),
                        (Some(v), None) => Ok(v),
                        (None, None) => Ok(Value::Null),
                    };
                    session.deliver_response(id, answer);
                }
                Step::Quiet
            }
        }
    }

    /// Handles one request; `modern` is its stateless-era metadata when the transport
    /// already read and checked it (streamable HTTP).
    pub async fn request(
        &self,
        request: Request,
        modern: Option<ModernMeta>,
        caller: Identity,
    ) -> Step {
        let modern = match modern {
            Some(m) => Some(m),
            None if self.requests.is_some() => match stateless_meta(&request) {
                Ok(m) => m,
                Err(e) => return Step::Reply(Reply::Rpc(Response::error(Some(request.id), e))),
            },
            None => None,
        };
        if let Some(modern) = modern {
            return self.stateless(request, modern, caller);
        }
        if request.method == methods::INITIALIZE {
            return Step::Reply(Reply::Rpc(self.initialize(request).await));
        }
        let Some(session) = self.session() else {
            return Step::Reply(Reply::Rpc(not_initialized(Some(request.id))));
        };
        let version = session.version();
        // Answered without running anything: nothing to register or cancel.
        if let Some(encoded) = self.server.precomputed_response(&request, version) {
            return Step::Reply(Reply::Encoded(encoded));
        }
        let cancel = CancellationToken::new();
        let guard = session
            .in_flight
            .register(request.id.clone(), cancel.clone());
        let parts = CtxParts {
            version: Some(version),
            request_id: Some(request.id.clone()),
            identity: Identity {
                session_id: Some(session.id().to_string()),
                ..caller
            },
            session: Some(session),
            cancel: Some(cancel.clone()),
            transport: Some(self.transport),
            ..CtxParts::default()
        };
        self.call(request, parts, cancel, (guard, None))
    }

    fn stateless(&self, request: Request, modern: ModernMeta, caller: Identity) -> Step {
        if let Some(encoded) = self.server.precomputed_response(&request, modern.version) {
            return Step::Reply(Reply::Encoded(encoded));
        }
        let cancel = CancellationToken::new();
        let guards = (
            self.server.in_flight().register_unnamed(cancel.clone()),
            self.requests
                .as_ref()
                .map(|requests| requests.register(request.id.clone(), cancel.clone())),
        );
        let parts = CtxParts {
            version: Some(modern.version),
            request_id: Some(request.id.clone()),
            modern: Some(modern),
            cancel: Some(cancel.clone()),
            identity: caller,
            transport: Some(self.transport),
            ..CtxParts::default()
        };
        self.call(request, parts, cancel, guards)
    }

    fn call(
        &self,
        request: Request,
        parts: CtxParts,
        cancel: CancellationToken,
        guards: (InFlightGuard, Option<InFlightGuard>),
    ) -> Step {
        Step::Run(Box::new(Call {
            server: self.server.clone(),
            request,
            parts,
            cancel,
            _guards: guards,
            answer_cancelled: self.answer_cancelled,
        }))
    }

    /// Opens the session (replacing and closing an earlier one of this connection).
    async fn initialize(&self, request: Request) -> Response {
        let (result, mut init) = match self.server.initialize(request.params.as_ref()) {
            Ok(x) => x,
            Err(e) => return Response::error(Some(request.id), e),
        };
        init.owner = self.opener.token.as_ref().map(|grant| grant.sha256);
        let opened = self
            .server
            .sessions()
            .open(init, self.transport, self.opener.connection_agent.clone())
            .await;
        match opened {
            Ok(session) => {
                if let Some(old) = self.session.lock().replace(session) {
                    self.server.sessions().remove(old.id());
                }
                Response::success(request.id, result)
            }
            Err(e) => Response::error(Some(request.id), ErrorObject::internal(e)),
        }
    }

    /// Ends the connection: cancels what it runs and closes its session.
    pub fn close(&self) {
        if let Some(session) = self.session.lock().take() {
            session.in_flight.cancel_all();
            self.server.sessions().remove(session.id());
        }
        if let Some(requests) = &self.requests {
            requests.cancel_all();
        }
    }
}

/// The stateless-era metadata of a request whose `_meta` claims that era (or a version
/// this server does not know), `None` for a handshake-era request.
fn stateless_meta(request: &Request) -> Result<Option<ModernMeta>, ErrorObject> {
    let claims = meta::requested_version(request.params.as_ref())
        .is_some_and(|v| ProtocolVersion::parse(v).is_none_or(|p| p.era() == Era::Modern));
    if !claims {
        return Ok(None);
    }
    ModernMeta::from_params(request.params.as_ref(), meta::VersionHeader::NotApplicable).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{FnTool, ServerOptions};
    use codex_mcp_protocol::jsonrpc::Notification;
    use codex_mcp_protocol::meta::{CLIENT_CAPABILITIES, PROTOCOL_VERSION};
    use codex_mcp_protocol::tools::{CallToolResult, Tool};
    use pretty_assertions::assert_eq;
    use serde_json::json;
    use tokio::sync::mpsc;

    fn tool(name: &str) -> Tool {
        Tool {
            name: name.into(),
            title: None,
            description: None,
            input_schema: json!({"type": "object"}),
            output_schema: None,
            annotations: None,
            meta: None,
        }
    }

    /// `wait` runs until cancelled; `ask` asks the client for its roots and returns the
    /// answer as text.
    fn server() -> McpServer {
        McpServer::builder(ServerOptions::default())
            .tool(FnTool::new(tool("wait"), |_args, ctx| async move {
                ctx.cancellation().cancelled().await;
                Ok(CallToolResult::text("cancelled"))
            }))
            .tool(FnTool::new(tool("ask"), |_args, ctx| async move {
                match ctx.ask("roots", "roots/list", json!({})).await {
                    Ok(answer) => Ok(CallToolResult::text(answer.to_string())),
                    Err(e) => Ok(CallToolResult::error(e.to_string())),
                }
            }))
            .build()
    }

    fn request(id: i64, method: &str, params: Value) -> Message {
        Message::Request(Request::new(RequestId::Number(id), method, Some(params)))
    }

    fn initialize(id: i64) -> Message {
        request(
            id,
            methods::INITIALIZE,
            json!({
                "protocolVersion": ProtocolVersion::LATEST_LEGACY.as_str(),
                "capabilities": {"roots": {}},
                "clientInfo": {"name": "test", "version": "1"}
            }),
        )
    }

    fn call(id: i64, name: &str) -> Message {
        request(
            id,
            methods::TOOLS_CALL,
            json!({"name": name, "arguments": {}}),
        )
    }

    fn stdio(server: &McpServer) -> Connection {
        Connection::new(server.clone(), TransportKind::Stdio, Identity::default()).detecting_era()
    }

    async fn reply(connection: &Connection, message: Message) -> Value {
        match connection.handle(message, Identity::default()).await {
            Step::Reply(reply) => serde_json::to_value(reply.into_message()).unwrap(),
            Step::Quiet => panic!("no reply"),
            Step::Run(_) => panic!("a call to run, not a reply"),
        }
    }

    async fn run(connection: &Connection, message: Message) -> Box<Call> {
        match connection.handle(message, Identity::default()).await {
            Step::Run(call) => call,
            _ => panic!("expected a call to run"),
        }
    }

    #[tokio::test]
    async fn initialize_opens_the_session_and_another_replaces_it() {
        let server = server();
        let connection = stdio(&server);
        let first = reply(&connection, initialize(1)).await;
        assert_eq!(
            first["result"]["protocolVersion"],
            json!(ProtocolVersion::LATEST_LEGACY.as_str())
        );
        let opened = connection.session().map(|s| s.id().to_string());
        assert_eq!(server.sessions().len(), 1);
        reply(&connection, initialize(2)).await;
        let reopened = connection.session().map(|s| s.id().to_string());
        assert!(opened.is_some() && reopened.is_some() && opened != reopened);
        assert_eq!(server.sessions().len(), 1, "the first session was closed");
        connection.close();
        assert_eq!(server.sessions().len(), 0);
    }

    #[tokio::test]
    async fn a_request_before_initialize_is_refused() {
        let server = server();
        let connection = Connection::new(server, TransportKind::LegacySse, Identity::default());
        let refused = reply(&connection, request(1, methods::TOOLS_LIST, json!({}))).await;
        assert_eq!(refused["error"]["code"], json!(-32600), "{refused}");
    }

    #[tokio::test]
    async fn cached_answers_read_back_as_the_handled_ones() {
        let server = server();
        let connection = stdio(&server);
        reply(&connection, initialize(1)).await;
        let step = connection
            .handle(
                request(2, methods::TOOLS_LIST, json!({})),
                Identity::default(),
            )
            .await;
        let Step::Reply(cached @ Reply::Encoded(_)) = step else {
            panic!("tools/list is answered from the cache");
        };
        let handled = server
            .handle_request(
                Request::new(RequestId::Number(2), methods::TOOLS_LIST, Some(json!({}))),
                CtxParts::default(),
            )
            .await;
        assert_eq!(
            serde_json::to_value(cached.into_message()).unwrap(),
            serde_json::to_value(Message::Response(handled)).unwrap()
        );
    }

    #[tokio::test]
    async fn a_cancelled_call_goes_unanswered() {
        let server = server();
        let connection = stdio(&server);
        reply(&connection, initialize(1)).await;
        let call = run(&connection, call(7, "wait")).await;
        let running = tokio::spawn(call.run());
        let cancelled = Notification::new(methods::CANCELLED, Some(json!({"requestId": 7})));
        let step = connection
            .handle(Message::Notification(cancelled), Identity::default())
            .await;
        assert!(matches!(step, Step::Quiet));
        assert!(running.await.unwrap().is_none(), "no answer after cancel");
        assert_eq!(connection.session().unwrap().in_flight.len(), 0);
    }

    #[tokio::test]
    async fn a_stateless_line_runs_without_a_session_and_is_cancelled_by_id() {
        let server = server();
        let connection = stdio(&server);
        let params = json!({
            "name": "wait",
            "arguments": {},
            "_meta": {PROTOCOL_VERSION: ProtocolVersion::LATEST.as_str(), CLIENT_CAPABILITIES: {}}
        });
        let call = run(&connection, request(9, methods::TOOLS_CALL, params)).await;
        assert_eq!(server.in_flight().len(), 1);
        let running = tokio::spawn(call.run());
        let cancelled = Notification::new(methods::CANCELLED, Some(json!({"requestId": 9})));
        connection
            .handle(Message::Notification(cancelled), Identity::default())
            .await;
        assert!(running.await.unwrap().is_none());
        assert_eq!(server.in_flight().len(), 0);
        assert!(connection.session().is_none());
    }

    #[tokio::test]
    async fn a_connection_answering_cancelled_calls_still_answers() {
        let server = server();
        let connection = Connection::new(
            server.clone(),
            TransportKind::StreamableHttp,
            Identity::default(),
        )
        .answering_cancelled();
        let Message::Request(request) = call(3, "wait") else {
            unreachable!()
        };
        let modern = ModernMeta::from_params(
            Some(&json!({"_meta": {
                PROTOCOL_VERSION: ProtocolVersion::LATEST.as_str(),
                CLIENT_CAPABILITIES: {}
            }})),
            meta::VersionHeader::NotApplicable,
        )
        .unwrap();
        let Step::Run(call) = connection
            .request(request, Some(modern), Identity::default())
            .await
        else {
            panic!("expected a call");
        };
        call.cancellation().cancel();
        let answer = call
            .run()
            .await
            .map(|r| serde_json::to_value(r.into_message()).unwrap());
        assert_eq!(
            answer.map(|a| a["result"]["content"][0]["text"].clone()),
            Some(json!("cancelled"))
        );
    }

    #[tokio::test]
    async fn a_client_response_reaches_the_question_waiting_for_it() {
        let server = server();
        let connection = stdio(&server);
        reply(&connection, initialize(1)).await;
        let (tx, mut rx) = mpsc::channel(8);
        let call = run(&connection, call(2, "ask")).await;
        let running = tokio::spawn(call.with_outbound(tx).run());
        let Some(Message::Request(question)) = rx.recv().await else {
            panic!("the server asks the client");
        };
        assert_eq!(question.method, "roots/list");
        let answer = Response::success(question.id, json!({"roots": []}));
        let step = connection
            .handle(Message::Response(answer), Identity::default())
            .await;
        assert!(matches!(step, Step::Quiet));
        let done = running
            .await
            .unwrap()
            .map(|r| serde_json::to_value(r.into_message()).unwrap());
        assert_eq!(
            done.map(|d| d["result"]["content"][0]["text"].clone()),
            Some(json!(r#"{"roots":[]}"#))
        );
    }
}
