//! An rmcp client asking a codex-mcp server (mcpd, or an app embedding it) to review the
//! files of a folder: `client-rust URL FOLDER`, where URL is the streamable HTTP endpoint
//! (`http://127.0.0.1:8210/mcp`, or `.../ai/mcp/mcp` for examples/embed-axum). Prints
//! the review's structured result as JSON. `tests/python/test_embed_axum.py` runs it.

use std::path::Path;

use rmcp::ServiceExt as _;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{Map, Value, json};

/// Largest file sent for review; larger ones are named but not sent.
const MAX_FILE_BYTES: u64 = 64 * 1024;

/// The folder's files (not recursing), each under a `--- name` header.
fn folder_text(folder: &Path) -> std::io::Result<String> {
    let mut entries: Vec<_> = std::fs::read_dir(folder)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    let mut text = String::new();
    for entry in entries {
        let meta = entry.metadata()?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !meta.is_file() {
            continue;
        }
        if meta.len() > MAX_FILE_BYTES {
            text.push_str(&format!("--- {name} (too large, not included)\n"));
            continue;
        }
        let body = String::from_utf8_lossy(&std::fs::read(entry.path())?).into_owned();
        text.push_str(&format!("--- {name}\n{body}\n"));
    }
    Ok(text)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(folder)) = (args.next(), args.next()) else {
        return Err("usage: client-rust URL FOLDER".into());
    };
    let content = format!("Review these files:\n{}", folder_text(Path::new(&folder))?);
    let client = ().serve(StreamableHttpClientTransport::from_uri(url)).await?;
    let arguments: Map<String, Value> = match json!({ "content": content }) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let result = client
        .call_tool(CallToolRequestParams::new("review").with_arguments(arguments))
        .await?;
    client.cancel().await?;
    if result.is_error == Some(true) {
        return Err(format!("review failed: {:?}", result.content).into());
    }
    let review = result.structured_content.unwrap_or(Value::Null);
    println!("{}", serde_json::to_string_pretty(&review)?);
    Ok(())
}
