//! Tools that need the client: sampling, elicitation and capability checks.

use codex_mcp_core::server::{FnTool, RequestCtx, ServerBuilder, ToolError};
use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::content::Content;
use codex_mcp_protocol::tools::CallToolResult;
use serde_json::{Map, Value, json};

use crate::fixtures::{tool, tool_with};

fn text(s: String) -> Result<CallToolResult, ToolError> {
    Ok(CallToolResult {
        content: vec![Content::text(s)],
        ..CallToolResult::default()
    })
}

fn string_arg(args: &Map<String, Value>, name: &str) -> Result<String, ToolError> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            ToolError::Protocol(ErrorObject::invalid_params(format!(
                "{name} (string) is required"
            )))
        })
}

async fn elicit(
    ctx: &RequestCtx,
    key: &str,
    message: &str,
    schema: Value,
) -> Result<Value, ToolError> {
    Ok(ctx
        .ask(
            key,
            "elicitation/create",
            json!({ "message": message, "requestedSchema": schema }),
        )
        .await?)
}

pub fn register(b: ServerBuilder) -> ServerBuilder {
    b.tool(FnTool::new(
        tool_with(
            "test_sampling",
            "Asks the client's model to answer a prompt.",
            json!({ "type": "object", "properties": { "prompt": { "type": "string" } }, "required": ["prompt"] }),
        ),
        |args, ctx| async move {
            let prompt = string_arg(&args, "prompt")?;
            let params = json!({
                "messages": [{ "role": "user", "content": { "type": "text", "text": prompt } }],
                "maxTokens": 100
            });
            let answer = ctx.ask("sample", "sampling/createMessage", params).await?;
            let reply = answer.pointer("/content/text").and_then(Value::as_str).unwrap_or("(no text)");
            text(format!("LLM response: {reply}"))
        },
    ))
    .tool(FnTool::new(
        tool_with(
            "test_elicitation",
            "Asks the user for a username and email.",
            json!({ "type": "object", "properties": { "message": { "type": "string" } }, "required": ["message"] }),
        ),
        |args, ctx| async move {
            let message = string_arg(&args, "message")?;
            let schema = json!({
                "type": "object",
                "properties": {
                    "username": { "type": "string", "description": "User's response" },
                    "email": { "type": "string", "description": "User's email address" }
                },
                "required": ["username", "email"]
            });
            let answer = elicit(&ctx, "user_info", &message, schema).await?;
            text(format!(
                "User response: action={}, content={}",
                answer.get("action").and_then(Value::as_str).unwrap_or("unknown"),
                answer.get("content").cloned().unwrap_or(Value::Null)
            ))
        },
    ))
    .tool(FnTool::new(
        tool("test_elicitation_sep1034_defaults", "Elicits fields that carry default values."),
        |_, ctx| async move {
            let schema = json!({
                "type": "object",
                "properties": {
                    "name": { "type": "string", "default": "John Doe" },
                    "age": { "type": "integer", "default": 30 },
                    "score": { "type": "number", "default": 95.5 },
                    "status": { "type": "string", "enum": ["active", "inactive", "pending"], "default": "active" },
                    "verified": { "type": "boolean", "default": true }
                },
                "required": []
            });
            let answer = elicit(&ctx, "defaults", "Please review the defaults", schema).await?;
            text(format!("Elicitation completed: {answer}"))
        },
    ))
    .tool(FnTool::new(
        tool("test_elicitation_sep1330_enums", "Elicits every enum variant."),
        |_, ctx| async move {
            let titled = |prefix: &str, noun: &str| {
                json!([
                    { "const": format!("{prefix}1"), "title": format!("First {noun}") },
                    { "const": format!("{prefix}2"), "title": format!("Second {noun}") },
                    { "const": format!("{prefix}3"), "title": format!("Third {noun}") }
                ])
            };
            let schema = json!({
                "type": "object",
                "properties": {
                    "untitledSingle": { "type": "string", "enum": ["option1", "option2", "option3"] },
                    "titledSingle": { "type": "string", "oneOf": titled("value", "Option") },
                    "legacyEnum": {
                        "type": "string",
                        "enum": ["opt1", "opt2", "opt3"],
                        "enumNames": ["Option One", "Option Two", "Option Three"]
                    },
                    "untitledMulti": {
                        "type": "array", "minItems": 1, "maxItems": 3,
                        "items": { "type": "string", "enum": ["option1", "option2", "option3"] }
                    },
                    "titledMulti": {
                        "type": "array", "minItems": 1, "maxItems": 3,
                        "items": { "anyOf": titled("value", "Choice") }
                    }
                },
                "required": []
            });
            let answer = elicit(&ctx, "enums", "Pick some options", schema).await?;
            text(format!("Elicitation completed: {answer}"))
        },
    ))
    .tool(FnTool::new(
        tool("test_missing_capability", "Needs the client's sampling capability."),
        |_, ctx| async move {
            if !ctx.client_supports("sampling") {
                return Err(ToolError::Protocol(ErrorObject::missing_capability(json!({ "sampling": {} }))));
            }
            text("Success".into())
        },
    ))
    .tool(FnTool::new(
        tool("test_streaming_elicitation", "Streams a progress note and answers without asking the client."),
        |_, ctx| async move {
            ctx.progress(1.0, Some(1.0), Some("working".into())).await;
            text("Streaming elicitation tool finished without server-to-client requests".into())
        },
    ))
}
