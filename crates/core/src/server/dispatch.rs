//! Method routing and era-specific result shaping.

use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use codex_mcp_protocol::jsonrpc::{Notification, Request, RequestId, Response, json_kind};
use codex_mcp_protocol::lifecycle::{DiscoverResult, InitializeParams, InitializeResult};
use codex_mcp_protocol::logging::SetLevelParams;
use codex_mcp_protocol::notifications::{CancelledParams, methods};
use codex_mcp_protocol::prompts::GetPromptParams;
use codex_mcp_protocol::result::{self, CacheHint, CacheScope, RESULT_INPUT_REQUIRED};
use codex_mcp_protocol::tasks_ext::{self, TaskSupport};
use codex_mcp_protocol::tools::{CallToolParams, CallToolResult, Tool};
use codex_mcp_protocol::{Era, ErrorCode, ErrorObject, ProtocolVersion};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tracing::Instrument as _;

use super::McpServer;
use super::context::{CtxParts, InFlight, Pending, RequestCtx};
use super::correlation;
use super::registry::ToolError;
use crate::session::{Session, SessionInit};

/// Finished, serialised results of requests whose answer depends only on what was
/// registered, per era (`[legacy, modern]`), each made the first time it is asked for;
/// `None` where the method is not offered.
#[derive(Default)]
pub(crate) struct Precomputed {
    discover: [OnceLock<Option<Bytes>>; 2],
    tools_list: [OnceLock<Option<Bytes>>; 2],
}

/// A successful JSON-RPC response, serialised: `head` (`{"jsonrpc":"2.0","id":..,"result":`),
/// the shared bytes of the result, then `}`. Kept in pieces so a large cached result is
/// written out without being copied.
#[derive(Debug, Clone)]
pub struct EncodedResponse {
    head: Bytes,
    result: Bytes,
}

impl EncodedResponse {
    /// The pieces, in order; their concatenation is the response's JSON.
    pub fn into_chunks(self) -> [Bytes; 3] {
        [self.head, self.result, Bytes::from_static(b"}")]
    }

    /// Length of the whole JSON in bytes.
    pub fn len(&self) -> usize {
        self.head.len() + self.result.len() + 1
    }

    /// Never true: a response is at least `{...}`.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The whole JSON in one buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len());
        out.extend_from_slice(&self.head);
        out.extend_from_slice(&self.result);
        out.push(b'}');
        out
    }
}

/// What a method produced before era shaping.
pub(super) enum Outcome {
    Done(Value, Option<CacheHint>),
    InputRequired(Pending),
}

pub(super) fn params_as<T: DeserializeOwned>(
    params: Option<&Value>,
    method: &str,
) -> Result<T, ErrorObject> {
    let value = params.cloned().unwrap_or_else(|| json!({}));
    serde_json::from_value(value).map_err(|e| ErrorObject::invalid_params(format!("{method}: {e}")))
}

impl McpServer {
    /// Answers `initialize`: negotiates the version and describes the server. The caller
    /// (a transport) creates the session from the returned [`SessionInit`], after
    /// setting its `owner` when the request carried a bearer token.
    pub fn initialize(&self, params: Option<&Value>) -> Result<(Value, SessionInit), ErrorObject> {
        let params: InitializeParams = params_as(params, methods::INITIALIZE)?;
        let version = ProtocolVersion::negotiate_initialize(&params.protocol_version);
        let result = InitializeResult {
            protocol_version: version.as_str().to_string(),
            capabilities: self.capabilities(Era::Legacy),
            server_info: self.info().clone(),
            instructions: self.inner.options.instructions.clone(),
        };
        let init = SessionInit {
            version,
            client_info: serde_json::to_value(&params.client_info).unwrap_or(Value::Null),
            client_capabilities: params.capabilities,
            owner: None,
        };
        Ok((encode(result)?, init))
    }

    /// Handles a client notification. Unknown notifications are ignored, as JSON-RPC
    /// requires. `notifications/cancelled` reaches only the sender's own requests: those
    /// of its `session`, else those of its `connection` (a stdio connection's requests
    /// outside a session). There is no server-wide fallback: another client's request
    /// ids name nothing here.
    pub fn handle_notification(
        &self,
        notification: &Notification,
        session: Option<&Arc<Session>>,
        connection: Option<&InFlight>,
    ) {
        match notification.method.as_str() {
            methods::INITIALIZED => {
                if let Some(s) = session {
                    s.mark_initialized();
                }
            }
            methods::CANCELLED => {
                let Ok(params) =
                    params_as::<CancelledParams>(notification.params.as_ref(), methods::CANCELLED)
                else {
                    return;
                };
                let cancelled = session.is_some_and(|s| s.in_flight.cancel(&params.request_id));
                if !cancelled && let Some(connection) = connection {
                    connection.cancel(&params.request_id);
                }
            }
            _ => {}
        }
    }

    /// Handles one request and returns its response, shaped for the request's era.
    pub async fn handle_request(&self, request: Request, parts: CtxParts) -> Response {
        let version = parts.version.unwrap_or(ProtocolVersion::LATEST_LEGACY);
        let era = version.era();
        let id = request.id.clone();
        let params = request.params.as_ref();

        let (answers, state) = match self.incoming_answers(era, &request.method, params) {
            Ok(found) => found,
            Err(e) => return Response::error(Some(id), e),
        };
        let ctx = RequestCtx::new(Some(self.clone()), parts, params, answers, state);
        // Every log line of this request (and of the tool call it may start) carries it.
        let span = tracing::info_span!(
            "mcp_request",
            request = %correlation::new_id("req"),
            method = %request.method
        );
        match self
            .dispatch(&request.method, params, &ctx)
            .instrument(span)
            .await
        {
            Ok(Outcome::Done(value, cache)) => {
                Response::success(id, result::finish(value, era, self.info(), cache))
            }
            Ok(Outcome::InputRequired(pending)) => {
                Response::success(id, self.input_required(&request, &ctx, pending))
            }
            Err(error) => Response::error(Some(id), error),
        }
    }

    /// Modern era: merges answers carried in a verified `requestState` with the
    /// retried request's `inputResponses`.
    fn incoming_answers(
        &self,
        era: Era,
        method: &str,
        params: Option<&Value>,
    ) -> Result<(Map<String, Value>, Option<Value>), ErrorObject> {
        if era != Era::Modern {
            return Ok((Map::new(), None));
        }
        let mut answers = Map::new();
        let mut state = None;
        match params.and_then(|p| p.get("requestState")) {
            None | Some(Value::Null) => {}
            Some(Value::String(sealed)) => {
                let opened = self
                    .inner
                    .sealer
                    .open(sealed)
                    .map_err(|e| ErrorObject::invalid_params(format!("requestState: {e}")))?;
                if opened.get("method").and_then(Value::as_str) != Some(method) {
                    return Err(ErrorObject::invalid_params(
                        "requestState belongs to a different method; retry the original request",
                    ));
                }
                if let Some(prev) = opened.get("answers").and_then(Value::as_object) {
                    answers.extend(prev.clone());
                }
                state = opened.get("state").cloned();
            }
            Some(other) => {
                return Err(ErrorObject::invalid_params(format!(
                    "requestState must be a string, got {}",
                    json_kind(other)
                )));
            }
        }
        match params.and_then(|p| p.get("inputResponses")) {
            None | Some(Value::Null) => {}
            Some(Value::Object(given)) => answers.extend(given.clone()),
            Some(other) => {
                return Err(ErrorObject::invalid_params(format!(
                    "inputResponses must be an object, got {}",
                    json_kind(other)
                )));
            }
        }
        Ok((answers, state))
    }

    fn input_required(&self, request: &Request, ctx: &RequestCtx, pending: Pending) -> Value {
        let state = json!({
            "method": request.method,
            "answers": ctx.answers(),
            "state": ctx.request_state(),
        });
        let body = json!({
            "resultType": RESULT_INPUT_REQUIRED,
            "inputRequests": pending.input_requests,
            "requestState": self.inner.sealer.seal(&state),
        });
        result::finish(body, Era::Modern, self.info(), None)
    }

    /// `server/discover`, before era shaping.
    fn discover(&self, era: Era) -> Result<(Value, Option<CacheHint>), ErrorObject> {
        let inner = &self.inner;
        let result = DiscoverResult {
            supported_versions: ProtocolVersion::supported_strings()
                .into_iter()
                .map(String::from)
                .collect(),
            capabilities: self.capabilities(era),
            instructions: inner.options.instructions.clone(),
        };
        let hint = CacheHint {
            ttl_ms: u64::try_from(inner.options.list_ttl.as_millis()).unwrap_or(u64::MAX),
            scope: CacheScope::Public,
        };
        Ok((encode(result)?, (era == Era::Modern).then_some(hint)))
    }

    /// One page of `tools/list`, before era shaping.
    fn tools_page(
        &self,
        era: Era,
        cursor: Option<&str>,
    ) -> Result<(Value, Option<CacheHint>), ErrorObject> {
        let inner = &self.inner;
        if inner.tools.is_empty() {
            return Err(ErrorObject::method_not_found(methods::TOOLS_LIST));
        }
        let tools: Vec<Value> = inner
            .tools
            .all()
            .iter()
            .map(|t| tool_entry(t.definition(), t.task_support(), era))
            .collect::<Result<_, _>>()?;
        let page = result::paginate(&tools, cursor, inner.options.page_size)?;
        let mut body = json!({ "tools": page.items });
        if let Some(next) = page.next_cursor {
            body["nextCursor"] = json!(next);
        }
        Ok((body, self.list_hint(era)))
    }

    /// A result shaped for its era and serialised, as `handle_request` would send it.
    fn serialised(&self, era: Era, (value, hint): (Value, Option<CacheHint>)) -> Bytes {
        let value = result::finish(value, era, self.info(), hint);
        Bytes::from(serde_json::to_vec(&value).unwrap_or_else(|_| b"{}".to_vec()))
    }

    /// The complete JSON-RPC response to `request` when it is one whose answer never
    /// changes: `ping` (handshake era), `server/discover`, and the first page of
    /// `tools/list`, with no `requestState` or `inputResponses` to verify. The bytes are
    /// exactly what [`Self::handle_request`] would produce; each result is serialised
    /// the first time it is asked for and kept.
    /// `None` means the request needs [`Self::handle_request`].
    pub fn precomputed_response(
        &self,
        request: &Request,
        version: ProtocolVersion,
    ) -> Option<EncodedResponse> {
        let era = version.era();
        let params = request.params.as_ref();
        let absent = |key: &str| params.and_then(|p| p.get(key)).is_none_or(Value::is_null);
        // Anything `incoming_answers` would look at sends the request the long way.
        if era == Era::Modern && !(absent("requestState") && absent("inputResponses")) {
            return None;
        }
        let cache = &self.inner.precomputed;
        let slot = match era {
            Era::Legacy => 0,
            Era::Modern => 1,
        };
        // The same code as `dispatch` makes each answer, once (a server's tools never
        // change: `listChanged` is false).
        let result = match request.method.as_str() {
            methods::PING if era == Era::Legacy => Bytes::from_static(b"{}"),
            methods::DISCOVER => cache.discover[slot]
                .get_or_init(|| Some(self.serialised(era, self.discover(era).ok()?)))
                .clone()?,
            methods::TOOLS_LIST if absent("cursor") => cache.tools_list[slot]
                .get_or_init(|| {
                    let page = self.tools_page(era, None).ok()?;
                    Some(self.serialised(era, page))
                })
                .clone()?,
            _ => return None,
        };
        let mut head = Vec::with_capacity(48);
        head.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
        serde_json::to_writer(&mut head, &request.id).ok()?;
        head.extend_from_slice(br#","result":"#);
        Some(EncodedResponse {
            head: Bytes::from(head),
            result,
        })
    }

    fn list_hint(&self, era: Era) -> Option<CacheHint> {
        (era == Era::Modern).then(|| CacheHint {
            ttl_ms: u64::try_from(self.inner.options.list_ttl.as_millis()).unwrap_or(u64::MAX),
            scope: CacheScope::Public,
        })
    }

    async fn dispatch(
        &self,
        method: &str,
        params: Option<&Value>,
        ctx: &RequestCtx,
    ) -> Result<Outcome, ErrorObject> {
        let era = ctx.era();
        let inner = &self.inner;
        let legacy_only = |m: &str| -> Result<(), ErrorObject> {
            if era == Era::Modern {
                Err(ErrorObject::method_not_found(m))
            } else {
                Ok(())
            }
        };
        match method {
            methods::PING => {
                legacy_only(method)?;
                Ok(Outcome::Done(json!({}), None))
            }
            methods::DISCOVER => {
                let (value, hint) = self.discover(era)?;
                Ok(Outcome::Done(value, hint))
            }
            methods::INITIALIZE => {
                legacy_only(method)?;
                Err(ErrorObject::invalid_request(
                    "initialize is only valid as the first message of a session",
                ))
            }
            methods::TOOLS_LIST => {
                let (value, hint) = self.tools_page(era, result::cursor_param(params)?)?;
                Ok(Outcome::Done(value, hint))
            }
            methods::TOOLS_CALL => self.call_tool(params, ctx).await,
            m if codex_mcp_protocol::tasks::methods::is_any_task_method(m) => {
                self.task_method(m, params, ctx).await
            }
            methods::RESOURCES_LIST => {
                if inner.resources.is_empty() {
                    return Err(ErrorObject::method_not_found(method));
                }
                let cursor = result::cursor_param(params)?;
                let mut all = Vec::new();
                for provider in &inner.resources {
                    all.extend(provider.list(ctx).await?);
                }
                let page = result::paginate(&all, cursor, inner.options.page_size)?;
                let mut body = json!({ "resources": page.items });
                if let Some(next) = page.next_cursor {
                    body["nextCursor"] = json!(next);
                }
                let hint = if inner.resources.iter().any(|p| p.per_caller()) {
                    (era == Era::Modern).then_some(CacheHint {
                        ttl_ms: 0,
                        scope: CacheScope::Private,
                    })
                } else {
                    self.list_hint(era)
                };
                Ok(Outcome::Done(body, hint))
            }
            methods::RESOURCES_TEMPLATES_LIST => {
                if inner.resources.is_empty() {
                    return Err(ErrorObject::method_not_found(method));
                }
                let all: Vec<_> = inner.resources.iter().flat_map(|p| p.templates()).collect();
                let page =
                    result::paginate(&all, result::cursor_param(params)?, inner.options.page_size)?;
                let mut body = json!({ "resourceTemplates": page.items });
                if let Some(next) = page.next_cursor {
                    body["nextCursor"] = json!(next);
                }
                Ok(Outcome::Done(body, self.list_hint(era)))
            }
            methods::RESOURCES_READ => self.read_resource(params, ctx).await,
            methods::RESOURCES_SUBSCRIBE | methods::RESOURCES_UNSUBSCRIBE => {
                legacy_only(method)?;
                if !inner.subscribe {
                    return Err(ErrorObject::method_not_found(method));
                }
                let p: codex_mcp_protocol::resources::ResourceUriParams =
                    params_as(params, method)?;
                if p.uri.is_empty() {
                    return Err(ErrorObject::invalid_params("uri must not be empty"));
                }
                Ok(Outcome::Done(json!({}), None))
            }
            methods::PROMPTS_LIST => {
                if inner.prompts.is_empty() {
                    return Err(ErrorObject::method_not_found(method));
                }
                let all: Vec<_> = inner.prompts.all().iter().map(|p| p.definition()).collect();
                let page =
                    result::paginate(&all, result::cursor_param(params)?, inner.options.page_size)?;
                let mut body = json!({ "prompts": page.items });
                if let Some(next) = page.next_cursor {
                    body["nextCursor"] = json!(next);
                }
                Ok(Outcome::Done(body, self.list_hint(era)))
            }
            methods::PROMPTS_GET => {
                if inner.prompts.is_empty() {
                    return Err(ErrorObject::method_not_found(method));
                }
                let p: GetPromptParams = params_as(params, method)?;
                let prompt = inner.prompts.get(&p.name).ok_or_else(|| {
                    ErrorObject::invalid_params(format!("Unknown prompt: {}", p.name))
                })?;
                match prompt.get(p.arguments.unwrap_or_default(), ctx).await {
                    Ok(result) => Ok(Outcome::Done(encode(result)?, None)),
                    Err(ToolError::Pending(pending)) => Ok(Outcome::InputRequired(pending)),
                    Err(ToolError::Protocol(e)) => Err(e),
                    Err(ToolError::Failed(message)) => Err(ErrorObject::internal(message)),
                }
            }
            methods::COMPLETE => {
                let completer = inner
                    .completer
                    .as_ref()
                    .ok_or_else(|| ErrorObject::method_not_found(method))?;
                let params = params.ok_or_else(|| {
                    ErrorObject::invalid_params("completion/complete needs params")
                })?;
                let reference = params.get("ref").filter(|r| r.is_object()).ok_or_else(|| {
                    ErrorObject::invalid_params("completion/complete: ref must be an object")
                })?;
                let argument = params
                    .get("argument")
                    .and_then(Value::as_object)
                    .ok_or_else(|| {
                        ErrorObject::invalid_params(
                            "completion/complete: argument must be an object",
                        )
                    })?;
                let name = argument
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let value = argument
                    .get("value")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let completion = completer
                    .complete(reference, name, value, params.get("context"))
                    .await?;
                Ok(Outcome::Done(json!({ "completion": completion }), None))
            }
            methods::SET_LEVEL => {
                legacy_only(method)?;
                let p: SetLevelParams = params_as(params, method)?;
                if let Some(session) = ctx.session() {
                    session.set_log_level(p.level);
                }
                Ok(Outcome::Done(json!({}), None))
            }
            other => Err(ErrorObject::method_not_found(other)),
        }
    }

    async fn call_tool(
        &self,
        params: Option<&Value>,
        ctx: &RequestCtx,
    ) -> Result<Outcome, ErrorObject> {
        let p: CallToolParams = params_as(params, methods::TOOLS_CALL)?;
        let tool = self.tool(&p.name).ok_or_else(|| {
            ErrorObject::invalid_params(format!("Unknown tool: {}", p.name))
                .with_data(json!({"name": p.name}))
        })?;
        // 2026-07-28 tasks extension: a task when the tool allows it and the client
        // declared the extension on this request. 2025-11-25: when the client asked
        // with `params.task`.
        let as_task = match (ctx.era(), tool.task_support()) {
            (Era::Legacy, support) => match (support, p.task.is_some()) {
                (TaskSupport::Forbidden, true) | (TaskSupport::Required, false) => {
                    return Err(ErrorObject::new(
                        ErrorCode::METHOD_NOT_FOUND,
                        format!(
                            "tool {} {} run as a task (execution.taskSupport is {})",
                            p.name,
                            if p.task.is_some() { "cannot" } else { "must" },
                            json!(support)
                        ),
                    ));
                }
                (_, asked) => asked,
            },
            (Era::Modern, TaskSupport::Forbidden) => false,
            (Era::Modern, _) if tasks_ext::declared(&ctx.client_capabilities()) => true,
            (Era::Modern, TaskSupport::Optional) => false,
            (Era::Modern, TaskSupport::Required) => return Err(tasks_ext::missing_extension()),
        };
        let ttl = if as_task {
            self.task_ttl(p.task.as_ref())?
        } else {
            self.inner.options.task_ttl
        };
        let token = ctx
            .identity()
            .token
            .as_ref()
            .map(|grant| grant.name.as_str());
        let permit = match self.inner.calls.acquire(token) {
            Ok(permit) => permit,
            Err(refused) => {
                return Ok(Outcome::Done(
                    encode(CallToolResult::error(refused.to_string()))?,
                    None,
                ));
            }
        };
        if as_task {
            let arguments = p.arguments.unwrap_or_default();
            return self
                .start_task_for(tool.clone(), &p.name, arguments, ctx, permit, ttl)
                .await;
        }
        // A background job: the same detached run, for clients without tasks.
        let arguments = p.arguments.unwrap_or_default();
        if tool.task_support() != TaskSupport::Forbidden
            && codex_mcp_tools::job::wants_background(&arguments)
        {
            return self
                .start_job(tool.clone(), &p.name, arguments, ctx, permit)
                .await;
        }
        let _permit = permit;
        let correlation_id = correlation::new_id("call");
        let span =
            tracing::info_span!("tool_call", correlation_id = %correlation_id, tool = %p.name);
        let call = tool.call(arguments, ctx.clone());
        let result = match correlation::scope(correlation_id, call.instrument(span)).await {
            Ok(result) => result,
            Err(ToolError::Failed(message)) => CallToolResult::error(message),
            Err(ToolError::Protocol(error)) => return Err(error),
            Err(ToolError::Pending(pending)) => return Ok(Outcome::InputRequired(pending)),
        };
        Ok(Outcome::Done(encode(result)?, None))
    }

    async fn read_resource(
        &self,
        params: Option<&Value>,
        ctx: &RequestCtx,
    ) -> Result<Outcome, ErrorObject> {
        if self.inner.resources.is_empty() {
            return Err(ErrorObject::method_not_found(methods::RESOURCES_READ));
        }
        let p: codex_mcp_protocol::resources::ResourceUriParams =
            params_as(params, methods::RESOURCES_READ)?;
        for provider in &self.inner.resources {
            if let Some(contents) = provider.read(&p.uri, ctx).await? {
                let hint = if provider.per_caller() {
                    (ctx.era() == Era::Modern).then_some(CacheHint {
                        ttl_ms: 0,
                        scope: CacheScope::Private,
                    })
                } else {
                    self.list_hint(ctx.era())
                };
                return Ok(Outcome::Done(json!({ "contents": contents }), hint));
            }
        }
        let code = if ctx.era() == Era::Modern {
            ErrorCode::INVALID_PARAMS
        } else {
            ErrorCode::RESOURCE_NOT_FOUND
        };
        Err(
            ErrorObject::new(code, format!("Resource not found: {}", p.uri))
                .with_data(json!({ "uri": p.uri })),
        )
    }
}

/// A tool as `tools/list` shows it in `era`: 2025-11-25 clients also see
/// `execution.taskSupport` of tools that may run as tasks.
fn tool_entry(tool: Tool, support: TaskSupport, era: Era) -> Result<Value, ErrorObject> {
    let mut value = encode(tool)?;
    if era == Era::Legacy
        && let (Some(obj), Some(execution)) = (
            value.as_object_mut(),
            codex_mcp_protocol::tasks::execution(support),
        )
    {
        obj.insert("execution".into(), execution);
    }
    Ok(value)
}

/// The error a client gets for a request that arrives before `initialize` on a
/// session-based transport.
pub fn not_initialized(id: Option<RequestId>) -> Response {
    Response::error(
        id,
        ErrorObject::invalid_request("the session is not initialized: send initialize first"),
    )
}

/// A result as JSON; a result that cannot be encoded is the server's error, never an
/// empty answer.
pub(super) fn encode(result: impl serde::Serialize) -> Result<Value, ErrorObject> {
    serde_json::to_value(result)
        .map_err(|e| ErrorObject::internal(format!("cannot encode the result: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{FnTool, ServerOptions};
    use codex_mcp_protocol::meta::{CLIENT_CAPABILITIES, PROTOCOL_VERSION};
    use pretty_assertions::assert_eq;

    fn server(tools: usize, page_size: usize) -> McpServer {
        let options = ServerOptions {
            instructions: Some("Say \"hi\".\n".into()),
            page_size,
            ..ServerOptions::default()
        };
        let mut builder = McpServer::builder(options);
        for i in 0..tools {
            let definition = Tool {
                name: format!("tool_{i}"),
                title: Some(format!("Tool «{i}»")),
                description: Some("Does a thing.".into()),
                input_schema: json!({"type": "object", "properties": {"x": {"type": "string"}}}),
                output_schema: None,
                annotations: None,
                meta: None,
            };
            builder = builder.tool(FnTool::new(definition, |_args, _ctx| async {
                Ok(CallToolResult::text("ok"))
            }));
        }
        builder.build()
    }

    fn request(id: RequestId, method: &str, version: ProtocolVersion, extra: Value) -> Request {
        let mut params = match version.era() {
            Era::Modern => json!({"_meta": {
                PROTOCOL_VERSION: version.as_str(),
                CLIENT_CAPABILITIES: {}
            }}),
            Era::Legacy => json!({}),
        };
        if let (Some(p), Value::Object(extra)) = (params.as_object_mut(), extra) {
            p.extend(extra);
        }
        let params = params
            .as_object()
            .filter(|p| !p.is_empty())
            .map(|_| params.clone());
        Request::new(id, method, params)
    }

    async fn slow_path(server: &McpServer, request: &Request, version: ProtocolVersion) -> Vec<u8> {
        let parts = CtxParts {
            version: Some(version),
            ..CtxParts::default()
        };
        serde_json::to_vec(&server.handle_request(request.clone(), parts).await).unwrap()
    }

    #[tokio::test]
    async fn precomputed_answers_are_byte_identical_to_handled_ones() {
        let versions = [ProtocolVersion::LATEST_LEGACY, ProtocolVersion::LATEST];
        let ids = [
            RequestId::Number(7),
            RequestId::Number(-1),
            RequestId::String("a \"quoted\" id ✓".into()),
        ];
        for (tools, page_size) in [(3, 100), (5, 2), (0, 100)] {
            let server = server(tools, page_size);
            for version in versions {
                for method in [methods::PING, methods::DISCOVER, methods::TOOLS_LIST] {
                    for extra in [json!({}), json!({"cursor": null, "requestState": null})] {
                        for id in &ids {
                            let req = request(id.clone(), method, version, extra.clone());
                            let expected = slow_path(&server, &req, version).await;
                            let fast = server.precomputed_response(&req, version);
                            let offered = match method {
                                methods::PING => version.era() == Era::Legacy,
                                methods::TOOLS_LIST => tools > 0,
                                _ => true,
                            };
                            assert_eq!(fast.is_some(), offered, "{method} {version:?} {tools}");
                            if let Some(fast) = fast {
                                assert_eq!(fast.len(), expected.len());
                                assert_eq!(
                                    String::from_utf8(fast.to_vec()).unwrap(),
                                    String::from_utf8(expected).unwrap(),
                                    "{method} {version:?} tools={tools} page={page_size}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    #[tokio::test]
    async fn requests_that_need_checking_take_the_long_way() {
        let server = server(5, 2);
        let modern = ProtocolVersion::LATEST;
        let legacy = ProtocolVersion::LATEST_LEGACY;
        let cases = [
            (
                methods::TOOLS_LIST,
                modern,
                json!({"cursor": "b2Zmc2V0OjI"}),
            ),
            (methods::TOOLS_LIST, legacy, json!({"cursor": 5})),
            (
                methods::TOOLS_LIST,
                modern,
                json!({"requestState": "forged"}),
            ),
            (methods::DISCOVER, modern, json!({"inputResponses": []})),
            (methods::DISCOVER, modern, json!({"inputResponses": {}})),
            (methods::PING, modern, json!({})),
            (methods::PROMPTS_LIST, legacy, json!({})),
        ];
        for (method, version, extra) in cases {
            let req = request(RequestId::Number(1), method, version, extra.clone());
            assert!(
                server.precomputed_response(&req, version).is_none(),
                "{method} {extra}"
            );
        }
        // The cached first page and the definitions agree with the handlers.
        assert_eq!(server.tool_definitions().len(), 5);
        assert_eq!(
            server.tool_definition("tool_3").map(|t| t.name),
            Some("tool_3".to_string())
        );
        assert!(server.tool_definition("nope").is_none());
    }
}
