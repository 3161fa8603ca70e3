//! Plain tools: content types, errors, logging, progress and schema fixtures.

use std::time::Duration;

use codex_mcp_core::server::{FnTool, ServerBuilder, ToolError};
use codex_mcp_protocol::content::{Content, ResourceContents};
use codex_mcp_protocol::logging::LoggingLevel;
use codex_mcp_protocol::tools::{CallToolResult, Tool};
use serde_json::{Value, json};

use crate::{PNG_B64, WAV_B64};

/// A tool definition with an empty object schema.
pub fn tool(name: &str, description: &str) -> Tool {
    tool_with(
        name,
        description,
        json!({ "type": "object", "properties": {} }),
    )
}

/// A tool definition with a given input schema.
pub fn tool_with(name: &str, description: &str, input_schema: Value) -> Tool {
    Tool {
        name: name.into(),
        title: None,
        description: Some(description.into()),
        input_schema,
        output_schema: None,
        annotations: None,
        meta: None,
    }
}

fn content(blocks: Vec<Content>) -> Result<CallToolResult, ToolError> {
    Ok(CallToolResult {
        content: blocks,
        ..CallToolResult::default()
    })
}

fn image() -> Content {
    Content::Image {
        data: PNG_B64.into(),
        mime_type: "image/png".into(),
        annotations: None,
    }
}

pub fn register(b: ServerBuilder) -> ServerBuilder {
    b.tool(FnTool::new(
        tool("test_simple_text", "Returns a fixed line of text."),
        |_, _| async {
            content(vec![Content::text(
                "This is a simple text response for testing.",
            )])
        },
    ))
    .tool(FnTool::new(
        tool("test_image_content", "Returns a 1x1 PNG image."),
        |_, _| async { content(vec![image()]) },
    ))
    .tool(FnTool::new(
        tool("test_audio_content", "Returns a short WAV clip."),
        |_, _| async {
            content(vec![Content::Audio {
                data: WAV_B64.into(),
                mime_type: "audio/wav".into(),
                annotations: None,
            }])
        },
    ))
    .tool(FnTool::new(
        tool(
            "test_embedded_resource",
            "Returns an embedded text resource.",
        ),
        |_, _| async {
            content(vec![Content::Resource {
                resource: ResourceContents::text(
                    "test://embedded-resource",
                    "text/plain",
                    "This is an embedded resource content.",
                ),
                annotations: None,
            }])
        },
    ))
    .tool(FnTool::new(
        tool(
            "test_multiple_content_types",
            "Returns text, an image and a resource.",
        ),
        |_, _| async {
            content(vec![
                Content::text("Multiple content types test:"),
                image(),
                Content::Resource {
                    resource: ResourceContents::text(
                        "test://mixed-content-resource",
                        "application/json",
                        r#"{"test":"data","value":123}"#,
                    ),
                    annotations: None,
                },
            ])
        },
    ))
    .tool(FnTool::new(
        tool(
            "test_tool_with_logging",
            "Logs three messages while it runs.",
        ),
        |_, ctx| async move {
            for (i, line) in [
                "Tool execution started",
                "Tool processing data",
                "Tool execution completed",
            ]
            .iter()
            .enumerate()
            {
                if i > 0 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                ctx.log(LoggingLevel::Info, Some("conformance"), json!(line))
                    .await;
            }
            content(vec![Content::text(
                "Tool with logging executed successfully",
            )])
        },
    ))
    .tool(FnTool::new(
        tool(
            "test_logging_tool",
            "Logs a message only when the request asked for logs.",
        ),
        |_, ctx| async move {
            ctx.log(
                LoggingLevel::Info,
                Some("conformance"),
                json!("logging tool ran"),
            )
            .await;
            content(vec![Content::text("Logging tool executed")])
        },
    ))
    .tool(FnTool::new(
        tool(
            "test_tool_with_progress",
            "Reports progress 0, 50 and 100 before answering.",
        ),
        |_, ctx| async move {
            for (i, p) in [0.0, 50.0, 100.0].into_iter().enumerate() {
                if i > 0 {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                ctx.progress(p, Some(100.0), Some(format!("step {}", i + 1)))
                    .await;
            }
            content(vec![Content::text("Progress tool completed")])
        },
    ))
    .tool(FnTool::new(
        tool("test_error_handling", "Always fails, as a tool error."),
        |_, _| async {
            Err(ToolError::Failed(
                "This tool intentionally returns an error for testing".into(),
            ))
        },
    ))
    .tool(FnTool::new(
        tool_with(
            "json_schema_2020_12_tool",
            "Has a JSON Schema 2020-12 input schema.",
            json_schema_2020_12(),
        ),
        |args, _| async move {
            content(vec![Content::text(format!(
                "Received: {}",
                Value::Object(args)
            ))])
        },
    ))
    .tool(FnTool::new(
        tool_with(
            "test_custom_header",
            "Echoes its region argument, which clients mirror into the Mcp-Param-Region header.",
            json!({
                "type": "object",
                "properties": { "region": { "type": "string", "x-mcp-header": "Region" } },
                "required": ["region"]
            }),
        ),
        |args, _| async move {
            let region = args
                .get("region")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            content(vec![Content::text(format!("region: {region}"))])
        },
    ))
}

fn json_schema_2020_12() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {
            "address": {
                "$anchor": "addressDef",
                "type": "object",
                "properties": { "street": { "type": "string" }, "city": { "type": "string" } }
            }
        },
        "properties": {
            "name": { "type": "string" },
            "address": { "$ref": "#/$defs/address" },
            "contactMethod": { "type": "string", "enum": ["phone", "email"] },
            "phone": { "type": "string" },
            "email": { "type": "string" }
        },
        "allOf": [{ "anyOf": [{ "required": ["phone"] }, { "required": ["email"] }] }],
        "if": { "properties": { "contactMethod": { "const": "phone" } }, "required": ["contactMethod"] },
        "then": { "required": ["phone"] },
        "else": { "required": ["email"] },
        "additionalProperties": false
    })
}
