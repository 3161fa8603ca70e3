//! Arguments that `prepare` and `prepare_server` refuse, and the errors naming them.

use codex_mcp_tools::{ArgumentError, find, prepare, prepare_server};
use pretty_assertions::assert_eq;
use serde_json::{Map, Value, json};

fn args(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn error(tool: &str, arguments: Value) -> String {
    let result = if find(tool).is_some_and(|t| t.codex().is_none()) {
        prepare_server(tool, &args(arguments)).map(|_| ())
    } else {
        prepare(tool, &args(arguments)).map(|_| ())
    };
    result
        .expect_err("the arguments should be refused")
        .to_string()
}

#[test]
fn bad_arguments_are_named() {
    let cases = [
        ("plan", json!({}), "task is required"),
        ("plan", json!({"task": null}), "task is required"),
        ("plan", json!({"task": "   \n"}), "task must not be empty"),
        (
            "plan",
            json!({"task": 3}),
            "task must be a string, got a number",
        ),
        (
            "plan",
            json!({"task": "t", "constraints": "one"}),
            "constraints must be an array of strings, got a string",
        ),
        (
            "plan",
            json!({"task": "t", "bogus": 1, "another": 2}),
            "unknown arguments another, bogus; accepted: agent_id, background, constraints, repo_context, task, timeout_seconds",
        ),
        (
            "plan",
            json!({"task": "t", "agent_id": "a b"}),
            r#"agent_id "a b" is invalid: use 1-64 of A-Za-z0-9_.- (and not "." or "..")"#,
        ),
        (
            "plan",
            json!({"task": "t", "agent_id": ""}),
            r#"agent_id "" is invalid: use 1-64 of A-Za-z0-9_.- (and not "." or "..")"#,
        ),
        (
            "plan",
            json!({"task": "t", "agent_id": 5}),
            "agent_id must be a string, got a number",
        ),
        (
            "plan",
            json!({"task": "t", "timeout_seconds": 0}),
            "timeout_seconds must be an integer from 1 to 7200, got 0",
        ),
        (
            "plan",
            json!({"task": "t", "timeout_seconds": 7201}),
            "timeout_seconds must be an integer from 1 to 7200, got 7201",
        ),
        (
            "plan",
            json!({"task": "t", "timeout_seconds": 1.5}),
            "timeout_seconds must be an integer from 1 to 7200, got a number",
        ),
        (
            "plan",
            json!({"task": "t", "timeout_seconds": "60"}),
            "timeout_seconds must be an integer from 1 to 7200, got a string",
        ),
        (
            "implement",
            json!({"task": "t"}),
            "target_files is required",
        ),
        (
            "implement",
            json!({"task": "t", "target_files": 3}),
            "target_files must be a non-empty array of strings, got a number",
        ),
        (
            "implement",
            json!({"task": "t", "target_files": []}),
            "target_files must be a non-empty array of strings, got an empty array",
        ),
        (
            "implement",
            json!({"task": "t", "target_files": ["a", 3]}),
            "target_files[1] must be a string, got a number",
        ),
        (
            "implement",
            json!({"task": "t", "target_files": [" "]}),
            "target_files[0] must not be empty",
        ),
        (
            "review",
            json!({"content": {"code": "x"}}),
            "content must be a string, got an object",
        ),
        (
            "fix",
            json!({}),
            "give at least one of failing_tests, error_output, context_files, symptoms",
        ),
        (
            "fix",
            json!({"symptoms": "  ", "failing_tests": []}),
            "give at least one of failing_tests, error_output, context_files, symptoms",
        ),
        ("chat", json!({"message": ""}), "message must not be empty"),
        (
            "chat",
            json!({"message": "m", "previous_messages": [{"role": "system", "content": "x"}]}),
            r#"previous_messages[0].role must be one of "user", "assistant", got "system""#,
        ),
        (
            "chat",
            json!({"message": "m", "previous_messages": [{"role": "user"}]}),
            "previous_messages[0].content is required",
        ),
        (
            "chat",
            json!({"message": "m", "previous_messages": [{"role": "user", "content": "x", "name": "y"}]}),
            "unknown argument previous_messages[0].name; accepted: previous_messages[0].content, previous_messages[0].role",
        ),
        (
            "chat",
            json!({"message": "m", "previous_messages": ["hi"]}),
            "previous_messages[0] must be an object with content, role, got a string",
        ),
        (
            "audit",
            json!({"code": "x", "severity_threshold": "severe"}),
            r#"severity_threshold must be one of "info", "low", "medium", "high", "critical", got "severe""#,
        ),
        (
            "debug",
            json!({"error_message": true}),
            "error_message must be a string, got a boolean",
        ),
        ("get_agent_status", json!({}), "agent_id is required"),
        (
            "get_agent_status",
            json!({"agent_id": "../etc"}),
            r#"agent_id "../etc" is invalid: use 1-64 of A-Za-z0-9_.- (and not "." or "..")"#,
        ),
        (
            "cleanup_inactive_agents",
            json!({"purge": "yes"}),
            "purge must be a boolean, got a string",
        ),
        (
            "cleanup_inactive_agents",
            json!({"idle_seconds": -1}),
            "idle_seconds must be an integer of at least 0, got -1",
        ),
        (
            "health_check",
            json!({"verbose": true}),
            "unknown argument verbose; accepted: agent_id",
        ),
    ];
    for (tool, arguments, expected) in cases {
        assert_eq!(
            error(tool, arguments.clone()),
            expected,
            "{tool} {arguments}"
        );
    }
}

#[test]
fn oversized_arguments_are_refused_with_their_size() {
    let content = "x".repeat(10 * 1024 * 1024);
    let err = prepare("review", &args(json!({ "content": content })))
        .map(|c| c.tool.name)
        .expect_err("10 MB is refused");
    assert_eq!(
        err.to_string(),
        "content is 10485760 bytes; the limit is 1048576"
    );
    assert_eq!(err.argument(), Some("content"));

    let files: Vec<String> = (0..40_000)
        .map(|i| format!("src/generated/file_{i:06}.rs"))
        .collect();
    let err = prepare(
        "implement",
        &args(json!({"task": "t", "target_files": files})),
    )
    .map(|c| c.tool.name)
    .expect_err("a list over the limit is refused");
    assert!(
        matches!(&err, ArgumentError::TooLarge { name, .. } if name == "target_files"),
        "{err}"
    );

    // Exactly at the limit is fine.
    let at_limit = "y".repeat(codex_mcp_tools::MAX_ARGUMENT_BYTES);
    assert!(prepare("review", &args(json!({ "content": at_limit }))).is_ok());

    // Each under the limit, together over it.
    let big = "z".repeat(1_000_000);
    let err = prepare(
        "debug",
        &args(json!({
            "error_message": big, "code_context": big, "stack_trace": big,
            "environment_info": big, "reproduction_steps": [big],
        })),
    )
    .map(|c| c.tool.name)
    .expect_err("5 MB in all is refused");
    assert_eq!(
        err,
        ArgumentError::TotalTooLarge {
            size: 5_000_000
                + 4
                + "error_message".len()
                + "code_context".len()
                + "stack_trace".len()
                + "environment_info".len()
                + "reproduction_steps".len(),
            limit: 4 * 1024 * 1024,
        }
    );
    assert!(
        err.to_string().starts_with("the arguments are 5000"),
        "{err}"
    );
}

#[test]
fn tools_and_kinds_are_checked() {
    assert_eq!(error("nope", json!({})), r#"unknown tool "nope""#);
    assert_eq!(
        prepare("health_check", &Map::new())
            .unwrap_err()
            .to_string(),
        "health_check is answered by the server, not by Codex"
    );
    assert_eq!(
        prepare_server("plan", &Map::new()).unwrap_err().to_string(),
        "plan is answered by Codex, not by the server"
    );
}
