//! What the scripted model saw: one [`RecordedRequest`] per HTTP request, with helpers
//! that read the parts of a Responses-API request tests assert on.

use std::collections::HashMap;

use serde_json::Value;

/// One HTTP request received by the [`ScriptedModel`](crate::ScriptedModel), recorded
/// before it was answered so tests can assert on exactly what Codex sent.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedRequest {
    /// Position in arrival order, starting at 0 (all paths counted).
    pub seq: usize,
    /// HTTP method, e.g. `"POST"`.
    pub method: String,
    /// Path without the query string, e.g. `"/v1/responses"` or `"/v1/models"`.
    pub path: String,
    /// The raw query string, if any (Codex sends `client_version=0.169.0` to `/v1/models`).
    pub query: Option<String>,
    /// Headers with lower-cased names; repeated headers are joined with `", "`.
    pub headers: HashMap<String, String>,
    /// The body parsed as JSON; `Value::Null` when empty, a JSON string holding the
    /// (lossily decoded) text when it is not JSON.
    pub body: Value,
}

/// A `message` input item reduced to its role and the concatenated text of its content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// `"user"`, `"assistant"`, `"developer"` or `"system"`.
    pub role: String,
    /// All `input_text` / `output_text` / `text` parts joined together.
    pub text: String,
}

/// Prefixes of the user-role messages Codex injects itself (environment context, project
/// instructions); [`RecordedRequest::user_texts`] leaves them out.
const INJECTED_USER_PREFIXES: &[&str] = &[
    "<environment_context>",
    "<user_instructions>",
    "# AGENTS.md instructions",
    "<INSTRUCTIONS>",
    "<turn_aborted>",
];

impl RecordedRequest {
    /// True for `POST .../responses`: a model turn request.
    pub fn is_responses(&self) -> bool {
        self.method == "POST" && self.path.ends_with("/responses")
    }

    /// A header by (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The token of `Authorization: Bearer <token>`: which credentials Codex used.
    pub fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
    }

    /// The Codex thread id, from the `thread-id` (or `session-id`) header Codex sends with
    /// every model request; the same id `thread.started` reports in the JSONL.
    pub fn thread_id(&self) -> Option<&str> {
        self.header("thread-id")
            .or_else(|| self.header("session-id"))
    }

    /// The `model` field of the request body.
    pub fn model(&self) -> Option<&str> {
        self.body.get("model").and_then(Value::as_str)
    }

    /// The `input` items of a Responses request (empty for other requests).
    pub fn input(&self) -> &[Value] {
        self.body
            .get("input")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// True when the request asks for structured output (`text.format.type ==
    /// "json_schema"`), which Codex sends for `--output-schema`.
    pub fn wants_json_schema(&self) -> bool {
        self.body
            .pointer("/text/format/type")
            .and_then(Value::as_str)
            == Some("json_schema")
    }

    /// The JSON Schema of `text.format.schema`, if the request carries one.
    pub fn json_schema(&self) -> Option<&Value> {
        if self.wants_json_schema() {
            self.body.pointer("/text/format/schema")
        } else {
            None
        }
    }

    /// Every `message` input item, in order, as role + text.
    pub fn messages(&self) -> Vec<Message> {
        self.input()
            .iter()
            .filter(|item| item.get("type").and_then(Value::as_str) == Some("message"))
            .map(|item| Message {
                role: item
                    .get("role")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                text: content_text(item.get("content")),
            })
            .collect()
    }

    /// The user messages a person (or the server's prompt) wrote, in order, without the
    /// environment-context and instruction messages Codex injects itself. Use it to assert
    /// conversation continuity after `codex exec resume`.
    pub fn user_texts(&self) -> Vec<String> {
        self.messages()
            .into_iter()
            .filter(|m| m.role == "user")
            .filter(|m| {
                let t = m.text.trim_start();
                !INJECTED_USER_PREFIXES.iter().any(|p| t.starts_with(p))
            })
            .map(|m| m.text)
            .collect()
    }

    /// The assistant messages replayed in the input (earlier replies of the conversation).
    pub fn assistant_texts(&self) -> Vec<String> {
        self.messages()
            .into_iter()
            .filter(|m| m.role == "assistant")
            .map(|m| m.text)
            .collect()
    }

    /// The last user message of the input (the prompt of the current turn), if any.
    pub fn last_user_text(&self) -> Option<String> {
        self.user_texts().pop()
    }

    /// The `<cwd>` of Codex's environment-context message: the working directory of the
    /// Codex process. Handy to route concurrent agents that each run in their own folder.
    pub fn cwd(&self) -> Option<String> {
        self.messages().into_iter().find_map(|m| {
            let start = m.text.find("<cwd>")? + "<cwd>".len();
            let end = m.text[start..].find("</cwd>")? + start;
            Some(m.text[start..end].to_owned())
        })
    }

    /// The `function_call_output` input items: results of commands Codex ran for an
    /// earlier scripted function call.
    pub fn function_call_outputs(&self) -> Vec<&Value> {
        self.input()
            .iter()
            .filter(|item| item.get("type").and_then(Value::as_str) == Some("function_call_output"))
            .collect()
    }

    /// True when the input ends with tool results, i.e. this request is Codex's follow-up
    /// after running a scripted function call rather than a fresh turn.
    pub fn is_tool_follow_up(&self) -> bool {
        self.input()
            .last()
            .and_then(|i| i.get("type"))
            .and_then(Value::as_str)
            == Some("function_call_output")
    }

    /// Names of the tools the request offers the model (e.g. `exec_command`).
    pub fn tool_names(&self) -> Vec<String> {
        self.body
            .get("tools")
            .and_then(Value::as_array)
            .map(|tools| {
                tools
                    .iter()
                    .filter_map(|t| {
                        t.get("name")
                            .or_else(|| t.get("type"))
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Joins the text parts of a message's `content` (a string or an array of parts).
fn content_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(body: Value) -> RecordedRequest {
        RecordedRequest {
            seq: 0,
            method: "POST".into(),
            path: "/v1/responses".into(),
            query: None,
            headers: HashMap::from([
                ("authorization".into(), "Bearer sk-test-1".into()),
                ("thread-id".into(), "t-1".into()),
            ]),
            body,
        }
    }

    #[test]
    fn reads_messages_schema_and_tool_outputs() {
        let r = req(json!({
            "model": "gpt-5.5",
            "text": {"format": {"type": "json_schema", "schema": {"type": "object"}}},
            "input": [
                {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "sys"}]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context>\n  <cwd>/w/a</cwd>\n</environment_context>"}]},
                {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "first"}]},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "reply"}]},
                {"type": "function_call", "call_id": "c1", "name": "exec_command", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": "ok"}
            ]
        }));
        assert!(r.is_responses());
        assert_eq!(r.bearer(), Some("sk-test-1"));
        assert_eq!(r.thread_id(), Some("t-1"));
        assert_eq!(r.model(), Some("gpt-5.5"));
        assert!(r.wants_json_schema());
        assert_eq!(r.json_schema(), Some(&json!({"type": "object"})));
        assert_eq!(r.user_texts(), vec!["first".to_owned()]);
        assert_eq!(r.assistant_texts(), vec!["reply".to_owned()]);
        assert_eq!(r.cwd().as_deref(), Some("/w/a"));
        assert_eq!(r.function_call_outputs().len(), 1);
        assert!(r.is_tool_follow_up());
        assert_eq!(r.messages().len(), 4);
    }

    #[test]
    fn plain_request_has_no_schema() {
        let r = req(json!({"input": []}));
        assert!(!r.wants_json_schema());
        assert!(r.json_schema().is_none());
        assert!(r.last_user_text().is_none());
        assert!(!r.is_tool_follow_up());
    }
}
