//! The Codex prompt templates served as MCP prompts.

use codex_mcp_protocol::content::Content;
use codex_mcp_protocol::prompts::{GetPromptResult, Prompt, PromptArgument, PromptMessage, Role};
use codex_mcp_tools::{prepare, prompts, render_prompt};
use pretty_assertions::assert_eq;
use serde_json::{Map, Value, json};

fn args(value: Value) -> Map<String, Value> {
    serde_json::from_value(value).unwrap()
}

fn text_of(result: &GetPromptResult) -> &str {
    match &result.messages[..] {
        [
            PromptMessage {
                role: Role::User,
                content: Content::Text { text, .. },
            },
        ] => text,
        other => panic!("expected one user text message, got {other:?}"),
    }
}

#[test]
fn one_prompt_per_codex_tool() {
    let names: Vec<String> = prompts().into_iter().map(|p| p.name).collect();
    assert_eq!(
        names,
        [
            "plan",
            "implement",
            "review",
            "fix",
            "chat",
            "audit",
            "debug"
        ]
    );
}

#[test]
fn prompt_listing_describes_the_arguments() {
    let implement = prompts()
        .into_iter()
        .find(|p| p.name == "implement")
        .unwrap();
    let arg = |name: &str, description: &str, required: bool| PromptArgument {
        name: name.into(),
        description: Some(description.into()),
        required: Some(required),
    };
    assert_eq!(
        implement,
        Prompt {
            name: "implement".into(),
            title: Some("Implement a change".into()),
            description: Some(
                "The instructions the `implement` tool gives Codex, with its output schema, for use with any model."
                    .into()
            ),
            arguments: vec![
                arg("task", "The change to make, precisely: behaviour, interfaces, edge cases.", true),
                arg(
                    "target_files",
                    "Files to create or change (paths relative to your workspace). Codex may touch others when the task needs it, and says so. One item per line, or a JSON array.",
                    true,
                ),
                arg("context_files", "Files to read for context but not change. One item per line, or a JSON array.", false),
                arg(
                    "requirements",
                    "Requirements the change must meet, one per item (style, tests, compatibility). One item per line, or a JSON array.",
                    false,
                ),
            ],
        }
    );
    let chat = prompts().into_iter().find(|p| p.name == "chat").unwrap();
    let previous = chat
        .arguments
        .iter()
        .find(|a| a.name == "previous_messages")
        .unwrap();
    assert!(
        previous
            .description
            .as_deref()
            .unwrap()
            .ends_with("As JSON: an array of objects with content, role."),
        "{previous:?}"
    );
    for prompt in prompts() {
        assert!(
            prompt
                .arguments
                .iter()
                .all(|a| a.name != "agent_id" && a.name != "timeout_seconds")
        );
    }
}

#[test]
fn rendering_gives_the_tool_prompt_and_the_schema() {
    let rendered = render_prompt(
        "plan",
        &args(json!({"task": "Add caching", "constraints": "no new dependencies\n\n  keep the API  \n"})),
    )
    .unwrap();
    let call = prepare(
        "plan",
        &args(
            json!({"task": "Add caching", "constraints": ["no new dependencies", "keep the API"]}),
        ),
    )
    .unwrap();
    let schema = serde_json::to_string_pretty(&call.codex_output_schema).unwrap();
    let expected = GetPromptResult {
        description: Some("Plan a change".into()),
        messages: vec![PromptMessage {
            role: Role::User,
            content: Content::text(format!(
                "{}\n## Output schema\nThe final JSON object must match this JSON Schema:\n```\n{schema}\n```\n",
                call.prompt
            )),
        }],
    };
    assert_eq!(rendered, expected);
}

#[test]
fn structured_arguments_can_be_json_text_or_json() {
    let from_text = render_prompt(
        "chat",
        &args(json!({
            "message": "next?",
            "previous_messages": "[{\"role\": \"user\", \"content\": \"first\"}]",
            "reference_files": "[\"a.rs\", \"b.rs\"]",
        })),
    )
    .unwrap();
    let from_json = render_prompt(
        "codex_chat",
        &args(json!({
            "message": "next?",
            "previous_messages": [{"role": "user", "content": "first"}],
            "reference_files": ["a.rs", "b.rs"],
        })),
    )
    .unwrap();
    assert_eq!(from_text, from_json);
    let text = text_of(&from_text);
    assert!(text.contains("user:\n```\nfirst\n```"), "{text}");
    assert!(text.contains("- a.rs\n- b.rs"), "{text}");

    let audit = render_prompt(
        "audit",
        &args(json!({"code": "x", "severity_threshold": "high"})),
    )
    .unwrap();
    assert!(text_of(&audit).contains("severity high or higher"));
}

#[test]
fn bad_prompt_arguments_are_named() {
    let cases = [
        (
            "health_check",
            json!({}),
            r#"unknown prompt "health_check""#,
        ),
        ("nope", json!({}), r#"unknown prompt "nope""#),
        ("plan", json!({}), "task is required"),
        ("plan", json!({"task": ""}), "task must not be empty"),
        (
            "plan",
            json!({"task": "t", "agent_id": "a"}),
            "unknown argument agent_id; accepted: constraints, repo_context, task",
        ),
        (
            "chat",
            json!({"message": "m", "previous_messages": "user: hi"}),
            "previous_messages must be JSON for an array of objects with content, role, got text that is not JSON",
        ),
        (
            "chat",
            json!({"message": "m", "previous_messages": "[{\"role\": \"robot\", \"content\": \"x\"}]"}),
            r#"previous_messages[0].role must be one of "user", "assistant", got "robot""#,
        ),
        (
            "audit",
            json!({"code": "x", "severity_threshold": "urgent"}),
            r#"severity_threshold must be one of "info", "low", "medium", "high", "critical", got "urgent""#,
        ),
        (
            "implement",
            json!({"task": "t", "target_files": "\n \n"}),
            "target_files must be a non-empty array of strings, got an empty array",
        ),
        (
            "fix",
            json!({}),
            "give at least one of failing_tests, error_output, context_files, symptoms",
        ),
    ];
    for (name, arguments, expected) in cases {
        let err = render_prompt(name, &args(arguments.clone())).unwrap_err();
        assert_eq!(err.to_string(), expected, "{name} {arguments}");
    }
    let err = render_prompt("plan", &Map::new()).unwrap_err();
    assert_eq!(
        serde_json::to_value(err.to_error_object()).unwrap(),
        json!({"code": -32602, "message": "Invalid params: task is required", "data": {"argument": "task"}})
    );
}
