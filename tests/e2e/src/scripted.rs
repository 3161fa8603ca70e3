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
        let (result, printed) = self
            .run_in_tool(
                agent,
                "chat",
                |tag| json!({"message": tag}),
                chat_answer("ran it"),
                cmd,
            )
            .await;
        assert_eq!(result.get("isError"), None, "{result}\n{}", self.mcpd.log());
        printed
    }

    /// Calls `tool` for `agent` with the arguments `args` builds around a unique tag (which
    /// must reach the prompt); the model has Codex run `cmd`, then answers `answer`.
    /// Returns the call's result and what the command printed, as Codex reported it.
    pub async fn run_in_tool(
        &self,
        agent: &str,
        tool: &str,
        args: impl FnOnce(&str) -> serde_json::Value,
        answer: Reply,
        cmd: &str,
    ) -> (serde_json::Value, String) {
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
            answer,
        );
        let mut arguments = args(&tag);
        arguments["agent_id"] = json!(agent);
        let result = self
            .mcpd
            .call_tool(tool, arguments)
            .await
            .unwrap_or_else(|e| panic!("{tool} for {agent}: {e}"));
        let printed = self
            .model
            .responses_requests()
            .into_iter()
            .rev()
            .find(|r| r.is_tool_follow_up() && r.user_texts().join("\n").contains(&tag))
            .map(|request| {
                request
                    .function_call_outputs()
                    .iter()
                    .map(|o| o.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_else(|| {
                panic!("Codex never reported the command's output for {agent}: {result}")
            });
        (result, printed)
    }
}
