//! The catalogue as a whole: names, order, kinds, hints and schemas.

use std::time::Duration;

use codex_mcp_protocol::tools::{ToolAnnotations, is_valid_tool_name};
use codex_mcp_tools::schema::check_strict;
use codex_mcp_tools::{CodexTool, ToolKind, WorkspaceAccess, catalogue, find};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const NAMES: [&str; 15] = [
    "plan",
    "implement",
    "review",
    "fix",
    "chat",
    "audit",
    "debug",
    "list_sessions",
    "get_my_session_info",
    "health_check",
    "list_active_agents",
    "get_agent_status",
    "cleanup_inactive_agents",
    "get_job",
    "cancel_job",
];

#[test]
fn fifteen_tools_in_a_stable_order() {
    let names: Vec<&str> = catalogue().iter().map(|t| t.name).collect();
    assert_eq!(names, NAMES);
    // Built once: the same slice every time.
    assert!(std::ptr::eq(catalogue(), catalogue()));
}

#[test]
fn names_are_valid_mcp_tool_names_and_unique() {
    for tool in catalogue() {
        assert!(is_valid_tool_name(tool.name), "{}", tool.name);
        assert_eq!(find(tool.name).map(|t| t.name), Some(tool.name));
    }
}

#[test]
fn original_codex_names_are_aliases() {
    for name in NAMES {
        assert_eq!(find(&format!("codex_{name}")).map(|t| t.name), Some(name));
    }
    assert!(find("codex_").is_none());
    assert!(find("nope").is_none());
    assert!(find("codex_nope").is_none());
    assert!(find("PLAN").is_none());
}

#[test]
fn codex_tools_run_as_documented() {
    let codex = |access, secs| {
        ToolKind::Codex(CodexTool {
            access,
            default_timeout: Duration::from_secs(secs),
        })
    };
    use WorkspaceAccess::{ReadOnly, Writes};
    let kinds: Vec<(&str, ToolKind)> = catalogue().iter().map(|t| (t.name, t.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            ("plan", codex(ReadOnly, 600)),
            ("implement", codex(Writes, 1800)),
            ("review", codex(ReadOnly, 600)),
            ("fix", codex(Writes, 1800)),
            ("chat", codex(ReadOnly, 300)),
            ("audit", codex(ReadOnly, 900)),
            ("debug", codex(ReadOnly, 600)),
            ("list_sessions", ToolKind::Server),
            ("get_my_session_info", ToolKind::Server),
            ("health_check", ToolKind::Server),
            ("list_active_agents", ToolKind::Server),
            ("get_agent_status", ToolKind::Server),
            ("cleanup_inactive_agents", ToolKind::Server),
            ("get_job", ToolKind::Server),
            ("cancel_job", ToolKind::Server),
        ]
    );
}

#[test]
fn annotations_match_what_each_tool_does() {
    // (read-only, destructive, idempotent, open world)
    let hints: Vec<(&str, [Option<bool>; 4])> = catalogue()
        .iter()
        .map(|t| {
            let a = &t.annotations;
            let hints = [
                a.read_only_hint,
                a.destructive_hint,
                a.idempotent_hint,
                a.open_world_hint,
            ];
            (t.name, hints)
        })
        .collect();
    let codex_read = [Some(true), Some(false), Some(false), Some(true)];
    let codex_write = [Some(false), Some(false), Some(false), Some(true)];
    let server_read = [Some(true), Some(false), Some(true), Some(false)];
    let cleanup = [Some(false), Some(true), Some(true), Some(false)];
    assert_eq!(
        hints,
        vec![
            ("plan", codex_read),
            ("implement", codex_write),
            ("review", codex_read),
            ("fix", codex_write),
            ("chat", codex_read),
            ("audit", codex_read),
            ("debug", codex_read),
            ("list_sessions", server_read),
            ("get_my_session_info", server_read),
            ("health_check", server_read),
            ("list_active_agents", server_read),
            ("get_agent_status", server_read),
            ("cleanup_inactive_agents", cleanup),
            ("get_job", server_read),
            ("cancel_job", cleanup),
        ]
    );
    for tool in catalogue() {
        assert_eq!(tool.annotations.title.as_deref(), Some(tool.title));
    }
}

#[test]
fn every_schema_is_an_object_schema() {
    for tool in catalogue() {
        let input = tool.input_schema();
        assert_eq!(input["type"], "object", "{} input", tool.name);
        assert_eq!(input["additionalProperties"], false, "{} input", tool.name);
        assert!(input["properties"].is_object(), "{} input", tool.name);
        let output = tool
            .output_schema()
            .expect("every tool has an output schema");
        assert_eq!(output["type"], "object", "{} output", tool.name);
        for keyword in ["$schema", "title", "$defs"] {
            assert!(
                input.get(keyword).is_none(),
                "{} input has {keyword}",
                tool.name
            );
            assert!(
                output.get(keyword).is_none(),
                "{} output has {keyword}",
                tool.name
            );
        }
    }
}

#[test]
fn every_output_schema_meets_the_strict_rules() {
    for tool in catalogue() {
        let output = tool.output_schema().unwrap();
        assert_eq!(check_strict(output), Ok(()), "{}", tool.name);
    }
}

#[test]
fn every_tool_takes_an_agent_id_and_codex_tools_a_timeout_and_background() {
    for tool in catalogue() {
        let properties = &tool.input_schema()["properties"];
        assert_eq!(
            properties["agent_id"]["pattern"], "^[A-Za-z0-9_.-]{1,64}$",
            "{}",
            tool.name
        );
        let timeout = &properties["timeout_seconds"];
        let background = &properties["background"];
        if tool.codex().is_some() {
            assert_eq!(timeout["type"], "integer", "{}", tool.name);
            assert_eq!(timeout["minimum"], 1, "{}", tool.name);
            assert_eq!(timeout["maximum"], 7200, "{}", tool.name);
            assert_eq!(
                background,
                &json!({"type": "boolean", "description": codex_mcp_tools::job::BACKGROUND_DOC}),
                "{}",
                tool.name
            );
            // The description tells an agent when to use it.
            assert!(
                tool.description.contains("background: true"),
                "{}",
                tool.name
            );
        } else {
            assert!(timeout.is_null(), "{}", tool.name);
            assert!(background.is_null(), "{}", tool.name);
        }
    }
}

#[test]
fn required_arguments_are_as_documented() {
    let required: Vec<(&str, Vec<&str>)> = catalogue()
        .iter()
        .map(|t| {
            let names = t.input_schema()["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            (t.name, names)
        })
        .collect();
    assert_eq!(
        required,
        vec![
            ("plan", vec!["task"]),
            ("implement", vec!["task", "target_files"]),
            ("review", vec!["content"]),
            ("fix", vec![]),
            ("chat", vec!["message"]),
            ("audit", vec!["code"]),
            ("debug", vec!["error_message"]),
            ("list_sessions", vec![]),
            ("get_my_session_info", vec![]),
            ("health_check", vec![]),
            ("list_active_agents", vec![]),
            ("get_agent_status", vec!["agent_id"]),
            ("cleanup_inactive_agents", vec![]),
            ("get_job", vec!["job_id"]),
            ("cancel_job", vec!["job_id"]),
        ]
    );
}

#[test]
fn mcp_listing_carries_everything() {
    let plan = find("plan").unwrap();
    let listed = plan.to_mcp_tool();
    assert_eq!(listed.name, "plan");
    assert_eq!(listed.title.as_deref(), Some("Plan a change"));
    assert_eq!(listed.description.as_deref(), Some(plan.description));
    assert_eq!(&listed.input_schema, plan.input_schema());
    // The MCP output schema admits the plan or the answer of a background call; the
    // plan's own schema alone stays Codex's `--output-schema`.
    let job_started = codex_mcp_tools::schema::output_schema::<codex_mcp_tools::job::JobStarted>();
    assert_eq!(
        listed.output_schema,
        Some(json!({"type": "object", "anyOf": [plan.output_schema().unwrap(), job_started]}))
    );
    assert_eq!(
        listed.annotations,
        Some(ToolAnnotations {
            title: Some("Plan a change".into()),
            read_only_hint: Some(true),
            destructive_hint: Some(false),
            idempotent_hint: Some(false),
            open_world_hint: Some(true),
        })
    );
    // It serializes as tools/list expects.
    let json = serde_json::to_value(&listed).unwrap();
    assert!(json.get("inputSchema").is_some() && json.get("outputSchema").is_some());
}

#[test]
fn descriptions_tell_an_agent_what_it_gets() {
    for tool in catalogue() {
        assert!(tool.description.len() > 150, "{} is too terse", tool.name);
        assert!(!tool.title.is_empty());
    }
}

/// docs/tools.md names every tool, every argument and every result field.
#[test]
fn the_tools_page_keeps_up_with_the_catalogue() {
    let page = include_str!("../../../../docs/tools.md");
    let fields = |schema: &Value| -> Vec<String> {
        schema["properties"]
            .as_object()
            .map(|p| p.keys().cloned().collect())
            .unwrap_or_default()
    };
    for tool in catalogue() {
        assert!(
            page.contains(&format!("| `{}` |", tool.name)),
            "{} is not listed",
            tool.name
        );
        let mut names = fields(tool.input_schema());
        names.extend(fields(tool.output_schema().unwrap()));
        for name in names {
            assert!(
                page.contains(&format!("`{name}")),
                "{}: `{name}` is not described",
                tool.name
            );
        }
    }
}
