//! Fixtures of the 2026-07-28 `io.modelcontextprotocol/tasks` extension scenarios
//! (`tasks-*`). The tasks themselves are the engine's (held in memory by the server);
//! these tools only say whether they may run as tasks and what they do.

use std::time::Duration;

use codex_mcp_core::server::{FnTool, ServerBuilder, ToolError};
use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::tasks_ext::TaskSupport;
use codex_mcp_protocol::tools::CallToolResult;
use serde_json::{Map, Value, json};

use crate::fixtures::{tool, tool_with};
use crate::mrtr::{accepted_field, elicitation};

fn text(s: String) -> Result<CallToolResult, ToolError> {
    Ok(CallToolResult::text(s))
}

fn string_arg<'a>(args: &'a Map<String, Value>, name: &str) -> Result<&'a str, ToolError> {
    args.get(name).and_then(Value::as_str).ok_or_else(|| {
        ToolError::Protocol(ErrorObject::invalid_params(format!(
            "argument {name:?} must be a string"
        )))
    })
}

/// `seconds` as a duration: a non-negative number of at most an hour.
fn seconds_arg(args: &Map<String, Value>) -> Result<Duration, ToolError> {
    let seconds = args
        .get("seconds")
        .and_then(Value::as_f64)
        .filter(|s| (0.0..=3600.0).contains(s))
        .ok_or_else(|| {
            ToolError::Protocol(ErrorObject::invalid_params(
                "argument \"seconds\" must be a number from 0 to 3600",
            ))
        })?;
    Ok(Duration::from_secs_f64(seconds))
}

pub fn register(b: ServerBuilder) -> ServerBuilder {
    b.tool(FnTool::new(
        tool_with(
            "greet",
            "Greets someone at once (never a task).",
            json!({"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}),
        ),
        |args, _| async move { text(format!("Hello, {}!", string_arg(&args, "name")?)) },
    ))
    .tool(
        FnTool::new(
            tool_with(
                "slow_compute",
                "Sleeps `seconds`, then answers; runs as a task for clients that allow it.",
                json!({
                    "type": "object",
                    "properties": {
                        "seconds": {"type": "number", "minimum": 0, "maximum": 3600},
                        "label": {"type": "string"}
                    },
                    "required": ["seconds"]
                }),
            ),
            |args, ctx| async move {
                let wait = seconds_arg(&args)?;
                let label = args.get("label").and_then(Value::as_str).unwrap_or("-");
                if let Some(task) = ctx.task() {
                    task.set_status_message(format!("computing {label}"));
                }
                tokio::time::sleep(wait).await;
                text(format!(
                    "Computed {label} after {:.1}s",
                    wait.as_secs_f64()
                ))
            },
        )
        .with_task_support(TaskSupport::Optional),
    )
    .tool(
        FnTool::new(
            tool("failing_job", "Fails as a tool after about a second; task only."),
            |_, _| async {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Err(ToolError::Failed("failing_job failed, as it always does".into()))
            },
        )
        .with_task_support(TaskSupport::Required),
    )
    .tool(
        FnTool::new(
            tool(
                "protocol_error_job",
                "Ends with a protocol-level error, so its task is failed.",
            ),
            |_, _| async {
                tokio::time::sleep(Duration::from_millis(200)).await;
                Err(ToolError::Protocol(ErrorObject::internal(
                    "protocol_error_job: simulated server failure",
                )))
            },
        )
        .with_task_support(TaskSupport::Optional),
    )
    .tool(
        FnTool::new(
            tool_with(
                "confirm_delete",
                "Asks the user to confirm, then 'deletes' the file.",
                json!({"type": "object", "properties": {"filename": {"type": "string"}}, "required": ["filename"]}),
            ),
            |args, ctx| async move {
                let file = string_arg(&args, "filename")?.to_string();
                let (key, method, params) =
                    elicitation("confirm", &format!("Delete {file}?"), "confirm", "boolean");
                let answer = ctx.ask(&key, &method, params).await?;
                let confirmed = accepted_field(&answer, "confirm")?;
                if confirmed == Value::Bool(true) {
                    text(format!("Deleted {file}"))
                } else {
                    text(format!("Kept {file}"))
                }
            },
        )
        .with_task_support(TaskSupport::Optional),
    )
    .tool(
        FnTool::new(
            tool("multi_input", "Asks two questions at once, then answers."),
            |_, ctx| async move {
                let answers = ctx
                    .ask_many(vec![
                        elicitation("name", "What is your name?", "name", "string"),
                        elicitation("confirm", "Proceed?", "confirm", "boolean"),
                    ])
                    .await?;
                let name = answers
                    .first()
                    .map(|a| accepted_field(a, "name"))
                    .transpose()?
                    .unwrap_or(Value::Null);
                text(format!("Got both inputs, first from {name}"))
            },
        )
        .with_task_support(TaskSupport::Optional),
    )
    .tool(
        FnTool::new(
            tool(
                "test_tool_with_task",
                "Asks the user's name (multi round-trip), then greets them from a task.",
            ),
            |_, ctx| async move {
                let (key, method, params) =
                    elicitation("user_name", "What is your name?", "name", "string");
                let answer = ctx.ask(&key, &method, params).await?;
                let name = accepted_field(&answer, "name")?;
                tokio::time::sleep(Duration::from_millis(300)).await;
                text(format!(
                    "Hello, {} (from a task)!",
                    name.as_str().unwrap_or("stranger")
                ))
            },
        )
        .with_task_support(TaskSupport::Required)
        .asking_before_task(vec![elicitation(
            "user_name",
            "What is your name?",
            "name",
            "string",
        )]),
    )
}
