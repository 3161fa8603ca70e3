//! The Codex-backed tools (plan, implement, review, fix, chat, audit, debug) at the MCP
//! edge: arguments become a [`TurnRequest`], the turn's progress becomes
//! `notifications/progress`, its outcome a structured result and its error the text of
//! an `isError` result. The turn itself is [`AgentManager::run_turn`].

use std::sync::Arc;

use async_trait::async_trait;
use codex_mcp_protocol::content::Content;
use codex_mcp_protocol::tasks_ext::TaskSupport;
use codex_mcp_protocol::tools::{CallToolResult, Tool};
use codex_mcp_tools::ToolSpec;
use serde_json::{Map, Value, json};

use super::{inline, results};

use crate::agents::records::new_call_id;
use crate::agents::{AgentError, AgentManager, TurnRequest};
use crate::server::{RequestCtx, ToolError, ToolHandler};
use codex_mcp_runtime::AgentId;
use codex_mcp_store::LeftTask;

/// A Codex tool, from the catalogue or an embedder's own ([`ToolSpec::new_codex`]),
/// served through an agent manager.
pub struct CodexToolHandler {
    spec: &'static ToolSpec,
    manager: Arc<AgentManager>,
}

impl CodexToolHandler {
    /// Serves `spec` with `manager`. An embedder's own spec lives in a `static`
    /// (`LazyLock<ToolSpec>`), as the catalogue's do.
    pub fn new(spec: &'static ToolSpec, manager: Arc<AgentManager>) -> Self {
        Self { spec, manager }
    }

    /// The turn a call asks for, with the agent resolved from the caller's identity.
    fn request(
        &self,
        arguments: Map<String, Value>,
        ctx: &RequestCtx,
    ) -> Result<TurnRequest, AgentError> {
        let call = codex_mcp_tools::prepare_call(self.spec, &arguments)?;
        let argument = call.agent_id.as_ref().map(|a| a.as_str());
        let agent = self.manager.resolve_agent(argument, ctx.identity())?;
        // A task's call is bound to it before it starts, so that a restarted server can
        // re-attach to its Codex run (`Self::reattach`).
        let call_id = ctx.task().map(|task| {
            let id = new_call_id();
            task.bind_call(&id, &arguments);
            id
        });
        Ok(TurnRequest {
            call,
            arguments,
            agent,
            session: ctx.identity().session_id.clone(),
            cancel: ctx.cancellation().clone(),
            call_id,
        })
    }

    /// The tool's result of a finished turn, as every way in gives it.
    fn result(&self, outcome: crate::agents::TurnOutcome) -> CallToolResult {
        let limit = self.manager.config().inline_result_bytes;
        let mut result = inline_result(outcome.call_id, outcome.structured, limit);
        crate::server::correlation::stamp(&mut result);
        result
    }
}

#[async_trait]
impl ToolHandler for CodexToolHandler {
    fn definition(&self) -> Tool {
        self.spec.to_mcp_tool()
    }

    /// Codex turns take minutes: a client that declared the 2026-07-28 tasks extension,
    /// or sent `params.task` (2025-11-25), gets a task it polls instead of a request
    /// that must stay open.
    fn task_support(&self) -> TaskSupport {
        TaskSupport::Optional
    }

    async fn call(
        &self,
        arguments: Map<String, Value>,
        ctx: RequestCtx,
    ) -> Result<CallToolResult, ToolError> {
        let request = self.request(arguments, &ctx)?;
        let outcome = self
            .manager
            .run_turn(request)
            .run_with(|p| ctx.progress(p.step as f64, None, Some(p.message)))
            .await?;
        Ok(self.result(outcome))
    }

    fn reattachable(&self) -> bool {
        true
    }

    /// The same turn as [`Self::call`], re-attached to the Codex run the previous
    /// process started: the call is prepared again from its stored arguments, as the
    /// agent the store recorded it for. Arguments that no longer prepare (a changed
    /// catalogue) fail the task with the restart message and interrupt the call.
    async fn reattach(&self, left: LeftTask, ctx: RequestCtx) -> Result<CallToolResult, ToolError> {
        let prepared = match (&left.arguments, AgentId::new(left.agent_id.clone())) {
            (Value::Object(arguments), Ok(agent)) => {
                codex_mcp_tools::prepare_call(self.spec, arguments)
                    .ok()
                    .map(|call| (call, arguments.clone(), agent))
            }
            _ => None,
        };
        let store = self.manager.store();
        let Some((call, arguments, agent)) = prepared else {
            tracing::warn!(task = %left.task.id, "the stored arguments no longer make a call");
            if let Err(e) = store.fail_left_running(&left, codex_mcp_store::now()).await {
                tracing::error!(task = %left.task.id, error = %e, "could not record the call interrupted");
            }
            return Err(ToolError::restarted());
        };
        let request = TurnRequest {
            call,
            arguments,
            agent,
            session: None,
            cancel: ctx.cancellation().clone(),
            call_id: None,
        };
        let started_at = match store.get_call(&left.call_id).await {
            Ok(Some(call)) => call.started_at,
            _ => left.task.created_at,
        };
        let outcome = self
            .manager
            .reattach_turn(request, left.call_id, started_at)
            .run_with(|p| ctx.progress(p.step as f64, None, Some(p.message)))
            .await
            .map_err(|e| match e {
                AgentError::RunGone => ToolError::restarted(),
                other => ToolError::from(other),
            })?;
        Ok(self.result(outcome))
    }
}

/// `_meta` key of the stored call's id (its resources are `codex-mcp://calls/{id}/...`).
pub const CALL_ID_META: &str = "io.codex-mcp/callId";

/// `_meta` key saying the structured result was cut ([`crate::tools::inline`]).
pub const TRUNCATED_META: &str = "io.codex-mcp/truncated";

/// A turn's result as the client gets it: the structured result (cut under `limit`
/// when it is larger, each cut text ending with where the rest is), the call's id in
/// `_meta`, and, when cut, a `resource_link` to the full result.
fn inline_result(call_id: String, mut structured: Value, limit: usize) -> CallToolResult {
    let full = results::uri(&call_id, results::Part::Result);
    let marker = format!(" [... truncated: the full text is in the resource {full}]");
    let cut = inline::fit(&mut structured, limit, &marker);
    let mut result = CallToolResult::structured(structured);
    let meta = result.meta.get_or_insert_with(Map::new);
    meta.insert(CALL_ID_META.into(), Value::String(call_id.clone()));
    if let Some(cut) = cut {
        meta.insert(
            TRUNCATED_META.into(),
            json!({
                "fullBytes": cut.full_bytes,
                "inlineBytes": cut.inline_bytes,
                "limitBytes": limit,
                "resource": full,
            }),
        );
        result.content.insert(
            0,
            Content::text(format!(
                "The result ({} bytes) is over the inline limit of {limit} bytes \
                 (CODEX_MCP_INLINE_RESULT_BYTES): its longest texts are cut below; read the \
                 resource {full} for all of it.",
                cut.full_bytes
            )),
        );
        result.content.push(Content::ResourceLink {
            uri: full,
            name: format!("{call_id}-result"),
            description: Some("The full, untruncated structured result".into()),
            mime_type: Some(results::Part::Result.mime().into()),
        });
    }
    result
}

/// The MCP edge's only translation of agent errors: the sentence of an `isError` result.
impl From<AgentError> for ToolError {
    fn from(error: AgentError) -> Self {
        ToolError::Failed(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_large_result_is_cut_and_links_to_the_full_one() {
        let big = json!({"reply": "x".repeat(100_000), "follow_up_suggestions": [], "referenced_files": []});
        let r = inline_result("call-1".into(), big, 8192);
        let structured = r.structured_content.clone().unwrap();
        assert!(serde_json::to_vec(&structured).unwrap().len() <= 8192);
        assert_eq!(structured["follow_up_suggestions"], json!([]));
        let meta = r.meta.clone().unwrap();
        assert_eq!(meta[CALL_ID_META], json!("call-1"));
        assert_eq!(
            meta[TRUNCATED_META]["resource"],
            json!("codex-mcp://calls/call-1/result")
        );
        let encoded = serde_json::to_value(&r).unwrap();
        let last = encoded["content"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(last["type"], json!("resource_link"));
        assert_eq!(last["uri"], json!("codex-mcp://calls/call-1/result"));

        let small = inline_result("call-2".into(), json!({"reply": "hi"}), 8192);
        assert_eq!(small.content.len(), 1);
        assert_eq!(small.meta.unwrap().get(TRUNCATED_META), None);
    }
}
