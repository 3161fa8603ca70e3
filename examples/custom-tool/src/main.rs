//! A Codex-backed tool of one's own, `explain_file`: its arguments, its result and its
//! prompt, served over HTTP by the codex-mcp facade. The integration template of
//! `docs/embedding.md`; `tests/python/test_embed_axum.py` runs it.
//!
//! Environment (as examples/embed-axum): `EMBED_LISTEN` (default `127.0.0.1:8080`),
//! `EMBED_DATA_DIR` (default `./custom-tool-data`), `EMBED_CODEX_CONFIG` (optional: a
//! `config.toml` every agent's Codex gets). Credentials are detected as mcpd does.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use codex_mcp_core::{CodexMcp, CodexToolHandler};
use codex_mcp_tools::schema::{input_schema, output_schema};
use codex_mcp_tools::tools::codex_annotations;
use codex_mcp_tools::{AgentId, ArgumentError, CodexTool, Definition, Prepared, ToolSpec};
use codex_mcp_tools::{WorkspaceAccess, args};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Arguments of `explain_file`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ExplainArgs {
    /// The workspace file to explain.
    path: String,
    /// Who the explanation is for (default: a new team member).
    audience: Option<String>,
    /// The calling agent (defaults to the connection's).
    agent_id: Option<AgentId>,
}

/// What `explain_file` returns; Codex must answer with exactly this.
#[derive(Serialize, JsonSchema)]
struct Explanation {
    /// One paragraph on what the file is for.
    summary: String,
    /// The points worth knowing, most important first.
    key_points: Vec<String>,
}

static EXPLAIN_FILE: LazyLock<ToolSpec> = LazyLock::new(|| {
    let definition = Definition {
        name: "explain_file",
        title: "Explain a file",
        description: "Codex reads one workspace file and explains it: a summary and key points.",
        annotations: codex_annotations(true),
        input_schema: input_schema::<ExplainArgs>(),
        output_schema: output_schema::<Explanation>(),
    };
    let access = WorkspaceAccess::ReadOnly;
    let default_timeout = Duration::from_secs(120);
    ToolSpec::new_codex(
        definition,
        CodexTool {
            access,
            default_timeout,
        },
        prepare,
    )
});

/// Checks the arguments against the input schema and writes the prompt.
fn prepare(tool: &ToolSpec, arguments: &Map<String, Value>) -> Result<Prepared, ArgumentError> {
    let a: ExplainArgs = args::parse(tool.input_schema(), arguments)?;
    let audience = a.audience.as_deref().unwrap_or("a new team member");
    let prompt = format!(
        "Read the workspace file `{}` and explain it to {audience}. Do not change any file. \
         Answer with JSON only: `summary` (one paragraph) and `key_points` (a list).",
        a.path
    );
    Ok(Prepared::new(a.agent_id, None, prompt))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listen = std::env::var("EMBED_LISTEN").unwrap_or_else(|_| "127.0.0.1:8080".into());
    let data_dir = std::env::var("EMBED_DATA_DIR").unwrap_or_else(|_| "custom-tool-data".into());
    let mut builder = CodexMcp::builder(data_dir)
        .without_catalogue()
        .tool_with(|manager| CodexToolHandler::new(&EXPLAIN_FILE, Arc::clone(manager)));
    if let Ok(path) = std::env::var("EMBED_CODEX_CONFIG") {
        builder = builder.codex_config(std::fs::read_to_string(&path)?);
    }
    let mcp = builder.build().await?;
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    eprintln!("custom-tool listening on http://{}", listener.local_addr()?);
    mcp.serve_http(listener, std::future::pending()).await?;
    Ok(())
}
