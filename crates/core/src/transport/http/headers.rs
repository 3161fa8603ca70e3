//! The MCP header names of streamable HTTP and how their values are read: shared by the
//! modern and legacy halves of `/mcp` and by the `Mcp-Param-*` checks.

use base64::Engine as _;
use http::header::AsHeaderName;
use http::{HeaderMap, header};

/// Header carrying the legacy session id.
pub const SESSION_HEADER: &str = "mcp-session-id";
/// Header carrying the protocol version.
pub const VERSION_HEADER: &str = "mcp-protocol-version";
/// Header mirroring the JSON-RPC method (modern era).
pub const METHOD_HEADER: &str = "mcp-method";
/// Header mirroring the tool/prompt name or resource URI (modern era).
pub const NAME_HEADER: &str = "mcp-name";
/// Header naming the calling agent.
pub const AGENT_HEADER: &str = "x-agent-id";

/// The header names above as [`http::HeaderName`]s: a lookup by `HeaderName` skips
/// parsing and lower-casing the name, which a lookup by `&str` repeats every time.
pub(crate) mod names {
    use http::HeaderName;

    pub const SESSION: HeaderName = HeaderName::from_static(super::SESSION_HEADER);
    pub const VERSION: HeaderName = HeaderName::from_static(super::VERSION_HEADER);
    pub const METHOD: HeaderName = HeaderName::from_static(super::METHOD_HEADER);
    pub const NAME: HeaderName = HeaderName::from_static(super::NAME_HEADER);
    pub const AGENT: HeaderName = HeaderName::from_static(super::AGENT_HEADER);
    pub const LAST_EVENT_ID: HeaderName = HeaderName::from_static("last-event-id");
}

/// A header's value as text, `None` when absent or not visible ASCII.
pub(crate) fn header_str<K: AsHeaderName>(headers: &HeaderMap, name: K) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether the `Accept` headers admit `mime` (lists and wildcards included).
pub(crate) fn accepts(headers: &HeaderMap, mime: &str) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|part| part.split(';').next().unwrap_or("").trim())
        .any(|m| {
            m == mime || m == "*/*" || (m.ends_with("/*") && mime.starts_with(&m[..m.len() - 1]))
        })
}

/// Decodes a mirrored header value that may use the `=?base64?...?=` sentinel; `None`
/// for characters a header value may not hold or for invalid (strict) base64.
pub(crate) fn decode_header_value(raw: &str) -> Option<String> {
    if raw
        .bytes()
        .any(|b| !(b == b'\t' || (0x20..=0x7e).contains(&b)))
    {
        return None;
    }
    match raw
        .strip_prefix("=?base64?")
        .and_then(|r| r.strip_suffix("?="))
    {
        Some(encoded) => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .and_then(|b| String::from_utf8(b).ok()),
        None => Some(raw.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn base64_sentinel_decodes() {
        assert_eq!(
            decode_header_value("=?base64?SGVsbG8sIOS4lueVjA==?="),
            Some("Hello, 世界".into())
        );
        assert_eq!(decode_header_value("plain"), Some("plain".into()));
        assert_eq!(decode_header_value("=?base64?!!?="), None);
    }

    #[test]
    fn accept_matching_handles_lists_and_wildcards() {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json, text/event-stream;q=0.9"),
        );
        assert!(accepts(&h, "text/event-stream"));
        h.insert(header::ACCEPT, HeaderValue::from_static("text/*"));
        assert!(accepts(&h, "text/event-stream"));
        h.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        assert!(!accepts(&h, "text/event-stream"));
    }
}
