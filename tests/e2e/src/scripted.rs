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
    /// A `chat` call for `agent`; its result.
    pub async fn chat(&self, agent: &str, message: &str) -> serde_json::Value {
        self.mcpd
            .call_tool("chat", json!({"message": message, "agent_id": agent}))
            .await
            .unwrap_or_else(|e| panic!("chat for {agent}: {e}"))
    }

    /// Has the agent's Codex write `keep.txt` with `implement` (auto mode: into the live
    /// workspace; read-only tools cannot), then starts a `chat` conversation about it.
    pub async fn write_keep_file(&self, agent: &str) {
        self.model
            .push(Reply::exec_command("printf 'kept\\n' > keep.txt"));
        self.model.push(Reply::json(
            json!({"diff": "", "explanation": "wrote it", "files_changed": [], "integration_notes": []}),
        ));
        let r = self
            .mcpd
            .call_tool(
                "implement",
                json!({"task": "write keep.txt", "target_files": ["keep.txt"], "agent_id": agent}),
            )
            .await
            .unwrap_or_else(|e| panic!("implement for {agent}: {e}"));
        assert_eq!(r.get("isError"), None, "{r}\n{}", self.mcpd.log());
        assert_eq!(
            self.read_workspace(agent, "keep.txt").ok().as_deref(),
            Some("kept\n")
        );
        self.model.push(chat_answer("written"));
        let r = self.chat(agent, "write keep.txt").await;
        assert_eq!(r.get("isError"), None, "{r}\n{}", self.mcpd.log());
    }

    /// A `chat` for `agent` during which `interrupt` runs, once Codex has asked the model
    /// (which never answers): what killing or deleting the agent's environment mid-call
    /// does to the call. Returns the call's result text, which must be an error.
    pub async fn chat_interrupted_by(&self, agent: &str, interrupt: impl FnOnce()) -> String {
        self.model.push(Reply::hang());
        let hanging = self.model.responses_requests().len() + 1;
        let act = async {
            if let Err(e) = self
                .model
                .wait_for_responses_requests(hanging, std::time::Duration::from_secs(60))
                .await
            {
                panic!("Codex never asked the model: {e}");
            }
            interrupt();
        };
        let call = tokio::time::timeout(
            std::time::Duration::from_secs(120),
            self.chat(agent, "wait"),
        );
        let (broken, ()) = tokio::join!(call, act);
        match broken {
            Ok(result) => crate::error_text(&result),
            Err(_) => panic!("the interrupted call did not end in 120 s"),
        }
    }

    /// The agent's next call works and its Codex finds `keep.txt` in the workspace.
    pub async fn assert_keep_file_seen_by_codex(&self, agent: &str) {
        self.model.push(Reply::exec_command("cat keep.txt"));
        self.model.push(chat_answer("still there"));
        let next = self.chat(agent, "is keep.txt there?").await;
        assert_eq!(next.get("isError"), None, "{next}\n{}", self.mcpd.log());
        let output: String = self
            .model
            .responses_requests()
            .pop()
            .map(|r| {
                r.function_call_outputs()
                    .iter()
                    .map(|o| o.to_string())
                    .collect()
            })
            .unwrap_or_default();
        assert!(output.contains("kept"), "the file survived: {output}");
    }

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
