//! Reserved `_meta` keys and the per-request metadata of the 2026-07-28 revision.

use serde_json::{Map, Value};

use crate::error::ErrorObject;
use crate::logging::LoggingLevel;
use crate::version::ProtocolVersion;

/// `_meta` key carrying the request's protocol version (modern era, required).
pub const PROTOCOL_VERSION: &str = "io.modelcontextprotocol/protocolVersion";
/// `_meta` key carrying the client's capabilities for this request (modern era, required).
pub const CLIENT_CAPABILITIES: &str = "io.modelcontextprotocol/clientCapabilities";
/// `_meta` key identifying the client software (modern era, optional).
pub const CLIENT_INFO: &str = "io.modelcontextprotocol/clientInfo";
/// `_meta` key opting a request into log notifications at a level (modern era).
pub const LOG_LEVEL: &str = "io.modelcontextprotocol/logLevel";
/// `_meta` key identifying the server on every result (modern era).
pub const SERVER_INFO: &str = "io.modelcontextprotocol/serverInfo";
/// `_meta` key tying a notification to its `subscriptions/listen` stream.
pub const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";
/// `_meta` key carrying a progress token (both eras).
pub const PROGRESS_TOKEN: &str = "progressToken";

/// The per-request metadata a modern-era request must carry.
#[derive(Debug, Clone, PartialEq)]
pub struct ModernMeta {
    /// The revision the client speaks for this request.
    pub version: ProtocolVersion,
    /// The client's capabilities for this request only.
    pub client_capabilities: Map<String, Value>,
    /// The client's self-description, if sent.
    pub client_info: Option<Value>,
    /// The log level the client opted into, if any.
    pub log_level: Option<LoggingLevel>,
}

/// Returns the `_meta` object of a params value, if present.
pub fn meta_of(params: Option<&Value>) -> Option<&Map<String, Value>> {
    params?.get("_meta")?.as_object()
}

/// Reads the protocol version a request names in `_meta`, if any.
pub fn requested_version(params: Option<&Value>) -> Option<&str> {
    meta_of(params)?.get(PROTOCOL_VERSION)?.as_str()
}

/// Reads the progress token of a request, if any.
pub fn progress_token(params: Option<&Value>) -> Option<Value> {
    meta_of(params)?
        .get(PROGRESS_TOKEN)
        .filter(|t| t.is_string() || t.is_number())
        .cloned()
}

/// How the transport carried the protocol version outside the body, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionHeader<'a> {
    /// The transport has no headers (stdio): nothing to compare.
    NotApplicable,
    /// HTTP: the `MCP-Protocol-Version` header, `None` when absent.
    Http(Option<&'a str>),
}

impl ModernMeta {
    /// Validates and extracts the modern metadata from a request's params, in the order
    /// the specification checks them: required `_meta` keys (`-32602`), then the HTTP
    /// header against the body (`-32020`), then whether the version is supported
    /// (`-32022`, echoing the requested version exactly).
    pub fn from_params(
        params: Option<&Value>,
        header: VersionHeader<'_>,
    ) -> Result<Self, ErrorObject> {
        let meta = meta_of(params).ok_or_else(|| {
            ErrorObject::invalid_params(format!(
                "params._meta is required and must carry \"{PROTOCOL_VERSION}\" and \"{CLIENT_CAPABILITIES}\""
            ))
        })?;
        let raw_version = meta
            .get(PROTOCOL_VERSION)
            .and_then(Value::as_str)
            .ok_or_else(|| {
                ErrorObject::invalid_params(format!(
                    "params._meta[\"{PROTOCOL_VERSION}\"] is required"
                ))
            })?;
        let client_capabilities = match meta.get(CLIENT_CAPABILITIES) {
            Some(Value::Object(caps)) => caps.clone(),
            Some(_) => {
                return Err(ErrorObject::invalid_params(format!(
                    "params._meta[\"{CLIENT_CAPABILITIES}\"] must be an object"
                )));
            }
            None => {
                return Err(ErrorObject::invalid_params(format!(
                    "params._meta[\"{CLIENT_CAPABILITIES}\"] is required"
                )));
            }
        };
        if let VersionHeader::Http(header) = header {
            match header.map(str::trim) {
                None => {
                    return Err(ErrorObject::header_mismatch(
                        "the MCP-Protocol-Version header is required",
                    ));
                }
                Some(h) if h != raw_version => {
                    return Err(ErrorObject::header_mismatch(format!(
                        "MCP-Protocol-Version header {h:?} does not match _meta protocol version {raw_version:?}"
                    )));
                }
                Some(_) => {}
            }
        }
        let version = match ProtocolVersion::parse(raw_version) {
            Some(v) if v.era() == crate::version::Era::Modern => v,
            _ => {
                let modern: Vec<&str> = ProtocolVersion::ALL
                    .iter()
                    .filter(|v| v.era() == crate::version::Era::Modern)
                    .map(|v| v.as_str())
                    .collect();
                return Err(ErrorObject::unsupported_version(raw_version, &modern));
            }
        };
        let log_level = match meta.get(LOG_LEVEL) {
            None | Some(Value::Null) => None,
            Some(v) => Some(serde_json::from_value(v.clone()).map_err(|_| {
                ErrorObject::invalid_params(format!(
                    "params._meta[\"{LOG_LEVEL}\"] is not a logging level: {v}"
                ))
            })?),
        };
        Ok(Self {
            version,
            client_capabilities,
            client_info: meta.get(CLIENT_INFO).cloned(),
            log_level,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn extracts_modern_meta() {
        let params = json!({"_meta": {
            PROTOCOL_VERSION: "2026-07-28",
            CLIENT_CAPABILITIES: {"sampling": {}},
            LOG_LEVEL: "debug"
        }});
        let meta = ModernMeta::from_params(Some(&params), VersionHeader::Http(Some("2026-07-28")))
            .unwrap();
        assert_eq!(
            meta,
            ModernMeta {
                version: ProtocolVersion::V2026_07_28,
                client_capabilities: json!({"sampling": {}}).as_object().cloned().unwrap(),
                client_info: None,
                log_level: Some(LoggingLevel::Debug),
            }
        );
    }

    #[test]
    fn missing_pieces_are_named() {
        let stdio = VersionHeader::NotApplicable;
        let no_caps = json!({"_meta": {PROTOCOL_VERSION: "2026-07-28"}});
        let err = ModernMeta::from_params(Some(&no_caps), stdio).unwrap_err();
        assert_eq!(err.code, ErrorCode::INVALID_PARAMS);
        assert!(err.message.contains(CLIENT_CAPABILITIES));

        let bad_version = json!({"_meta": {PROTOCOL_VERSION: "v999.0.0", CLIENT_CAPABILITIES: {}}});
        let err = ModernMeta::from_params(Some(&bad_version), stdio).unwrap_err();
        assert_eq!(err.code, ErrorCode::UNSUPPORTED_PROTOCOL_VERSION);
        assert_eq!(err.data.unwrap()["requested"], json!("v999.0.0"));

        let err = ModernMeta::from_params(None, stdio).unwrap_err();
        assert!(err.message.contains("_meta is required"));
    }

    #[test]
    fn header_checks_come_before_version_support() {
        let body = json!({"_meta": {PROTOCOL_VERSION: "v999.0.0", CLIENT_CAPABILITIES: {}}});
        let err = ModernMeta::from_params(Some(&body), VersionHeader::Http(Some("2026-07-28")))
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::HEADER_MISMATCH);
        let err = ModernMeta::from_params(Some(&body), VersionHeader::Http(None)).unwrap_err();
        assert_eq!(err.code, ErrorCode::HEADER_MISMATCH);
        let err = ModernMeta::from_params(Some(&body), VersionHeader::Http(Some("v999.0.0")))
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::UNSUPPORTED_PROTOCOL_VERSION);
    }
}
