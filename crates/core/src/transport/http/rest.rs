//! `/tools/{name}`: call a tool with plain JSON, for scripts and `curl`.
//!
//! `POST` takes the arguments object as the body, declared `Content-Type:
//! application/json` (else 415: browsers send other types cross-site without a CORS
//! preflight). `GET` serves only read-only tools that stay inside the server (annotated
//! `readOnlyHint: true`, `openWorldHint` not true) and have no required arguments; query
//! parameters become string arguments. Any web page can make a browser send a GET (an
//! `<img>` is enough), so a GET must never change anything or spend model credits.
//! The original project's names (`codex_chat`, ...) are accepted as aliases. The answer
//! is the tool result as JSON: 200 on success, 422 when the tool ran and failed, 404 for
//! an unknown tool, 400 for a malformed body, 405 for a GET the tool does not allow.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use codex_mcp_protocol::jsonrpc::{Request, RequestId, json_kind};
use codex_mcp_protocol::notifications::methods;
use codex_mcp_protocol::{ErrorCode, ProtocolVersion};
use http::StatusCode;
use serde_json::{Map, Value, json};
use tokio_util::sync::CancellationToken;

use super::detached::until_done_or_cancelled;
use super::{HttpState, caller, json_response, read_body};
use crate::server::{CtxParts, Identity, TransportKind};

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    json_response(status, &json!({ "error": message.into() }))
}

async fn call(
    state: HttpState,
    name: String,
    arguments: Map<String, Value>,
    identity: Identity,
) -> Response {
    if !state.server.has_tool(&name) {
        return error(
            StatusCode::NOT_FOUND,
            format!("unknown tool {name:?}; GET /health or tools/list shows the tools"),
        );
    }
    let id = RequestId::String(format!("rest-{}", uuid_like()));
    let cancel = CancellationToken::new();
    let guard = state.server.in_flight().register_unnamed(cancel.clone());
    let request = Request::new(
        id.clone(),
        methods::TOOLS_CALL,
        Some(json!({ "name": name, "arguments": arguments })),
    );
    let parts = CtxParts {
        version: Some(ProtocolVersion::LATEST_LEGACY),
        request_id: Some(id),
        cancel: Some(cancel.clone()),
        identity,
        transport: Some(TransportKind::Rest),
        ..CtxParts::default()
    };
    // In its own task: a client that goes away cancels the call, which then stops Codex
    // and cleans up, instead of being dropped half-way.
    let server = state.server.clone();
    let work = async move { server.handle_request(request, parts).await };
    let response = until_done_or_cancelled(cancel, work).await;
    drop(guard);
    let Some(response) = response else {
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the tool stopped before it answered",
        );
    };
    match (response.result, response.error) {
        (Some(result), None) => {
            let failed = result
                .get("isError")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let status = if failed {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            json_response(status, &result)
        }
        (_, Some(e)) => {
            let status = if e.code == ErrorCode::INVALID_PARAMS {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            json_response(status, &json!({ "error": e.message, "code": e.code }))
        }
        (None, None) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the tool returned nothing",
        ),
    }
}

fn uuid_like() -> String {
    use rand::RngCore;
    let mut b = [0u8; 8];
    rand::rng().fill_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `POST /tools/{name}`.
pub async fn post(
    State(state): State<HttpState>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let headers = parts.headers;
    if let Err(why) = super::require_json(&headers) {
        return error(StatusCode::UNSUPPORTED_MEDIA_TYPE, why.to_string());
    }
    let bytes = match read_body(body, state.options.max_body_bytes).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let arguments = if bytes.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => map,
            Ok(other) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!(
                        "the body must be a JSON object of arguments, got {}",
                        json_kind(&other)
                    ),
                );
            }
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("the body is not valid JSON: {e}"),
                );
            }
        }
    };
    let identity = caller::identity(&parts.extensions, &headers, &query);
    call(state, name, arguments, identity).await
}

/// `GET /tools/{name}`: only for read-only, closed-world tools without required
/// arguments (see the module documentation).
pub async fn get(
    State(state): State<HttpState>,
    Path(name): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    request: axum::extract::Request,
) -> Response {
    let (parts, _) = request.into_parts();
    if let Some(tool) = state.server.tool_definition(&name) {
        let required = tool
            .input_schema
            .get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| !r.is_empty());
        if required {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{name} has required arguments: POST them as a JSON object"),
            );
        }
        let hints = tool.annotations.as_ref();
        let read_only = hints.and_then(|a| a.read_only_hint) == Some(true);
        let open_world = hints.and_then(|a| a.open_world_hint) == Some(true);
        if !read_only || open_world {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "{name} is not a read-only server tool, so GET cannot call it (any web \
                     page can make a browser send a GET): POST a JSON object of arguments \
                     with Content-Type: application/json"
                ),
            );
        }
    }
    let arguments: Map<String, Value> = query
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let identity = caller::identity(&parts.extensions, &parts.headers, &query);
    call(state, name, arguments, identity).await
}
