//! JSON-RPC 2.0 framing: messages, ids, and strict decoding.
//!
//! Decoding is strict on purpose: the error a client gets for a malformed message names
//! what was wrong (not UTF-8, not JSON, a batch, a missing `jsonrpc`, a bad `id`), and
//! recovers the request id whenever one can be read so the client can correlate it.

mod call;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::ErrorObject;

/// The JSON-RPC version string every message carries.
pub const JSONRPC_VERSION: &str = "2.0";

/// A request id: JSON-RPC allows strings and numbers; MCP forbids null.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    /// A numeric id.
    Number(i64),
    /// A string id.
    String(String),
}

impl std::fmt::Display for RequestId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Number(n) => write!(f, "{n}"),
            Self::String(s) => write!(f, "{s:?}"),
        }
    }
}

/// A request that expects a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// Always "2.0".
    pub jsonrpc: String,
    /// Correlates the response.
    pub id: RequestId,
    /// The method name, e.g. `tools/call`.
    pub method: String,
    /// The parameters object, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

impl Request {
    /// Builds a request with version "2.0".
    pub fn new(id: RequestId, method: impl Into<String>, params: Option<Value>) -> Self {
        Self {
            jsonrpc: JSONRPC_VERSION.into(),
            id,
            method: method.into(),
            params,
        }
    }
}

/// A message that expects no response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Always "2.0".
    pub jsonrpc: String,
    /// The notification name, e.g. `notifications/progress`.
    pub method: String,
    /// The parameters object, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

impl Notification {
    /// Builds a notification with version "2.0".
    pub fn new(method: impl Into<String>, params: Option<Value>) -> Self {
        Self {
            jsonrpc: JSONRPC_VERSION.into(),
            method: method.into(),
            params,
        }
    }
}

/// A response: a result or an error, never both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// Always "2.0".
    pub jsonrpc: String,
    /// The id of the request answered; absent only when it could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RequestId>,
    /// The result, on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// The error, on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

impl Response {
    /// A successful response.
    pub fn success(id: RequestId, result: Value) -> Self {
        Self {
            jsonrpc: JSONRPC_VERSION.into(),
            id: Some(id),
            result: Some(result),
            error: None,
        }
    }

    /// An error response; `id` is `None` when the request's id could not be read.
    pub fn error(id: Option<RequestId>, error: ErrorObject) -> Self {
        Self {
            jsonrpc: JSONRPC_VERSION.into(),
            id,
            result: None,
            error: Some(error),
        }
    }
}

/// Any JSON-RPC message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Message {
    /// A request.
    Request(Request),
    /// A notification.
    Notification(Notification),
    /// A response (to a server-initiated request).
    Response(Response),
}

/// Why a message could not be decoded, with the id when one was readable.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodeError {
    /// The id of the offending request, if it could be read.
    pub id: Option<RequestId>,
    /// The JSON-RPC error to send back.
    pub error: ErrorObject,
}

impl DecodeError {
    fn new(id: Option<RequestId>, error: ErrorObject) -> Self {
        Self { id, error }
    }

    /// The error response to send back.
    pub fn into_response(self) -> Response {
        Response::error(self.id, self.error)
    }
}

impl Message {
    /// Decodes one message from raw bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            DecodeError::new(
                None,
                ErrorObject::parse_error(format!("body is not valid UTF-8 ({e})")),
            )
        })?;
        if let Some(message) = call::decode(text) {
            return Ok(message);
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| DecodeError::new(None, ErrorObject::parse_error(e)))?;
        Self::from_value(value)
    }

    /// Decodes one message from an already-parsed JSON value.
    pub fn from_value(value: Value) -> Result<Self, DecodeError> {
        let mut obj = match value {
            Value::Object(obj) => obj,
            Value::Array(_) => {
                return Err(DecodeError::new(
                    None,
                    ErrorObject::invalid_request(
                        "JSON-RPC batches are not supported; send one message per request",
                    ),
                ));
            }
            other => {
                return Err(DecodeError::new(
                    None,
                    ErrorObject::invalid_request(format!(
                        "expected a JSON object, got {}",
                        json_kind(&other)
                    )),
                ));
            }
        };
        let id = read_id(&obj)?;
        match obj.get("jsonrpc") {
            Some(Value::String(v)) if v == JSONRPC_VERSION => {}
            Some(_) => {
                return Err(DecodeError::new(
                    id,
                    ErrorObject::invalid_request("\"jsonrpc\" must be the string \"2.0\""),
                ));
            }
            None => {
                return Err(DecodeError::new(
                    id,
                    ErrorObject::invalid_request("missing \"jsonrpc\": \"2.0\""),
                ));
            }
        }
        let params = match obj.remove("params") {
            None => None,
            Some(p @ Value::Object(_)) => Some(p),
            Some(other) => {
                return Err(DecodeError::new(
                    id,
                    ErrorObject::invalid_request(format!(
                        "\"params\" must be an object, got {}",
                        json_kind(&other)
                    )),
                ));
            }
        };
        match obj.remove("method") {
            Some(Value::String(method)) => match id {
                Some(id) => Ok(Self::Request(Request::new(id, method, params))),
                None if obj.contains_key("id") => Err(DecodeError::new(
                    None,
                    ErrorObject::invalid_request("\"id\" must not be null"),
                )),
                None => Ok(Self::Notification(Notification::new(method, params))),
            },
            Some(other) => Err(DecodeError::new(
                id,
                ErrorObject::invalid_request(format!(
                    "\"method\" must be a string, got {}",
                    json_kind(&other)
                )),
            )),
            None => {
                let has_result = obj.contains_key("result");
                let has_error = obj.contains_key("error");
                if has_result == has_error {
                    return Err(DecodeError::new(
                        id,
                        ErrorObject::invalid_request(
                            "a message needs \"method\", or exactly one of \"result\" and \"error\"",
                        ),
                    ));
                }
                let error = match obj.remove("error") {
                    Some(e) => Some(serde_json::from_value::<ErrorObject>(e).map_err(|e| {
                        DecodeError::new(
                            id.clone(),
                            ErrorObject::invalid_request(format!("bad \"error\" member: {e}")),
                        )
                    })?),
                    None => None,
                };
                Ok(Self::Response(Response {
                    jsonrpc: JSONRPC_VERSION.into(),
                    id,
                    result: obj.remove("result"),
                    error,
                }))
            }
        }
    }

    /// Serialises the message as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| String::from("{}"))
    }
}

fn read_id(obj: &Map<String, Value>) -> Result<Option<RequestId>, DecodeError> {
    match obj.get("id") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(RequestId::String(s.clone()))),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(i) => Ok(Some(RequestId::Number(i))),
            None => Err(DecodeError::new(
                None,
                ErrorObject::invalid_request("\"id\" must be an integer or a string"),
            )),
        },
        Some(other) => Err(DecodeError::new(
            None,
            ErrorObject::invalid_request(format!(
                "\"id\" must be an integer or a string, got {}",
                json_kind(other)
            )),
        )),
    }
}

/// Names a JSON value's kind for error messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn decode(v: &str) -> Result<Message, DecodeError> {
        Message::decode(v.as_bytes())
    }

    #[test]
    fn request_round_trips() {
        let raw = json!({"jsonrpc":"2.0","id":7,"method":"tools/list","params":{"cursor":"x"}});
        let msg = Message::from_value(raw.clone())
            .map_err(|e| e.error)
            .unwrap();
        assert_eq!(
            msg,
            Message::Request(Request::new(
                RequestId::Number(7),
                "tools/list",
                Some(json!({"cursor":"x"}))
            ))
        );
        assert_eq!(serde_json::to_value(&msg).unwrap(), raw);
    }

    #[test]
    fn notification_has_no_id() {
        let msg = decode(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
        assert_eq!(
            msg,
            Message::Notification(Notification::new("notifications/initialized", None))
        );
    }

    #[test]
    fn malformed_inputs_name_the_problem() {
        let cases = [
            (&b"{not json"[..], ErrorCode::PARSE_ERROR, "Parse error"),
            (&b"\xff\xfe"[..], ErrorCode::PARSE_ERROR, "not valid UTF-8"),
            (
                &b"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]"[..],
                ErrorCode::INVALID_REQUEST,
                "batches",
            ),
            (
                &b"{\"id\":1,\"method\":\"ping\"}"[..],
                ErrorCode::INVALID_REQUEST,
                "jsonrpc",
            ),
            (
                &b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}"[..],
                ErrorCode::INVALID_REQUEST,
                "method",
            ),
            (
                &b"{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}"[..],
                ErrorCode::INVALID_REQUEST,
                "id",
            ),
            (
                &b"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}"[..],
                ErrorCode::INVALID_REQUEST,
                "null",
            ),
            (
                &b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":[1]}"[..],
                ErrorCode::INVALID_REQUEST,
                "params",
            ),
            (&b"42"[..], ErrorCode::INVALID_REQUEST, "a number"),
        ];
        for (input, code, needle) in cases {
            let err = Message::decode(input).unwrap_err();
            assert_eq!(
                err.error.code,
                code,
                "input {:?}",
                String::from_utf8_lossy(input)
            );
            assert!(
                err.error.message.contains(needle),
                "{} lacks {needle}",
                err.error.message
            );
        }
    }

    #[test]
    fn id_is_recovered_for_invalid_requests() {
        let err = decode(r#"{"jsonrpc":"1.0","id":"abc","method":"ping"}"#).unwrap_err();
        assert_eq!(err.id, Some(RequestId::String("abc".into())));
    }

    #[test]
    fn deep_nesting_is_a_parse_error_not_a_crash() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let err = decode(&deep).unwrap_err();
        assert_eq!(err.error.code, ErrorCode::PARSE_ERROR);
        assert!(
            err.error.message.contains("recursion limit"),
            "{}",
            err.error.message
        );
    }

    #[test]
    fn responses_decode() {
        let msg =
            decode(r#"{"jsonrpc":"2.0","id":3,"error":{"code":-32601,"message":"nope"}}"#).unwrap();
        assert_eq!(
            msg,
            Message::Response(Response::error(
                Some(RequestId::Number(3)),
                ErrorObject::new(ErrorCode::METHOD_NOT_FOUND, "nope")
            ))
        );
    }
}
