//! JSON-RPC error objects and the MCP error codes.
//!
//! Every error the server sends is built here so that codes and data shapes stay
//! consistent across transports.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// A JSON-RPC error code, kept as a number so unknown codes from peers round-trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(pub i64);

impl ErrorCode {
    /// The message was not valid JSON.
    pub const PARSE_ERROR: Self = Self(-32700);
    /// The JSON was not a valid JSON-RPC request object.
    pub const INVALID_REQUEST: Self = Self(-32600);
    /// The method does not exist or its capability was not advertised.
    pub const METHOD_NOT_FOUND: Self = Self(-32601);
    /// The params were missing, of the wrong shape, or named something unknown.
    pub const INVALID_PARAMS: Self = Self(-32602);
    /// The server failed in a way the client cannot fix.
    pub const INTERNAL_ERROR: Self = Self(-32603);
    /// A resource URI the server does not know (2025-11-25 and earlier).
    pub const RESOURCE_NOT_FOUND: Self = Self(-32002);
    /// HTTP headers disagree with the body, or a required header is missing (2026-07-28).
    pub const HEADER_MISMATCH: Self = Self(-32020);
    /// The request needs a client capability the client did not declare (2026-07-28).
    pub const MISSING_REQUIRED_CLIENT_CAPABILITY: Self = Self(-32021);
    /// The requested protocol version is not one this server speaks (2026-07-28).
    pub const UNSUPPORTED_PROTOCOL_VERSION: Self = Self(-32022);
}

/// The `error` member of a JSON-RPC error response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message} (code {})", code.0)]
pub struct ErrorObject {
    /// What kind of error this is.
    pub code: ErrorCode,
    /// One sentence a person can act on.
    pub message: String,
    /// Structured detail, when the code defines some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error with a code and message and no data.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    /// Attaches structured data.
    #[must_use]
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// The body could not be parsed as JSON.
    pub fn parse_error(detail: impl std::fmt::Display) -> Self {
        Self::new(ErrorCode::PARSE_ERROR, format!("Parse error: {detail}"))
    }

    /// The body was JSON but not a JSON-RPC message.
    pub fn invalid_request(detail: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorCode::INVALID_REQUEST,
            format!("Invalid request: {detail}"),
        )
    }

    /// The method is unknown or not offered.
    pub fn method_not_found(method: &str) -> Self {
        Self::new(
            ErrorCode::METHOD_NOT_FOUND,
            format!("Method not found: {method}"),
        )
        .with_data(json!({ "method": method }))
    }

    /// The params are wrong; `detail` names what.
    pub fn invalid_params(detail: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorCode::INVALID_PARAMS,
            format!("Invalid params: {detail}"),
        )
    }

    /// Something failed on the server side.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorCode::INTERNAL_ERROR,
            format!("Internal error: {detail}"),
        )
    }

    /// A header disagrees with the body or is missing (modern HTTP transport).
    pub fn header_mismatch(detail: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorCode::HEADER_MISMATCH,
            format!("Header mismatch: {detail}"),
        )
    }

    /// The client asked for a protocol version this server does not support.
    pub fn unsupported_version(requested: &str, supported: &[&str]) -> Self {
        Self::new(
            ErrorCode::UNSUPPORTED_PROTOCOL_VERSION,
            format!("Unsupported protocol version: {requested}"),
        )
        .with_data(json!({ "supported": supported, "requested": requested }))
    }

    /// The request needs client capabilities that were not declared.
    pub fn missing_capability(required: Value) -> Self {
        Self::new(
            ErrorCode::MISSING_REQUIRED_CLIENT_CAPABILITY,
            "Missing required client capability",
        )
        .with_data(json!({ "requiredCapabilities": required }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn unsupported_version_carries_supported_and_requested() {
        let err = ErrorObject::unsupported_version("1999-01-01", &["2026-07-28"]);
        assert_eq!(
            serde_json::to_value(&err).unwrap(),
            json!({
                "code": -32022,
                "message": "Unsupported protocol version: 1999-01-01",
                "data": { "supported": ["2026-07-28"], "requested": "1999-01-01" }
            })
        );
    }
}
