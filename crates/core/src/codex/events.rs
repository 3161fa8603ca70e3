//! Codex's `--json` event stream, and the readable progress messages made from it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Token counts reported by `turn.completed` (a running total for the thread).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens.
    #[serde(default)]
    pub input_tokens: u64,
    /// Prompt tokens served from cache.
    #[serde(default)]
    pub cached_input_tokens: u64,
    /// Completion tokens.
    #[serde(default)]
    pub output_tokens: u64,
    /// Completion tokens spent reasoning.
    #[serde(default)]
    pub reasoning_output_tokens: u64,
}

/// One line of `codex exec --json`.
#[derive(Debug, Clone, PartialEq)]
pub enum CodexEvent {
    /// The thread id (new or resumed).
    ThreadStarted(String),
    /// A turn began.
    TurnStarted,
    /// An item began (commands, file changes, ...).
    ItemStarted(Value),
    /// An item changed.
    ItemUpdated(Value),
    /// An item finished (agent messages arrive only like this).
    ItemCompleted(Value),
    /// The turn finished, with the thread's running token totals.
    TurnCompleted(Usage),
    /// The turn failed.
    TurnFailed(String),
    /// Codex reported an error (precedes `turn.failed`).
    Error(String),
    /// A line this version does not know; kept for logs.
    Other(Value),
}

/// Parses one stdout line; `None` for lines that are not JSON objects.
pub fn parse_line(line: &str) -> Option<CodexEvent> {
    let value: Value = serde_json::from_str(line.trim()).ok()?;
    let kind = value.get("type")?.as_str()?.to_string();
    let item = || value.get("item").cloned().unwrap_or(Value::Null);
    Some(match kind.as_str() {
        "thread.started" => {
            CodexEvent::ThreadStarted(value.get("thread_id")?.as_str()?.to_string())
        }
        "turn.started" => CodexEvent::TurnStarted,
        "item.started" => CodexEvent::ItemStarted(item()),
        "item.updated" => CodexEvent::ItemUpdated(item()),
        "item.completed" => CodexEvent::ItemCompleted(item()),
        "turn.completed" => CodexEvent::TurnCompleted(
            value
                .get("usage")
                .cloned()
                .and_then(|u| serde_json::from_value(u).ok())
                .unwrap_or_default(),
        ),
        "turn.failed" => CodexEvent::TurnFailed(
            value
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("the turn failed")
                .to_string(),
        ),
        "error" => CodexEvent::Error(
            value
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("error")
                .to_string(),
        ),
        _ => CodexEvent::Other(value),
    })
}

fn shorten(s: &str, max: usize) -> String {
    let one_line = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        return one_line;
    }
    let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
    format!("{cut}…")
}

/// Strips the login-shell wrapper Codex puts around commands (`/bin/bash -lc '...'`).
fn bare_command(command: &str) -> &str {
    for prefix in ["/bin/bash -lc ", "bash -lc ", "/bin/sh -c ", "sh -c "] {
        if let Some(rest) = command.strip_prefix(prefix) {
            return rest.trim_matches(|c| c == '\'' || c == '"');
        }
    }
    command
}

/// A readable progress message for an event, if it deserves one.
pub fn describe(event: &CodexEvent) -> Option<String> {
    match event {
        CodexEvent::ThreadStarted(_) => Some("Codex started".into()),
        CodexEvent::TurnStarted => Some("Codex is thinking".into()),
        CodexEvent::ItemStarted(item) => match item.get("type").and_then(Value::as_str)? {
            "command_execution" => {
                let cmd = item
                    .get("command")
                    .and_then(Value::as_str)
                    .unwrap_or("a command");
                Some(format!("running `{}`", shorten(bare_command(cmd), 80)))
            }
            "file_change" => Some("editing files".into()),
            "mcp_tool_call" => Some("calling a tool".into()),
            "web_search" => Some("searching".into()),
            _ => None,
        },
        CodexEvent::ItemCompleted(item) => match item.get("type").and_then(Value::as_str)? {
            "command_execution" => {
                let cmd = item
                    .get("command")
                    .and_then(Value::as_str)
                    .unwrap_or("a command");
                let code = item.get("exit_code").and_then(Value::as_i64);
                Some(match code {
                    Some(0) => format!("ran `{}`", shorten(bare_command(cmd), 80)),
                    Some(c) => format!("`{}` exited with {c}", shorten(bare_command(cmd), 80)),
                    None => format!("`{}` finished", shorten(bare_command(cmd), 80)),
                })
            }
            "file_change" => Some("changed files".into()),
            "reasoning" => Some("reasoned about the task".into()),
            "agent_message" => Some("writing the answer".into()),
            _ => None,
        },
        CodexEvent::TurnCompleted(_) => Some("Codex finished".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn parses_the_lines_codex_prints() {
        assert_eq!(
            parse_line(r#"{"type":"thread.started","thread_id":"t1"}"#),
            Some(CodexEvent::ThreadStarted("t1".into()))
        );
        assert_eq!(
            parse_line(
                r#"{"type":"turn.completed","usage":{"input_tokens":12,"cached_input_tokens":2,"cache_write_input_tokens":0,"output_tokens":5,"reasoning_output_tokens":1}}"#
            ),
            Some(CodexEvent::TurnCompleted(Usage {
                input_tokens: 12,
                cached_input_tokens: 2,
                output_tokens: 5,
                reasoning_output_tokens: 1
            }))
        );
        assert_eq!(
            parse_line(r#"{"type":"turn.failed","error":{"message":"boom"}}"#),
            Some(CodexEvent::TurnFailed("boom".into()))
        );
        assert_eq!(parse_line("Reading prompt from stdin..."), None);
    }

    #[test]
    fn commands_read_naturally() {
        let started = parse_line(r#"{"type":"item.started","item":{"type":"command_execution","command":"/bin/bash -lc 'cargo test'","status":"in_progress"}}"#).unwrap();
        assert_eq!(describe(&started), Some("running `cargo test`".into()));
        let failed = parse_line(r#"{"type":"item.completed","item":{"type":"command_execution","command":"/bin/bash -lc 'false'","exit_code":1}}"#).unwrap();
        assert_eq!(describe(&failed), Some("`false` exited with 1".into()));
    }

    /// Fuzzing (property-based; `PROPTEST_CASES` cases, 256 by default).
    mod props {
        use proptest::prelude::*;
        use serde_json::json;

        use super::*;

        proptest! {
            #[test]
            fn any_line_parses_or_not_without_panicking(line in ".{0,200}") {
                if let Some(event) = parse_line(&line) {
                    let _ = describe(&event);
                }
            }

            #[test]
            fn any_json_shaped_line_is_handled(
                kind in prop_oneof![
                    Just("thread.started"), Just("turn.started"), Just("item.started"),
                    Just("item.completed"), Just("turn.completed"), Just("turn.failed"),
                    Just("error"), Just("other"),
                ],
                field in prop_oneof![Just("thread_id"), Just("item"), Just("usage"), Just("error"), Just("message")],
                value in prop_oneof![
                    Just(json!(null)), any::<i64>().prop_map(|n| json!(n)), ".{0,20}".prop_map(|s| json!(s)),
                    ".{0,20}".prop_map(|s| json!({"type": "command_execution", "command": s, "exit_code": "x"})),
                    Just(json!({"input_tokens": -1})), Just(json!({"message": 3})),
                ],
            ) {
                let line = json!({"type": kind, field: value}).to_string();
                if let Some(event) = parse_line(&line) {
                    let _ = describe(&event);
                }
            }

            #[test]
            fn a_finished_command_reads_as_its_command_and_exit_code(
                command in "[ -~]{0,200}",
                code in prop::option::of(-3i64..300),
            ) {
                let line = json!({
                    "type": "item.completed",
                    "item": {"type": "command_execution", "command": command, "exit_code": code}
                })
                .to_string();
                let event = parse_line(&line);
                prop_assert!(matches!(event, Some(CodexEvent::ItemCompleted(_))));
                let text = event.as_ref().and_then(describe).unwrap_or_default();
                let shown = shorten(bare_command(&command), 80);
                let expected = match code {
                    Some(0) => format!("ran `{shown}`"),
                    Some(c) => format!("`{shown}` exited with {c}"),
                    None => format!("`{shown}` finished"),
                };
                prop_assert_eq!(text, expected);
                prop_assert!(shown.chars().count() <= 80);
            }

            #[test]
            fn usage_round_trips(usage in (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>())) {
                let usage = Usage {
                    input_tokens: usage.0,
                    cached_input_tokens: usage.1,
                    output_tokens: usage.2,
                    reasoning_output_tokens: usage.3,
                };
                let line = json!({"type": "turn.completed", "usage": usage}).to_string();
                prop_assert_eq!(parse_line(&line), Some(CodexEvent::TurnCompleted(usage)));
            }
        }
    }
}
