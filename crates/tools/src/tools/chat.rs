//! `chat`: a conversation with Codex about the workspace, continued across calls.

use std::time::Duration;

use codex_mcp_protocol::prompts::Role;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::text::PromptText;
use super::{AGENT_ID_DOC, TIMEOUT_DOC, codex_annotations};
use crate::args::{self, ArgumentError};
use crate::schema::{input_schema, output_schema};
use crate::spec::{
    CodexTool, Definition, MAX_TIMEOUT_SECONDS, Prepared, ToolSpec, WorkspaceAccess,
};
use codex_mcp_protocol::AgentId;

/// Arguments of `chat`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatArgs {
    /// What you want to say or ask.
    pub message: String,
    /// Background that helps answer it (what you are working on, what you tried).
    pub context: Option<String>,
    /// Earlier turns to take into account, oldest first. Not needed for turns of this
    /// same chat: the conversation continues across calls by itself.
    pub previous_messages: Option<Vec<ChatMessage>>,
    /// Files in your workspace Codex should read before answering.
    pub reference_files: Option<Vec<String>>,
    /// The calling agent.
    #[schemars(description = AGENT_ID_DOC)]
    pub agent_id: Option<AgentId>,
    /// Overrides the default time limit.
    #[schemars(description = TIMEOUT_DOC, range(min = 1, max = MAX_TIMEOUT_SECONDS))]
    pub timeout_seconds: Option<u32>,
}

/// One earlier turn of a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatMessage {
    /// Who said it.
    pub role: ChatRole,
    /// What was said.
    pub content: String,
}

/// Who said something: `user` or `assistant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChatRole {
    /// The asking side.
    User,
    /// The answering side.
    Assistant,
}

impl From<ChatRole> for Role {
    fn from(role: ChatRole) -> Self {
        match role {
            ChatRole::User => Role::User,
            ChatRole::Assistant => Role::Assistant,
        }
    }
}

/// What `chat` returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ChatResponse {
    /// The answer, in Markdown.
    pub reply: String,
    /// Workspace files the answer is based on.
    pub referenced_files: Vec<String>,
    /// Useful next questions or actions, if any.
    pub follow_up_suggestions: Vec<String>,
}

const DESCRIPTION: &str = "Talk with Codex about your code: brainstorm, ask for a second opinion, explain a piece of code, weigh options. Codex can read your workspace (read-only) and remembers earlier chat turns of your agent, so follow-up questions need no repetition. Returns the reply (Markdown), the workspace files it drew on, and suggested follow-ups. For structured results prefer plan, review, debug or audit. Usually under a few minutes; if your client gives up on long tool calls, pass background: true and fetch the result with get_job (wait_seconds up to 50).";

pub(crate) fn spec() -> ToolSpec {
    ToolSpec::new_codex(
        Definition {
            name: "chat",
            title: "Chat with Codex",
            description: DESCRIPTION,
            annotations: codex_annotations(true),
            input_schema: input_schema::<ChatArgs>(),
            output_schema: output_schema::<ChatResponse>(),
        },
        CodexTool {
            access: WorkspaceAccess::ReadOnly,
            default_timeout: Duration::from_secs(300),
        },
        prepare,
    )
}

fn prepare(tool: &ToolSpec, arguments: &Map<String, Value>) -> Result<Prepared, ArgumentError> {
    let a: ChatArgs = args::parse(tool.input_schema(), arguments)?;
    let prompt = prompt(&a);
    let seed_messages = a
        .previous_messages
        .iter()
        .flatten()
        .map(|m| (Role::from(m.role), m.content.clone()))
        .collect();
    Ok(Prepared {
        seed_messages,
        ..Prepared::new(a.agent_id, a.timeout_seconds, prompt)
    })
}

/// The text Codex receives for a `chat` call.
pub fn prompt(a: &ChatArgs) -> String {
    let turns: Vec<(&str, &str)> = a
        .previous_messages
        .iter()
        .flatten()
        .map(|m| {
            let speaker = match m.role {
                ChatRole::User => "user",
                ChatRole::Assistant => "assistant",
            };
            (speaker, m.content.as_str())
        })
        .collect();
    PromptText::new(
        "You are an experienced software engineer in a conversation with another AI agent \
         about the code in the workspace. Answer its message directly and concretely, \
         reading the workspace where that helps.",
    )
    .transcript("Earlier conversation", &turns)
    .text("Context", a.context.as_deref())
    .list("Files to read first", a.reference_files.as_deref())
    .text("Message", Some(&a.message))
    .finish(
        WorkspaceAccess::ReadOnly,
        &[
            "reply: your answer, in Markdown.",
            "referenced_files: the workspace files your answer is based on.",
            "follow_up_suggestions: useful next questions or actions, if any.",
        ],
    )
}
