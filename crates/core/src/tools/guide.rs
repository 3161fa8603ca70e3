//! A short guide for calling agents, served as the resource `codex-mcp://guide`: how to
//! pick a tool, run long work and fetch large results. The tool list comes from the
//! catalogue itself, so it cannot drift from what `tools/list` shows.

use async_trait::async_trait;
use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::content::ResourceContents;
use codex_mcp_protocol::resources::Resource;

use crate::server::{RequestCtx, ResourceProvider};

/// The guide's URI.
pub const URI: &str = "codex-mcp://guide";
const MIME: &str = "text/markdown";
const TEXT: &str = include_str!("guide.md");

/// The guide resource, registered beside the call results.
pub struct Guide {
    text: String,
}

impl Guide {
    /// Builds the guide text once: the fixed part and one line per catalogue tool.
    pub fn new() -> Self {
        let mut text = String::from(TEXT);
        text.push_str("\n## Every tool\n\n");
        for spec in codex_mcp_tools::catalogue() {
            let first = spec
                .description
                .split(". ")
                .next()
                .unwrap_or(spec.description);
            let first = first.trim_end_matches('.');
            text.push_str(&format!("- `{}`: {first}.\n", spec.name));
        }
        Self { text }
    }
}

impl Default for Guide {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl ResourceProvider for Guide {
    fn resources(&self) -> Vec<Resource> {
        vec![Resource {
            uri: URI.into(),
            name: "guide".into(),
            title: Some("How to use this codex-mcp server".into()),
            description: Some(
                "Which tool to pick, how long work runs, and where full results live".into(),
            ),
            mime_type: Some(MIME.into()),
            annotations: None,
        }]
    }

    async fn read(
        &self,
        uri: &str,
        _ctx: &RequestCtx,
    ) -> Result<Option<Vec<ResourceContents>>, ErrorObject> {
        Ok((uri == URI).then(|| vec![ResourceContents::text(uri, MIME, self.text.clone())]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_names_every_catalogue_tool_once() {
        let guide = Guide::new();
        for spec in codex_mcp_tools::catalogue() {
            let line = format!("- `{}`: ", spec.name);
            assert_eq!(
                guide.text.matches(&line).count(),
                1,
                "{} in the guide's tool list",
                spec.name
            );
        }
        assert!(guide.text.starts_with("# Using this codex-mcp server\n"));
    }
}
