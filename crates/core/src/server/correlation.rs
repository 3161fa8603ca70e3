//! Correlation ids: one per MCP request and one per tool call, carried by the `tracing`
//! spans the dispatcher opens (so every log line of the call, from the runtime, the Codex
//! driver and the store, has it) and returned to the client in the tool result's `_meta`.

use serde_json::{Value, json};

/// The `_meta` key of a tool result that holds the call's correlation id. Prefixed with
/// this project's reverse-DNS name, as the MCP spec asks of `_meta` keys that are not
/// the protocol's own (`io.modelcontextprotocol/` is reserved).
pub const CORRELATION_ID_META: &str = "io.codex-mcp/correlationId";

/// A new id, `PREFIX-` and 64 random bits in hex: unique enough to grep a log for.
pub(crate) fn new_id(prefix: &str) -> String {
    use rand::RngCore as _;
    format!("{prefix}-{:016x}", rand::rng().next_u64())
}

/// Adds the correlation id to a tool result's `_meta`, keeping what is there.
pub(crate) fn stamp(result: &mut Value, id: &str) {
    let Some(obj) = result.as_object_mut() else {
        return;
    };
    let meta = obj.entry("_meta").or_insert_with(|| json!({}));
    if let Some(meta) = meta.as_object_mut() {
        meta.insert(CORRELATION_ID_META.to_string(), json!(id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn ids_are_prefixed_and_distinct() {
        let (a, b) = (new_id("call"), new_id("call"));
        assert!(
            a.starts_with("call-") && a.len() == "call-".len() + 16,
            "{a}"
        );
        assert_ne!(a, b);
    }

    #[test]
    fn stamp_keeps_existing_meta() {
        let mut v = json!({"content": [], "_meta": {"x": 1}});
        stamp(&mut v, "call-1");
        assert_eq!(
            v,
            json!({"content": [], "_meta": {"x": 1, "io.codex-mcp/correlationId": "call-1"}})
        );
    }
}
