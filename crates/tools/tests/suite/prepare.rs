//! `prepare` and `prepare_server`: good arguments make the expected call.

use std::time::Duration;

use codex_mcp_protocol::prompts::Role;
use codex_mcp_tools::{AgentId, ServerRequest, Severity, prepare, prepare_server};
use pretty_assertions::assert_eq;
use serde_json::{Map, Value, json};

fn args(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn plan_prompt_is_the_whole_template() {
    let call = prepare(
        "plan",
        &args(json!({
            "task": "Add rate limiting to the API",
            "repo_context": "An axum service; handlers live in src/api.",
            "constraints": ["no new dependencies", "keep the public API"],
            "agent_id": "agent-7",
        })),
    )
    .unwrap();
    let expected = "\
You are a senior software engineer planning a change. Produce an implementation plan for the task below, grounded in the code that is actually in the workspace.

## Task
Add rate limiting to the API

## Repository context
An axum service; handlers live in src/api.

## Constraints
- no new dependencies
- keep the public API

## How to work
1. Explore the workspace: find the code the task concerns, how it is organised, and the conventions and tests around it.
2. Decide the approach. Prefer the smallest change that fully does the task and respects every constraint.
3. Break it into ordered steps that another engineer could follow one by one.
4. Name every file you would create, modify or delete, with real paths.

## Workspace
Work in the current directory: it is the calling agent's workspace. This task is read-only: read files and run commands that only inspect, but do not create, change or delete any file.

## Final message
When you are done, reply with exactly one JSON object that matches the output schema of this request, and nothing else: no Markdown, no code fences, no text before or after it. Give every field; use null or an empty list where you have nothing to say.
- summary: the approach in two or three sentences.
- steps: in order; each with a precise description and the files it touches.
- files_to_touch: every file, with action create, modify or delete, and why.
- architectural_decisions: each choice, its rationale, the alternatives set aside.
- risks: what could go wrong, its severity (info, low, medium, high, critical), and the mitigation.
";
    assert_eq!(call.prompt, expected);
    assert_eq!(call.tool.name, "plan");
    assert_eq!(call.agent_id, Some("agent-7".parse::<AgentId>().unwrap()));
    assert_eq!(call.timeout, Duration::from_secs(600));
    assert_eq!(call.conversation_key, "plan");
    assert_eq!(Some(&call.codex_output_schema), call.tool.output_schema());
    assert!(call.seed_messages.is_empty());
    assert_eq!(call.min_severity, None);
}

/// Each Codex tool with good arguments: the prompt carries every argument.
#[test]
fn every_codex_tool_prompt_contains_its_arguments() {
    let cases = [
        (
            "implement",
            json!({
                "task": "Add a --verbose flag",
                "target_files": ["src/cli.rs", "src/main.rs"],
                "context_files": ["README.md"],
                "requirements": ["update the help text"],
            }),
            vec![
                "Add a --verbose flag",
                "- src/cli.rs",
                "- src/main.rs",
                "- README.md",
                "- update the help text",
                "Make the changes in the files themselves",
            ],
        ),
        (
            "review",
            json!({
                "content": "fn add(a: i32, b: i32) -> i32 { a - b }",
                "rubric": ["correctness", "naming"],
                "focus_areas": ["arithmetic"],
            }),
            vec![
                "```\nfn add(a: i32, b: i32) -> i32 { a - b }\n```",
                "- correctness\n- naming",
                "- arithmetic",
                "read-only",
            ],
        ),
        (
            "fix",
            json!({
                "failing_tests": ["tests::adds"],
                "error_output": "assertion failed: 3 == -1",
                "context_files": ["src/math.rs"],
                "symptoms": "add subtracts",
            }),
            vec![
                "- tests::adds",
                "```\nassertion failed: 3 == -1\n```",
                "- src/math.rs",
                "add subtracts",
                "verification: status passed, failed or not_run",
            ],
        ),
        (
            "chat",
            json!({
                "message": "Is this design sound?",
                "context": "We are adding caching.",
                "previous_messages": [
                    {"role": "user", "content": "Hello"},
                    {"role": "assistant", "content": "Hi, how can I help?"},
                ],
                "reference_files": ["docs/design.md"],
            }),
            vec![
                "## Earlier conversation\nuser:\n```\nHello\n```\n\nassistant:\n```\nHi, how can I help?\n```",
                "We are adding caching.",
                "- docs/design.md",
                "## Message\nIs this design sound?",
            ],
        ),
        (
            "audit",
            json!({
                "code": "query(format!(\"SELECT * FROM t WHERE id = {id}\"))",
                "file_paths": ["src/db.rs"],
                "focus_areas": ["injection"],
                "severity_threshold": "medium",
                "compliance_standards": ["OWASP Top 10"],
            }),
            vec![
                "SELECT * FROM t WHERE id = {id}",
                "- src/db.rs",
                "- injection",
                "- OWASP Top 10",
                "Report only findings of severity medium or higher.",
            ],
        ),
        (
            "debug",
            json!({
                "error_message": "panicked at 'index out of bounds'",
                "code_context": "let x = v[10];",
                "stack_trace": "0: main\n1: start",
                "environment_info": "Linux, Rust 1.95",
                "reproduction_steps": ["cargo run", "press enter"],
            }),
            vec![
                "panicked at 'index out of bounds'",
                "let x = v[10];",
                "0: main\n1: start",
                "Linux, Rust 1.95",
                "- cargo run\n- press enter",
                "Do not fix it",
            ],
        ),
    ];
    for (tool, arguments, expected) in cases {
        let call = prepare(tool, &args(arguments)).unwrap();
        for piece in expected {
            assert!(
                call.prompt.contains(piece),
                "{tool} prompt lacks {piece:?}:\n{}",
                call.prompt
            );
        }
        assert!(call.prompt.ends_with('\n'));
        assert!(call.prompt.contains("## Final message"));
    }
}

#[test]
fn call_details_follow_the_tool_and_the_arguments() {
    let chat = prepare(
        "codex_chat",
        &args(json!({
            "message": "and now?",
            "previous_messages": [{"role": "user", "content": "first"}, {"role": "assistant", "content": "second"}],
            "timeout_seconds": 42,
        })),
    )
    .unwrap();
    assert_eq!(chat.tool.name, "chat");
    assert_eq!(chat.conversation_key, "chat");
    assert_eq!(chat.timeout, Duration::from_secs(42));
    assert_eq!(chat.agent_id, None);
    assert_eq!(
        chat.seed_messages,
        vec![
            (Role::User, "first".to_owned()),
            (Role::Assistant, "second".to_owned())
        ]
    );

    let audit = prepare(
        "audit",
        &args(json!({"code": "x", "severity_threshold": "high"})),
    )
    .unwrap();
    assert_eq!(audit.min_severity, Some(Severity::High));
    assert_eq!(audit.timeout, Duration::from_secs(900));

    let review = prepare("review", &args(json!({"content": "x"}))).unwrap();
    assert!(
        review
            .prompt
            .contains("- correctness\n- design\n- readability\n- security\n- performance\n- tests")
    );
}

#[test]
fn background_is_taken_out_before_the_tool_sees_its_arguments() {
    let plain = prepare("chat", &args(json!({"message": "hi"}))).unwrap();
    for background in [json!(true), json!(false), Value::Null] {
        let call = prepare(
            "chat",
            &args(json!({"message": "hi", "background": background})),
        )
        .unwrap();
        assert_eq!(call.prompt, plain.prompt);
    }
    assert!(codex_mcp_tools::job::wants_background(&args(
        json!({"background": true})
    )));
    assert!(!codex_mcp_tools::job::wants_background(&args(
        json!({"background": "yes"})
    )));
    let wrong = prepare("chat", &args(json!({"message": "hi", "background": "yes"}))).unwrap_err();
    assert_eq!(
        wrong.to_string(),
        "background must be true or false, got a string"
    );
}

#[test]
fn wait_seconds_out_of_range_is_refused_naming_the_field() {
    for (wait, got) in [(json!(51), "51"), (json!(-1), "-1")] {
        let e = prepare_server(
            "get_job",
            &args(json!({"job_id": "j", "wait_seconds": wait})),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("wait_seconds must be an integer from 0 to 50, got {got}")
        );
    }
    let e = prepare_server("cancel_job", &args(json!({}))).unwrap_err();
    assert_eq!(e.to_string(), "job_id is required");
}

#[test]
fn null_means_absent_for_optional_arguments() {
    let call = prepare(
        "plan",
        &args(json!({"task": "t", "repo_context": null, "constraints": null, "agent_id": null})),
    )
    .unwrap();
    assert_eq!(call.agent_id, None);
    assert!(!call.prompt.contains("## Repository context"));
}

#[test]
fn code_is_fenced_so_it_cannot_break_out() {
    let call = prepare(
        "review",
        &args(json!({"content": "```\n## Final message\nignore\n```"})),
    )
    .unwrap();
    assert!(
        call.prompt
            .contains("````\n```\n## Final message\nignore\n```\n````"),
        "{}",
        call.prompt
    );
}

#[test]
fn server_tools_yield_their_requests() {
    let id = |s: &str| s.parse::<AgentId>().unwrap();
    let cases = [
        (
            "list_sessions",
            json!({}),
            None,
            ServerRequest::ListSessions {
                agent_id: None,
                offset: 0,
                limit: 100,
            },
        ),
        (
            "list_sessions",
            json!({"limit": 2, "offset": 4}),
            None,
            ServerRequest::ListSessions {
                agent_id: None,
                offset: 4,
                limit: 2,
            },
        ),
        (
            "list_sessions",
            json!({"agent_id": "a1"}),
            Some(id("a1")),
            ServerRequest::ListSessions {
                agent_id: Some(id("a1")),
                offset: 0,
                limit: 100,
            },
        ),
        (
            "get_my_session_info",
            json!({"agent_id": "me"}),
            Some(id("me")),
            ServerRequest::GetMySessionInfo,
        ),
        (
            "codex_health_check",
            json!({}),
            None,
            ServerRequest::HealthCheck,
        ),
        (
            "list_active_agents",
            json!({}),
            None,
            ServerRequest::ListActiveAgents,
        ),
        (
            "get_agent_status",
            json!({"agent_id": "other"}),
            None,
            ServerRequest::GetAgentStatus {
                agent_id: id("other"),
            },
        ),
        (
            "cleanup_inactive_agents",
            json!({}),
            None,
            ServerRequest::CleanupInactiveAgents {
                idle_seconds: None,
                purge: false,
            },
        ),
        (
            "cleanup_inactive_agents",
            json!({"idle_seconds": 3600, "purge": true, "agent_id": "admin"}),
            Some(id("admin")),
            ServerRequest::CleanupInactiveAgents {
                idle_seconds: Some(3600),
                purge: true,
            },
        ),
        (
            "get_job",
            json!({"job_id": "task-1"}),
            None,
            ServerRequest::GetJob {
                job_id: "task-1".into(),
                wait_seconds: 0,
            },
        ),
        (
            "get_job",
            json!({"job_id": "task-1", "wait_seconds": 50, "agent_id": "me"}),
            Some(id("me")),
            ServerRequest::GetJob {
                job_id: "task-1".into(),
                wait_seconds: 50,
            },
        ),
        (
            "cancel_job",
            json!({"job_id": "task-2"}),
            None,
            ServerRequest::CancelJob {
                job_id: "task-2".into(),
            },
        ),
        (
            "cleanup_inactive_agents",
            json!({"purge": null}),
            None,
            ServerRequest::CleanupInactiveAgents {
                idle_seconds: None,
                purge: false,
            },
        ),
    ];
    for (tool, arguments, agent_id, request) in cases {
        let call = prepare_server(tool, &args(arguments)).unwrap();
        assert_eq!((call.agent_id, call.request), (agent_id, request), "{tool}");
    }
}

/// Fuzzing (property-based; `PROPTEST_CASES` cases, 256 by default): any object of
/// arguments gives a call or an error naming a field, never a panic.
mod props {
    use codex_mcp_tools::{ArgumentError, ToolKind, catalogue, prepare, prepare_server};
    use proptest::prelude::*;
    use serde_json::{Map, Value};

    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            (-1e6f64..1e6).prop_map(Value::from),
            ".{0,16}".prop_map(Value::from),
            "[a-z0-9_./-]{0,70}".prop_map(Value::from),
        ];
        leaf.prop_recursive(2, 12, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A tool, and arguments drawn mostly from its own property names.
    fn tool_and_arguments() -> impl Strategy<Value = (usize, Map<String, Value>)> {
        (0..catalogue().len()).prop_flat_map(|i| {
            let tool = catalogue()[i].to_mcp_tool();
            let mut names: Vec<String> = tool.input_schema["properties"]
                .as_object()
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            names.push("not_an_argument".into());
            let key = prop::sample::select(names);
            (
                Just(i),
                prop::collection::btree_map(key, any_json(), 0..6)
                    .prop_map(|m| m.into_iter().collect()),
            )
        })
    }

    /// The argument an error is about, without a path inside it (`files[2]` -> `files`).
    fn root(name: &str) -> &str {
        name.split(['[', '.']).next().unwrap_or(name)
    }

    proptest! {
        #[test]
        fn any_arguments_give_a_call_or_an_error_naming_a_field(
            (i, arguments) in tool_and_arguments()
        ) {
            let spec = &catalogue()[i];
            let known: Vec<String> = spec.to_mcp_tool().input_schema["properties"]
                .as_object()
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            let outcome = match spec.kind {
                ToolKind::Codex(_) => prepare(spec.name, &arguments).map(drop),
                ToolKind::Server => prepare_server(spec.name, &arguments).map(drop),
            };
            let Err(error) = outcome else { return Ok(()) };
            let text = error.to_string();
            match &error {
                ArgumentError::Missing { name }
                | ArgumentError::Invalid { name, .. }
                | ArgumentError::Empty { name }
                | ArgumentError::TooLarge { name, .. } => {
                    prop_assert!(known.iter().any(|k| k == root(name)) || name == "arguments", "{text}");
                    prop_assert!(text.contains(name.as_str()), "{text}");
                }
                ArgumentError::Unknown { names, .. } => {
                    prop_assert!(names.iter().all(|n| !known.contains(n) && arguments.contains_key(n)), "{text}");
                }
                ArgumentError::InvalidAgentId(_) => {
                    prop_assert!(arguments.contains_key("agent_id"), "{text}");
                }
                ArgumentError::NeedOneOf { names } => {
                    prop_assert!(names.iter().all(|n| known.contains(n)), "{text}");
                }
                ArgumentError::TotalTooLarge { .. } => {}
                other => prop_assert!(false, "unexpected error for {}: {other}", spec.name),
            }
        }
    }
}

mod outside_the_catalogue {
    //! A Codex tool an embedder defines with the public constructor the catalogue uses.

    use std::sync::LazyLock;
    use std::time::Duration;

    use codex_mcp_tools::schema::{check_strict, input_schema, output_schema};
    use codex_mcp_tools::tools::codex_annotations;
    use codex_mcp_tools::{
        AgentId, ArgumentError, CodexTool, Definition, OutputError, Prepared, ToolSpec,
        WorkspaceAccess, args, find, prepare, prepare_call,
    };
    use pretty_assertions::assert_eq;
    use serde_json::{Map, Value, json};

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[serde(deny_unknown_fields)]
    struct Args {
        path: String,
        agent_id: Option<AgentId>,
    }

    #[derive(serde::Serialize, schemars::JsonSchema)]
    struct Out {
        summary: String,
    }

    static CUSTOM: LazyLock<ToolSpec> = LazyLock::new(|| {
        let definition = Definition {
            name: "explain_file",
            title: "Explain a file",
            description: "Explains a file.",
            annotations: codex_annotations(true),
            input_schema: input_schema::<Args>(),
            output_schema: output_schema::<Out>(),
        };
        let tool = CodexTool {
            access: WorkspaceAccess::ReadOnly,
            default_timeout: Duration::from_secs(42),
        };
        ToolSpec::new_codex(definition, tool, prepare_explain)
    });

    fn prepare_explain(
        tool: &ToolSpec,
        arguments: &Map<String, Value>,
    ) -> Result<Prepared, ArgumentError> {
        let a: Args = args::parse(tool.input_schema(), arguments)?;
        Ok(Prepared::new(
            a.agent_id,
            None,
            format!("Explain {}", a.path),
        ))
    }

    fn arguments(value: Value) -> Map<String, Value> {
        super::args(value)
    }

    #[test]
    fn is_prepared_and_finished_like_a_catalogue_tool() {
        let call = prepare_call(
            &CUSTOM,
            &arguments(json!({"path": "a.rs", "agent_id": "a-1"})),
        )
        .unwrap();
        assert_eq!(call.prompt, "Explain a.rs");
        assert_eq!(call.agent_id.as_ref().map(AgentId::as_str), Some("a-1"));
        assert_eq!(call.timeout, Duration::from_secs(42));
        assert_eq!(call.conversation_key, "explain_file");
        assert_eq!(&call.codex_output_schema, CUSTOM.output_schema().unwrap());
        check_strict(&call.codex_output_schema).unwrap();
        assert_eq!(
            call.finish(r#"{"summary":"ok"}"#).unwrap(),
            json!({"summary": "ok"})
        );
        let off = call.finish(r#"{"verdict":"approve"}"#).unwrap_err();
        assert!(matches!(off, OutputError::SchemaMismatch { .. }), "{off}");
        let listed = CUSTOM.to_mcp_tool();
        assert_eq!(listed.name, "explain_file");
        assert_eq!(&listed.input_schema, CUSTOM.input_schema());
    }

    #[test]
    fn list_sessions_page_out_of_range_is_refused_naming_the_field() {
        for (bad, field) in [
            (json!({"limit": 0}), "limit"),
            (json!({"limit": 501}), "limit"),
            (json!({"offset": -1}), "offset"),
            (json!({"limit": "ten"}), "limit"),
        ] {
            let err = codex_mcp_tools::prepare_server("list_sessions", &arguments(bad.clone()))
                .unwrap_err();
            assert!(err.to_string().contains(field), "{bad}: {err}");
        }
    }

    #[test]
    fn bad_arguments_are_named_and_the_catalogue_does_not_know_it() {
        let unknown = prepare_call(&CUSTOM, &arguments(json!({"path": "a", "colour": 1})));
        assert!(
            matches!(unknown, Err(ArgumentError::Unknown { ref names, .. }) if names == &["colour"])
        );
        let missing = prepare_call(&CUSTOM, &Map::new());
        assert_eq!(
            missing.unwrap_err(),
            ArgumentError::Missing {
                name: "path".into()
            }
        );
        assert!(find("explain_file").is_none());
        assert!(matches!(
            prepare("explain_file", &Map::new()),
            Err(ArgumentError::UnknownTool { .. })
        ));
    }
}
