//! Era-specific result decoration and cursor pagination.
//!
//! Handlers build one result shape; [`finish`] adds what the negotiated era requires
//! (`resultType` and server identity for 2026-07-28), and [`paginate`] slices lists
//! with opaque, validated cursors so every list method pages the same way.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ErrorObject;
use crate::lifecycle::Implementation;
use crate::meta::SERVER_INFO;
use crate::version::Era;

/// `resultType` of a finished request.
pub const RESULT_COMPLETE: &str = "complete";
/// `resultType` of a request waiting for client input.
pub const RESULT_INPUT_REQUIRED: &str = "input_required";

/// Who may cache a list result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheScope {
    /// Holds nothing user-specific.
    Public,
    /// Only within the same authorisation context.
    Private,
}

/// Caching hints for list and discover results (modern era).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheHint {
    /// How long the client may reuse the result.
    pub ttl_ms: u64,
    /// Who may reuse it.
    pub scope: CacheScope,
}

/// Adds what the era requires to a result object. Legacy results pass unchanged;
/// modern results get `resultType` (unless already set), the server's identity in
/// `_meta`, and caching hints when given.
pub fn finish(
    mut result: Value,
    era: Era,
    server: &Implementation,
    cache: Option<CacheHint>,
) -> Value {
    if era != Era::Modern {
        return result;
    }
    let Some(obj) = result.as_object_mut() else {
        return result;
    };
    obj.entry("resultType")
        .or_insert_with(|| json!(RESULT_COMPLETE));
    let meta = obj.entry("_meta").or_insert_with(|| json!({}));
    if let Some(meta) = meta.as_object_mut() {
        meta.insert(SERVER_INFO.to_string(), json!(server));
    }
    if let Some(hint) = cache {
        obj.insert("ttlMs".into(), json!(hint.ttl_ms));
        obj.insert("cacheScope".into(), json!(hint.scope));
    }
    result
}

/// One page of a list, and the cursor for the next one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// Items on this page.
    pub items: Vec<T>,
    /// Cursor of the next page; `None` on the last.
    pub next_cursor: Option<String>,
}

const CURSOR_PREFIX: &str = "offset:";

fn encode_cursor(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{offset}"))
}

fn decode_cursor(cursor: &str, len: usize) -> Result<usize, ErrorObject> {
    let invalid = || ErrorObject::invalid_params(format!("invalid cursor: {cursor:?}"));
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let offset: usize = text
        .strip_prefix(CURSOR_PREFIX)
        .ok_or_else(invalid)?
        .parse()
        .map_err(|_| invalid())?;
    if offset == 0 || offset > len {
        return Err(invalid());
    }
    Ok(offset)
}

/// Slices `items` (already in their deterministic order) into the page that `cursor`
/// points at. A cursor this function did not produce, or one past the end, is `-32602`.
pub fn paginate<T: Clone>(
    items: &[T],
    cursor: Option<&str>,
    page_size: usize,
) -> Result<Page<T>, ErrorObject> {
    let start = match cursor {
        None => 0,
        Some(c) => decode_cursor(c, items.len())?,
    };
    let size = page_size.max(1);
    let end = (start + size).min(items.len());
    Ok(Page {
        items: items[start..end].to_vec(),
        next_cursor: (end < items.len()).then(|| encode_cursor(end)),
    })
}

/// Reads the optional `cursor` of a list request's params.
pub fn cursor_param(params: Option<&Value>) -> Result<Option<&str>, ErrorObject> {
    match params.and_then(|p| p.get("cursor")) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ErrorObject::invalid_params("cursor must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use pretty_assertions::assert_eq;

    fn server() -> Implementation {
        Implementation {
            name: "mcpd".into(),
            title: None,
            version: "1".into(),
        }
    }

    #[test]
    fn modern_results_carry_result_type_and_server_info() {
        let hint = CacheHint {
            ttl_ms: 0,
            scope: CacheScope::Public,
        };
        let out = finish(json!({"tools": []}), Era::Modern, &server(), Some(hint));
        assert_eq!(
            out,
            json!({
                "tools": [],
                "resultType": "complete",
                "ttlMs": 0,
                "cacheScope": "public",
                "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "mcpd", "version": "1"}}
            })
        );
        assert_eq!(
            finish(json!({"tools": []}), Era::Legacy, &server(), Some(hint)),
            json!({"tools": []})
        );
    }

    #[test]
    fn pages_walk_every_item_once() {
        let items: Vec<u32> = (0..7).collect();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = paginate(&items, cursor.as_deref(), 3).unwrap();
            seen.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn foreign_cursors_are_invalid_params() {
        let items = [1, 2, 3];
        for bad in ["garbage!", "b2Zmc2V0Ojk5", ""] {
            let err = paginate(&items, Some(bad), 2).unwrap_err();
            assert_eq!(err.code, ErrorCode::INVALID_PARAMS, "cursor {bad:?}");
        }
    }
}
