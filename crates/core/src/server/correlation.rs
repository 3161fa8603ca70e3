//! Correlation ids: one per MCP request and one per tool call, carried by the `tracing`
//! spans the dispatcher opens (so every log line of the call, from the runtime, the Codex
//! driver and the store, has it) and returned to the client in the tool result's `_meta`.

use codex_mcp_protocol::tools::CallToolResult;
use serde_json::{Map, json};

tokio::task_local! {
    /// The correlation id of the tool call running in this task.
    static CURRENT: String;
}

/// The `_meta` key of a tool result that holds the call's correlation id. Prefixed with
/// this project's reverse-DNS name, as the MCP spec asks of `_meta` keys that are not
/// the protocol's own (`io.modelcontextprotocol/` is reserved).
pub const CORRELATION_ID_META: &str = "io.codex-mcp/correlationId";

/// A new id, `PREFIX-` and 64 random bits in hex: unique enough to grep a log for.
pub(crate) fn new_id(prefix: &str) -> String {
    use rand::RngCore as _;
    format!("{prefix}-{:016x}", rand::rng().next_u64())
}

/// Runs a tool call with `id` as its correlation id (see [`stamp`]).
pub(crate) async fn scope<F: Future>(id: String, call: F) -> F::Output {
    CURRENT.scope(id, call).await
}

/// Adds the running call's correlation id to its result's `_meta`, keeping what is
/// there; does nothing outside a call. Tools whose calls do real work (the Codex tools)
/// stamp their results, so a client can find the call's log lines.
pub fn stamp(result: &mut CallToolResult) {
    if let Ok(id) = CURRENT.try_with(Clone::clone) {
        result
            .meta
            .get_or_insert_with(Map::new)
            .insert(CORRELATION_ID_META.to_string(), json!(id));
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

    #[tokio::test]
    async fn stamp_adds_the_running_calls_id_and_keeps_existing_meta() {
        let mut outside = CallToolResult::text("x");
        stamp(&mut outside);
        assert_eq!(outside.meta, None);
        let mut result = CallToolResult::text("x");
        result.meta = Some(Map::from_iter([("x".to_string(), json!(1))]));
        let result = scope("call-1".to_string(), async move {
            stamp(&mut result);
            result
        })
        .await;
        assert_eq!(
            serde_json::to_value(&result).unwrap()["_meta"],
            json!({"x": 1, "io.codex-mcp/correlationId": "call-1"})
        );
    }
}
