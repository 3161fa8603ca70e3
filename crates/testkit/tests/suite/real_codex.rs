//! Proves the kit against the REAL Codex CLI 0.169.0 (only the model is scripted): text,
//! structured output, commands, resume, credentials, routing. Run with `--nocapture` to
//! see each run's events, exit code and stderr (recorded in docs/testing.md).

use super::common;

use std::path::Path;
use std::time::Duration;

use codex_mcp_testkit::{Auth, CodexHome, NETWORK_FEATURES, Reply, Usage, run_codex, temp_dir};
use common::{
    Kit, LIMIT, assert_codex_sandbox_started, assert_only_known_paths, first_tool_output, show,
};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

#[tokio::test]
async fn a_text_reply_gives_thread_message_and_scripted_usage() {
    let Some(kit) = Kit::new().await else { return };
    let usage = Usage::new(1234, 56).cached(200).reasoning(7);
    kit.model
        .push(Reply::text("hello from the script").with_usage(usage));

    let out = kit.exec("read-only", &[], "say hello").await;

    assert_eq!(out.code, Some(0));
    assert_eq!(
        out.event_types(),
        [
            "thread.started",
            "turn.started",
            "item.completed:agent_message",
            "turn.completed"
        ]
    );
    assert!(out.thread_id().is_some_and(|t| t.len() == 36));
    assert_eq!(out.last_agent_message(), Some("hello from the script"));
    assert_eq!(
        out.usage(),
        Some(&json!({
            "input_tokens": 1234, "cached_input_tokens": 200, "cache_write_input_tokens": 0,
            "output_tokens": 56, "reasoning_output_tokens": 7
        }))
    );
    assert_eq!(out.stderr, "", "with `-` Codex prints nothing on stderr");
    let reqs = kit.model.responses_requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].user_texts(), ["say hello"]);
    assert_eq!(reqs[0].thread_id(), out.thread_id());
    assert_eq!(reqs[0].body["stream"], true);
    assert!(reqs[0].tool_names().iter().any(|t| t == "exec_command"));
    assert!(!reqs[0].wants_json_schema());
    assert_eq!(
        kit.model.requests().len(),
        1,
        "API-key Codex makes no other request"
    );
}

#[tokio::test]
async fn a2_prompt_forms_on_stdin() {
    let Some(kit) = Kit::new().await else { return };
    kit.model.set_fallback(Reply::text("ok"));
    // No prompt argument: Codex reads stdin and says so on stderr.
    let out = run_codex(kit.exec_command("read-only"), "from stdin", LIMIT)
        .await
        .unwrap();
    show("no prompt arg", &out);
    assert_eq!(out.code, Some(0));
    assert_eq!(out.stderr.trim(), "Reading prompt from stdin...");
    // `-` with empty stdin: refused before any thread starts.
    let mut cmd = kit.exec_command("read-only");
    cmd.arg("-");
    let out = run_codex(cmd, "", LIMIT).await.unwrap();
    show("empty stdin", &out);
    assert_eq!(out.code, Some(1));
    assert!(out.events.is_empty());
    assert_eq!(out.stderr.trim(), "No prompt provided via stdin.");
    // A prompt argument plus stdin: stdin is appended in a <stdin> block.
    let mut cmd = kit.exec_command("read-only");
    cmd.arg("the prompt");
    let out = run_codex(cmd, "piped text", LIMIT).await.unwrap();
    assert_eq!(out.code, Some(0));
    assert_eq!(out.stderr.trim(), "Reading additional input from stdin...");
    let last = kit.model.responses_requests().pop().unwrap();
    assert_eq!(
        last.last_user_text().as_deref(),
        Some("the prompt\n\n<stdin>\npiped text\n</stdin>")
    );
    assert_eq!(kit.model.responses_requests().len(), 2);
}

#[tokio::test]
async fn b_output_schema_request_gets_json_reply() {
    let Some(kit) = Kit::new().await else { return };
    let schema = json!({
        "type": "object",
        "properties": {"answer": {"type": "string"}, "score": {"type": "integer"}},
        "required": ["answer", "score"],
        "additionalProperties": false
    });
    let schema_file = kit.work().join("schema.json");
    std::fs::write(&schema_file, schema.to_string()).unwrap();
    let last_file = kit.work().join("last.txt");
    let answer = json!({"answer": "42", "score": 7});
    kit.model.push(Reply::json(answer.clone()));

    let schema_arg = schema_file.to_str().unwrap();
    let last_arg = last_file.to_str().unwrap();
    let out = kit
        .exec(
            "read-only",
            &["--output-schema", schema_arg, "-o", last_arg],
            "json please",
        )
        .await;

    assert_eq!(out.code, Some(0));
    let last: Value = serde_json::from_str(out.last_agent_message().unwrap()).unwrap();
    assert_eq!(last, answer);
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&last_file).unwrap()).unwrap();
    assert_eq!(written, answer);
    let req = &kit.model.responses_requests()[0];
    assert!(req.wants_json_schema());
    assert_eq!(req.json_schema(), Some(&schema));
    assert_eq!(
        req.body.pointer("/text/format/name"),
        Some(&json!("codex_output_schema"))
    );
    assert_eq!(req.body.pointer("/text/format/strict"), Some(&json!(true)));
}

#[tokio::test]
async fn b2_output_schema_is_not_enforced_by_codex() {
    let Some(kit) = Kit::new().await else { return };
    let schema_file = kit.work().join("schema.json");
    std::fs::write(&schema_file, r#"{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}"#).unwrap();
    kit.model.push(Reply::text("not json at all"));
    let out = kit
        .exec(
            "read-only",
            &["--output-schema", schema_file.to_str().unwrap()],
            "q",
        )
        .await;
    // The server, not Codex, must validate the final message.
    assert_eq!(out.code, Some(0));
    assert_eq!(out.last_agent_message(), Some("not json at all"));
}

#[tokio::test]
async fn b3_last_message_file_path_must_be_normalized() {
    let Some(kit) = Kit::new().await else { return };
    kit.model.push(Reply::text("never asked"));
    let odd = format!(
        "{}/../{}/last.txt",
        kit.work().display(),
        kit.work().file_name().unwrap().to_str().unwrap()
    );
    let out = kit.exec("read-only", &["-o", &odd], "q").await;
    // Codex refuses before starting a thread: exit 1, no JSONL, "Error: ..." on stderr.
    assert_eq!(out.code, Some(1));
    assert!(out.events.is_empty());
    assert!(
        out.stderr
            .contains("no-follow filesystem operations require a normalized path")
    );
    assert!(kit.model.responses_requests().is_empty());
}

#[tokio::test]
async fn c_exec_command_writes_a_file_in_workspace_write() {
    let Some(kit) = Kit::new().await else { return };
    kit.model
        .push(Reply::exec_command("echo hi > f.txt").with_usage(Usage::new(100, 10)));
    kit.model
        .push(Reply::text("wrote it").with_usage(Usage::new(200, 20)));

    let out = kit.exec("workspace-write", &[], "write f.txt").await;

    assert_codex_sandbox_started(&first_tool_output(&kit.model));
    assert_eq!(out.code, Some(0));
    assert_eq!(
        std::fs::read_to_string(kit.work().join("f.txt")).unwrap(),
        "hi\n"
    );
    assert_eq!(
        out.event_types(),
        [
            "thread.started",
            "turn.started",
            "item.started:command_execution",
            "item.completed:command_execution",
            "item.completed:agent_message",
            "turn.completed"
        ]
    );
    let cmd = out.completed_items("command_execution")[0];
    // Codex wraps the command in the user's login shell: `/bin/bash -lc` for root on
    // Debian; another default shell (zsh, say) shows here instead.
    let command = cmd["command"].as_str().unwrap();
    assert!(command.ends_with(" -lc 'echo hi > f.txt'"), "{command}");
    assert_eq!(cmd["exit_code"], 0);
    assert_eq!(cmd["status"], "completed");
    let started = &out.events_of("item.started")[0]["item"];
    assert_eq!(started["status"], "in_progress");
    assert_eq!(started["exit_code"], Value::Null);
    // turn.completed sums the usage of both model requests of the turn.
    assert_eq!(out.usage().unwrap()["input_tokens"], 300);
    assert_eq!(out.usage().unwrap()["output_tokens"], 30);

    let reqs = kit.model.responses_requests();
    assert_eq!(reqs.len(), 2);
    assert!(!reqs[0].is_tool_follow_up());
    assert!(reqs[1].is_tool_follow_up());
    let output = reqs[1].function_call_outputs()[0];
    assert_eq!(output["call_id"], "call_1_0");
    assert!(
        output["output"]
            .as_str()
            .unwrap()
            .contains("Process exited with code 0")
    );
    assert_eq!(reqs[1].cwd().as_deref(), kit.work().to_str());
    assert_eq!(kit.model.pending_replies(), 0);
}

/// The errors a sandboxed write can meet: EROFS (bubblewrap's read-only bind), EACCES or
/// EPERM (Landlock / seccomp).
const SANDBOX_WRITE_ERRORS: [&str; 3] = [
    "Read-only file system",
    "Permission denied",
    "Operation not permitted",
];

/// True when `text` shows the shell itself refused to write `f.txt` (`...: f.txt: <error>`):
/// the command ran and the file system said no, rather than the command never starting.
fn shows_the_write_refused(text: &str) -> bool {
    SANDBOX_WRITE_ERRORS
        .iter()
        .any(|e| text.contains(&format!("f.txt: {e}")))
}

#[tokio::test]
async fn c2_read_only_sandbox_blocks_the_write() {
    let Some(kit) = Kit::new().await else { return };
    kit.model.push(Reply::exec_command("echo hi > f.txt"));
    kit.model.push(Reply::text("could not"));
    let out = kit.exec("read-only", &[], "write f.txt").await;
    assert_eq!(out.code, Some(0), "a failed command does not fail the turn");
    assert_eq!(out.last_agent_message(), Some("could not"));
    assert!(
        !kit.work().join("f.txt").exists(),
        "the sandbox let the write through"
    );

    // What holds on every machine: the model's next request carries the command's result,
    // and it shows the shell's write refused by the file system.
    let told = first_tool_output(&kit.model);
    eprintln!("--- the model was told:\n{told}\n---");
    assert_codex_sandbox_started(&told);
    assert!(
        shows_the_write_refused(&told),
        "the model was not told why the write failed: {told}"
    );
    let reqs = kit.model.responses_requests();
    assert_eq!(reqs.len(), 2);
    assert!(reqs[1].is_tool_follow_up());
    assert_eq!(reqs[1].function_call_outputs()[0]["call_id"], "call_1_0");
    assert_eq!(kit.model.pending_replies(), 0);

    // Codex 0.169.0 reports the denied command as a `command_execution` item on some
    // machines and not at all on others: when the command fails fast (a login shell with
    // no slow profile, e.g. an empty HOME) its unified exec classifies the sandbox denial
    // before emitting the command's lifecycle (docs/testing.md).
    // When it does report it, the report must say the command failed.
    for cmd in out.completed_items("command_execution") {
        assert_eq!(cmd["status"], "failed", "{cmd}");
        assert_eq!(cmd["exit_code"], 1, "{cmd}");
        assert!(
            shows_the_write_refused(cmd["aggregated_output"].as_str().unwrap()),
            "{cmd}"
        );
    }
}

#[tokio::test]
async fn d_resume_continues_the_conversation() {
    let Some(kit) = Kit::new().await else { return };
    kit.model
        .push(Reply::text("first answer").with_usage(Usage::new(10, 1)));
    kit.model
        .push(Reply::text("second answer").with_usage(Usage::new(1000, 100)));

    let first = kit.exec("read-only", &[], "first question").await;
    let thread = first.thread_id().unwrap().to_owned();
    let second = kit.resume(&thread, "second question").await;

    assert_eq!(second.code, Some(0));
    assert_eq!(second.thread_id(), Some(thread.as_str()));
    assert_eq!(second.last_agent_message(), Some("second answer"));
    let reqs = kit.model.responses_requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].thread_id(), Some(thread.as_str()));
    assert_eq!(reqs[1].user_texts(), ["first question", "second question"]);
    assert_eq!(reqs[1].assistant_texts(), ["first answer"]);
    // Recorded for the driver author: what turn.completed reports after a resume.
    eprintln!("resume usage: {}", second.usage().unwrap());
    assert_eq!(second.usage().unwrap()["input_tokens"], 1010);
}

#[tokio::test]
async fn f_bearer_is_the_auth_json_api_key() {
    let Some(kit) = Kit::with(|h| h.with_auth(Auth::api_key("sk-test-agent-7"))).await else {
        return;
    };
    kit.model.push(Reply::text("ok"));
    let out = kit.exec("read-only", &[], "q").await;
    assert_eq!(out.code, Some(0));
    let req = &kit.model.responses_requests()[0];
    assert_eq!(req.bearer(), Some("sk-test-agent-7"));
    assert_eq!(req.header("originator"), Some("codex_exec"));
    assert!(
        req.header("user-agent")
            .unwrap()
            .starts_with("codex_exec/0.169.0")
    );
}

#[tokio::test]
async fn f2_chatgpt_login_sends_access_token_and_stays_local() {
    let auth = Auth::chatgpt("acct-42", "alice");
    let Some(kit) = Kit::with(|h| h.with_auth(auth.clone())).await else {
        return;
    };
    kit.model.push(Reply::text("ok"));
    let out = kit.exec("read-only", &[], "q").await;
    assert_eq!(out.code, Some(0));
    assert_eq!(out.last_agent_message(), Some("ok"));
    let all = kit.model.requests();
    for r in &all {
        eprintln!("chatgpt request: {} {} {:?}", r.method, r.path, r.query);
        assert_eq!(r.bearer(), Some(auth.bearer()));
        assert_eq!(r.header("chatgpt-account-id"), Some("acct-42"));
    }
    assert!(all.iter().any(|r| r.path == "/v1/models"));
    assert_only_known_paths(&kit.model);
}

#[tokio::test]
async fn g_network_features_exist_and_are_off() {
    let Some(kit) = Kit::new().await else { return };
    let mut cmd = kit.home.command(&kit.codex);
    cmd.current_dir(kit.work()).args(["features", "list"]);
    let out = run_codex(cmd, "", LIMIT).await.unwrap();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    for feature in NETWORK_FEATURES {
        let line = out
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(feature))
            .unwrap_or_else(|| panic!("codex 0.169 has no feature {feature}"));
        assert_eq!(line.split_whitespace().last(), Some("false"), "{line}");
    }
}

#[tokio::test]
async fn h_concurrent_agents_are_routed_by_request() {
    let Some(kit) = Kit::new().await else { return };
    kit.model.set_fallback(Reply::from_fn(|r| {
        let who = r.cwd().unwrap_or_default();
        let prompt = r.last_user_text().unwrap_or_default();
        Reply::slow(
            Duration::from_millis(200),
            Reply::text(format!(
                "{prompt} @ {}",
                who.rsplit('/').next().unwrap_or("")
            )),
        )
    }));
    // Each agent has its own CODEX_HOME: two Codex processes starting at once on one
    // fresh home race installing its system skills (an ERROR line on stderr).
    let other = temp_dir("work-b-").unwrap();
    let other_home_dir = temp_dir("codex-home-b-").unwrap();
    let other_home = CodexHome::new(other_home_dir.path(), &kit.model);
    other_home.write().unwrap();
    let name = |p: &Path| p.file_name().unwrap().to_str().unwrap().to_owned();
    let mut cmd_b = other_home.command(&kit.codex);
    cmd_b
        .args([
            "exec",
            "--json",
            "--skip-git-repo-check",
            "-s",
            "read-only",
            "-C",
        ])
        .arg(other.path())
        .args(other_home.offline_args());
    let (a, b) = tokio::join!(
        kit.exec("read-only", &[], "agent a"),
        run_codex(cmd_b, "agent b", LIMIT)
    );
    let b = b.unwrap();
    assert_eq!(
        a.last_agent_message(),
        Some(format!("agent a @ {}", name(kit.work())).as_str())
    );
    assert_eq!(
        b.last_agent_message(),
        Some(format!("agent b @ {}", name(other.path())).as_str())
    );
    assert_eq!(kit.model.responses_requests().len(), 2);
}

/// `Reply::streaming`: Codex reports each streamed reasoning item as an `item.completed`
/// of type `reasoning` (its text the summary), then the answer: a long turn that keeps
/// emitting events.
#[tokio::test]
async fn i_streamed_reasoning_items_become_reasoning_events() {
    let Some(kit) = Kit::new().await else { return };
    kit.model.push(Reply::streaming(
        Duration::from_millis(1500),
        Duration::from_millis(500),
        Reply::text("finally"),
    ));
    let out = kit.exec("read-only", &[], "think for a while").await;
    assert_eq!(out.code, Some(0));
    assert_eq!(
        out.event_types(),
        [
            "thread.started",
            "turn.started",
            "item.completed:reasoning",
            "item.completed:reasoning",
            "item.completed:reasoning",
            "item.completed:agent_message",
            "turn.completed"
        ]
    );
    let texts: Vec<&str> = out
        .completed_items("reasoning")
        .iter()
        .filter_map(|i| i["text"].as_str())
        .collect();
    assert_eq!(texts, ["step 1 of 3", "step 2 of 3", "step 3 of 3"]);
    assert_eq!(out.last_agent_message(), Some("finally"));
}
