//! Scripting the model so that an agent's real Codex runs a shell command, and reading
//! back what the command printed: how tests look at an environment from the inside.

use codex_mcp_testkit::{RecordedRequest, Reply};
use serde_json::json;

use crate::Setup;

/// A `chat` result as the model would give it.
pub fn chat_answer(reply: &str) -> Reply {
    Reply::json(json!({"reply": reply, "follow_up_suggestions": [], "referenced_files": []}))
}

/// A tag unlikely to repeat within a test run.
fn unique_tag() -> String {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{n:x}")
}

impl Setup {
    /// Makes `agent`'s Codex run `cmd` (a scripted `exec_command`) through a `chat` call
    /// and returns what the command printed, as Codex reported it back to the model.
    pub async fn run_through_codex(&self, agent: &str, cmd: &str) -> String {
        let tag = format!("run for {agent}: {}", unique_tag());
        let wanted = tag.clone();
        let first = move |r: &RecordedRequest| {
            !r.is_tool_follow_up() && r.user_texts().join("\n").contains(&wanted)
        };
        self.model.push_matching(first, Reply::exec_command(cmd));
        let follow_up_tag = tag.clone();
        self.model.push_matching(
            move |r: &RecordedRequest| {
                r.is_tool_follow_up() && r.user_texts().join("\n").contains(&follow_up_tag)
            },
            chat_answer("ran it"),
        );
        let result = self
            .mcpd
            .call_tool("chat", json!({"message": tag, "agent_id": agent}))
            .await
            .unwrap_or_else(|e| panic!("chat for {agent}: {e}"));
        assert_eq!(result.get("isError"), None, "{result}\n{}", self.mcpd.log());
        let request = self
            .model
            .responses_requests()
            .into_iter()
            .rev()
            .find(|r| r.is_tool_follow_up() && r.user_texts().join("\n").contains(&tag))
            .unwrap_or_else(|| panic!("Codex never reported the command's output for {agent}"));
        request
            .function_call_outputs()
            .iter()
            .map(|o| o.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    }
}
