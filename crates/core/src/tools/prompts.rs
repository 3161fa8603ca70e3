//! The tool prompt templates, served as MCP prompts so a client can see (or reuse)
//! exactly what Codex is asked.

use async_trait::async_trait;
use codex_mcp_protocol::prompts::{GetPromptResult, Prompt};
use serde_json::{Map, Value};

use crate::server::{PromptHandler, RequestCtx, ToolError};

/// One prompt of the catalogue.
pub struct CatalogPrompt {
    prompt: Prompt,
}

impl CatalogPrompt {
    /// Every prompt of the catalogue, in order.
    pub fn all() -> Vec<Self> {
        codex_mcp_tools::prompts()
            .into_iter()
            .map(|prompt| Self { prompt })
            .collect()
    }
}

#[async_trait]
impl PromptHandler for CatalogPrompt {
    fn definition(&self) -> Prompt {
        self.prompt.clone()
    }

    async fn get(
        &self,
        arguments: Map<String, Value>,
        _: &RequestCtx,
    ) -> Result<GetPromptResult, ToolError> {
        codex_mcp_tools::render_prompt(&self.prompt.name, &arguments)
            .map_err(|e| ToolError::Protocol(e.to_error_object()))
    }
}
