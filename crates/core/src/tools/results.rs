//! Every finished call's full result and diff as MCP resources
//! (`codex-mcp://calls/{call_id}/result`, `codex-mcp://calls/{call_id}/diff`), read from
//! the store and scoped per bearer token exactly like the server tools ([`Scope`]): a
//! call of an agent outside the caller's scope reads like an unknown one. The dashboard
//! serves the same reads ([`read_part`]) under its own gate.

use std::sync::Arc;

use async_trait::async_trait;
use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::content::ResourceContents;
use codex_mcp_protocol::resources::{Resource, ResourceTemplate};
use codex_mcp_store::{OutputQuery, StoreError};

use crate::agents::AgentManager;
use crate::agents::identity::Scope;
use crate::server::{RequestCtx, ResourceProvider};

/// The scheme and authority of every call resource.
pub const PREFIX: &str = "codex-mcp://calls/";

/// How many calls `resources/list` shows (newest first; two resources each at most).
pub const LIST_LIMIT: u32 = 200;

/// Which part of a call's output a resource holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// The tool's structured result (JSON), without the diff.
    Result,
    /// The diff a writing tool produced.
    Diff,
}

impl Part {
    /// The last path segment of its URI.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Result => "result",
            Part::Diff => "diff",
        }
    }

    /// The MIME type of its contents.
    pub fn mime(self) -> &'static str {
        match self {
            Part::Result => "application/json",
            Part::Diff => "text/x-diff",
        }
    }

    /// The part a path segment names.
    pub fn parse(segment: &str) -> Option<Self> {
        match segment {
            "result" => Some(Part::Result),
            "diff" => Some(Part::Diff),
            _ => None,
        }
    }
}

/// The URI of one part of a call's output.
pub fn uri(call_id: &str, part: Part) -> String {
    format!("{PREFIX}{call_id}/{}", part.as_str())
}

/// Splits a call resource URI into its call id and part. `None` when the URI is not in
/// the `codex-mcp://calls/` space at all; an error naming the expected forms when it is
/// but is malformed.
pub fn parse_uri(uri: &str) -> Option<Result<(&str, Part), ErrorObject>> {
    let rest = uri.strip_prefix(PREFIX)?;
    let parsed = rest
        .split_once('/')
        .filter(|(id, _)| !id.is_empty() && !id.contains(['?', '#']))
        .and_then(|(id, part)| Some((id, Part::parse(part)?)));
    Some(parsed.ok_or_else(|| {
        ErrorObject::invalid_params(format!(
            "malformed call resource URI {uri:?}: expected {PREFIX}{{call_id}}/result or \
             {PREFIX}{{call_id}}/diff"
        ))
        .with_data(serde_json::json!({ "uri": uri }))
    }))
}

/// One part of a call's stored output as text, or `None` when the call is unknown,
/// outside `scope`, has no stored output, or (for [`Part::Diff`]) produced no diff.
pub async fn read_part(
    manager: &AgentManager,
    scope: &Scope<'_>,
    call_id: &str,
    part: Part,
) -> Result<Option<String>, StoreError> {
    let store = manager.store();
    let Some(call) = store.get_call(call_id).await? else {
        return Ok(None);
    };
    if !scope.allows(&call.agent_id) {
        return Ok(None);
    }
    let Some(output) = store.get_call_output(call_id).await? else {
        return Ok(None);
    };
    Ok(match part {
        Part::Result => Some(output.result.to_string()),
        Part::Diff => output.diff,
    })
}

/// The agents a scope limits a listing to (`None`: every agent).
pub fn query_agents(scope: &Scope<'_>) -> Option<Vec<String>> {
    match scope {
        Scope::All => None,
        Scope::Token(grant) => Some(grant.agents.clone()),
    }
}

fn store_failure(e: StoreError) -> ErrorObject {
    ErrorObject::internal(format!("cannot read stored call results: {e}"))
}

/// The resource provider of call results, registered by the embedding facade beside the
/// Codex tools.
pub struct CallResults {
    manager: Arc<AgentManager>,
}

impl CallResults {
    /// Serves the results `manager`'s store keeps.
    pub fn new(manager: Arc<AgentManager>) -> Self {
        Self { manager }
    }
}

fn template(part: Part, description: &str) -> ResourceTemplate {
    ResourceTemplate {
        uri_template: format!("{PREFIX}{{call_id}}/{}", part.as_str()),
        name: format!("call-{}", part.as_str()),
        title: None,
        description: Some(description.into()),
        mime_type: Some(part.mime().into()),
    }
}

#[async_trait]
impl ResourceProvider for CallResults {
    fn resources(&self) -> Vec<Resource> {
        Vec::new()
    }

    fn templates(&self) -> Vec<ResourceTemplate> {
        vec![
            template(
                Part::Result,
                "The full structured result of a finished Codex tool call (call_id is the \
                 correlation id in the result's _meta), never truncated",
            ),
            template(
                Part::Diff,
                "The full diff a finished Codex tool call produced, never truncated",
            ),
        ]
    }

    fn per_caller(&self) -> bool {
        true
    }

    async fn list(&self, ctx: &RequestCtx) -> Result<Vec<Resource>, ErrorObject> {
        let scope = Scope::of(ctx.identity());
        let query = OutputQuery {
            agents: query_agents(&scope),
            limit: LIST_LIMIT,
        };
        let entries = self
            .manager
            .store()
            .list_call_outputs(&query)
            .await
            .map_err(store_failure)?;
        let mut out = Vec::with_capacity(entries.len() * 2);
        for entry in entries {
            let call = &entry.call;
            let parts: &[Part] = if entry.has_diff {
                &[Part::Result, Part::Diff]
            } else {
                &[Part::Result]
            };
            for &part in parts {
                out.push(Resource {
                    uri: uri(&call.id, part),
                    name: format!("{}-{}", call.id, part.as_str()),
                    title: Some(format!(
                        "{} {} of agent {} ({})",
                        call.tool,
                        part.as_str(),
                        call.agent_id,
                        call.started_at.to_rfc3339()
                    )),
                    description: None,
                    mime_type: Some(part.mime().into()),
                    annotations: None,
                });
            }
        }
        Ok(out)
    }

    async fn read(
        &self,
        uri: &str,
        ctx: &RequestCtx,
    ) -> Result<Option<Vec<ResourceContents>>, ErrorObject> {
        let Some(parsed) = parse_uri(uri) else {
            return Ok(None);
        };
        let (call_id, part) = parsed?;
        let scope = Scope::of(ctx.identity());
        let text = read_part(&self.manager, &scope, call_id, part)
            .await
            .map_err(store_failure)?;
        Ok(text.map(|text| vec![ResourceContents::text(uri, part.mime(), text)]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn uris_round_trip_and_malformed_ones_are_named() {
        assert_eq!(uri("call-1", Part::Diff), "codex-mcp://calls/call-1/diff");
        assert_eq!(
            parse_uri("codex-mcp://calls/call-1/result").map(|r| r.ok()),
            Some(Some(("call-1", Part::Result)))
        );
        assert_eq!(parse_uri("test://static-text").map(|r| r.is_ok()), None);
        for bad in [
            "codex-mcp://calls/",
            "codex-mcp://calls/x",
            "codex-mcp://calls//result",
            "codex-mcp://calls/x/other",
            "codex-mcp://calls/x/result/more",
        ] {
            let err = parse_uri(bad).map(|r| r.err());
            let Some(Some(err)) = err else {
                panic!("{bad} was accepted");
            };
            assert!(err.message.contains("malformed call resource URI"), "{bad}");
        }
    }
}
