//! Multi round-trip (input-required) fixtures of protocol 2026-07-28.

use codex_mcp_core::server::{FnTool, RequestCtx, ServerBuilder, ToolError};
use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::content::Content;
use codex_mcp_protocol::tools::CallToolResult;
use serde_json::{Value, json};

use crate::fixtures::tool;

fn text(s: String) -> Result<CallToolResult, ToolError> {
    Ok(CallToolResult {
        content: vec![Content::text(s)],
        ..CallToolResult::default()
    })
}

/// An elicitation question: (key, method, params).
pub fn elicitation(key: &str, message: &str, field: &str, kind: &str) -> (String, String, Value) {
    (
        key.into(),
        "elicitation/create".into(),
        json!({
            "mode": "form",
            "message": message,
            "requestedSchema": {
                "type": "object",
                "properties": { field: { "type": kind } },
                "required": [field]
            }
        }),
    )
}

fn sampling(key: &str, question: &str, max_tokens: u32) -> (String, String, Value) {
    (
        key.into(),
        "sampling/createMessage".into(),
        json!({
            "messages": [{ "role": "user", "content": { "type": "text", "text": question } }],
            "maxTokens": max_tokens
        }),
    )
}

fn roots(key: &str) -> (String, String, Value) {
    (key.into(), "roots/list".into(), json!({}))
}

/// Reads `content.<field>` of an accepted elicitation; anything else is a protocol error,
/// so malformed answers are never taken for real input.
pub fn accepted_field(answer: &Value, field: &str) -> Result<Value, ToolError> {
    let invalid = |why: &str| {
        ToolError::Protocol(ErrorObject::invalid_params(format!(
            "inputResponses: {why}"
        )))
    };
    let obj = answer
        .as_object()
        .ok_or_else(|| invalid("an elicitation answer must be an object"))?;
    match obj.get("action").and_then(Value::as_str) {
        Some("accept") => {}
        Some(other) => return Err(ToolError::Failed(format!("the user chose to {other}"))),
        None => return Err(invalid("an elicitation answer needs an action")),
    }
    obj.get("content")
        .and_then(|c| c.get(field))
        .cloned()
        .ok_or_else(|| invalid(&format!("the accepted answer lacks content.{field}")))
}

async fn ask_one(ctx: &RequestCtx, q: (String, String, Value)) -> Result<Value, ToolError> {
    let mut answers = ctx.ask_many(vec![q]).await?;
    Ok(answers.pop().unwrap_or(Value::Null))
}

pub fn register(b: ServerBuilder) -> ServerBuilder {
    b.tool(FnTool::new(
        tool(
            "test_input_required_result_elicitation",
            "Asks the user's name, then greets them.",
        ),
        |_, ctx| async move {
            let answer = ask_one(
                &ctx,
                elicitation("user_name", "What is your name?", "name", "string"),
            )
            .await?;
            let name = accepted_field(&answer, "name")?;
            text(format!("Hello, {}!", name.as_str().unwrap_or("stranger")))
        },
    ))
    .tool(FnTool::new(
        tool(
            "test_input_required_result_sampling",
            "Asks the client's model a question.",
        ),
        |_, ctx| async move {
            let answer = ask_one(
                &ctx,
                sampling("capital_question", "What is the capital of France?", 100),
            )
            .await?;
            let reply = answer
                .pointer("/content/text")
                .and_then(Value::as_str)
                .unwrap_or("(no text)");
            text(format!("Model said: {reply}"))
        },
    ))
    .tool(FnTool::new(
        tool(
            "test_input_required_result_list_roots",
            "Asks for the client's roots.",
        ),
        |_, ctx| async move {
            let answer = ask_one(&ctx, roots("client_roots")).await?;
            let n = answer
                .get("roots")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            text(format!("Client has {n} root(s)"))
        },
    ))
    .tool(FnTool::new(
        tool(
            "test_input_required_result_request_state",
            "Confirms through sealed request state.",
        ),
        |_, ctx| async move {
            let answer = ask_one(&ctx, elicitation("confirm", "Proceed?", "ok", "boolean")).await?;
            let ok = accepted_field(&answer, "ok")?;
            text(format!("state-ok: confirmed={ok}"))
        },
    ))
    .tool(FnTool::new(
        tool(
            "test_input_required_result_tampered_state",
            "Refuses a request state that was altered.",
        ),
        |_, ctx| async move {
            let answer = ask_one(&ctx, elicitation("confirm", "Proceed?", "ok", "boolean")).await?;
            let ok = accepted_field(&answer, "ok")?;
            text(format!("state verified: confirmed={ok}"))
        },
    ))
    .tool(FnTool::new(
        tool(
            "test_input_required_result_multiple_inputs",
            "Asks for a name, a greeting and the roots at once.",
        ),
        |_, ctx| async move {
            let answers = ctx
                .ask_many(vec![
                    elicitation("user_name", "What is your name?", "name", "string"),
                    sampling("greeting", "Generate a greeting", 50),
                    roots("client_roots"),
                ])
                .await?;
            let name = answers
                .first()
                .map(|a| accepted_field(a, "name"))
                .transpose()?
                .unwrap_or(Value::Null);
            text(format!("Got all inputs for {name}"))
        },
    ))
    .tool(FnTool::new(
        tool(
            "test_input_required_result_multi_round",
            "Asks two questions in two rounds.",
        ),
        |_, ctx| async move {
            let name = ask_one(
                &ctx,
                elicitation("step1", "Step 1: What is your name?", "name", "string"),
            )
            .await?;
            let name = accepted_field(&name, "name")?;
            let color = ask_one(
                &ctx,
                elicitation(
                    "step2",
                    "Step 2: What is your favorite color?",
                    "color",
                    "string",
                ),
            )
            .await?;
            let color = accepted_field(&color, "color")?;
            text(format!("{name} likes {color}"))
        },
    ))
    .tool(FnTool::new(
        tool(
            "test_input_required_result_capabilities",
            "Asks only what the client declared it can answer.",
        ),
        |_, ctx| async move {
            let mut questions = Vec::new();
            if ctx.client_supports("elicitation") {
                questions.push(elicitation(
                    "user_name",
                    "What is your name?",
                    "name",
                    "string",
                ));
            }
            if ctx.client_supports("sampling") {
                questions.push(sampling("greeting", "Generate a greeting", 50));
            }
            if ctx.client_supports("roots") {
                questions.push(roots("client_roots"));
            }
            if questions.is_empty() {
                return text("The client declared no capability to ask through".into());
            }
            let answers = ctx.ask_many(questions).await?;
            text(format!("Received {} answer(s)", answers.len()))
        },
    ))
}
