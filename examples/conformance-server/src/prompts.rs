//! Prompt fixtures and argument completion.

use async_trait::async_trait;
use codex_mcp_core::server::{Completer, PromptHandler, RequestCtx, ServerBuilder, ToolError};
use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::content::{Content, ResourceContents};
use codex_mcp_protocol::prompts::{
    Completion, GetPromptResult, Prompt, PromptArgument, PromptMessage, Role,
};
use serde_json::{Map, Value};

use crate::PNG_B64;
use crate::mrtr::{accepted_field, elicitation};

#[derive(Clone, Copy)]
enum Kind {
    Simple,
    WithArguments,
    EmbeddedResource,
    Image,
    InputRequired,
}

struct Fixture {
    kind: Kind,
    name: &'static str,
    description: &'static str,
    arguments: &'static [&'static str],
}

fn user(content: Content) -> PromptMessage {
    PromptMessage {
        role: Role::User,
        content,
    }
}

fn required(args: &Map<String, Value>, name: &str) -> Result<String, ToolError> {
    args.get(name)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| {
            ToolError::Protocol(ErrorObject::invalid_params(format!(
                "missing required argument {name}"
            )))
        })
}

#[async_trait]
impl PromptHandler for Fixture {
    fn definition(&self) -> Prompt {
        Prompt {
            name: self.name.into(),
            title: None,
            description: Some(self.description.into()),
            arguments: self
                .arguments
                .iter()
                .map(|a| PromptArgument {
                    name: (*a).into(),
                    description: Some(format!("The {a} argument")),
                    required: Some(true),
                })
                .collect(),
        }
    }

    async fn get(
        &self,
        args: Map<String, Value>,
        ctx: &RequestCtx,
    ) -> Result<GetPromptResult, ToolError> {
        let messages = match self.kind {
            Kind::Simple => vec![user(Content::text("This is a simple prompt for testing."))],
            Kind::WithArguments => {
                let (a, b) = (required(&args, "arg1")?, required(&args, "arg2")?);
                vec![user(Content::text(format!(
                    "Prompt with arguments: arg1='{a}', arg2='{b}'"
                )))]
            }
            Kind::EmbeddedResource => {
                let uri = required(&args, "resourceUri")?;
                vec![
                    user(Content::Resource {
                        resource: ResourceContents::text(
                            uri,
                            "text/plain",
                            "Embedded resource content for testing.",
                        ),
                        annotations: None,
                    }),
                    user(Content::text("Please process the embedded resource above.")),
                ]
            }
            Kind::Image => vec![
                user(Content::Image {
                    data: PNG_B64.into(),
                    mime_type: "image/png".into(),
                    annotations: None,
                }),
                user(Content::text("Please analyze the image above.")),
            ],
            Kind::InputRequired => {
                let (key, method, params) = elicitation(
                    "user_context",
                    "What context should the prompt use?",
                    "context",
                    "string",
                );
                let answer = ctx.ask(&key, &method, params).await?;
                let context = accepted_field(&answer, "context")?;
                vec![user(Content::text(format!(
                    "Prompt with context: {}",
                    context.as_str().unwrap_or_default()
                )))]
            }
        };
        Ok(GetPromptResult {
            description: Some(self.description.into()),
            messages,
        })
    }
}

struct Completions;

#[async_trait]
impl Completer for Completions {
    async fn complete(
        &self,
        reference: &Value,
        argument: &str,
        value: &str,
        _: Option<&Value>,
    ) -> Result<Completion, ErrorObject> {
        let known: &[&str] = match (reference.get("type").and_then(Value::as_str), argument) {
            (Some("ref/prompt"), "arg1") => &["test", "testing", "tested"],
            (Some("ref/prompt"), "arg2") => &["value", "values"],
            (Some("ref/resource"), "id") => &["123", "456"],
            _ => &[],
        };
        let values: Vec<String> = known
            .iter()
            .filter(|v| v.starts_with(value))
            .map(|v| (*v).to_string())
            .collect();
        Ok(Completion {
            total: Some(values.len() as u64),
            has_more: Some(false),
            values,
        })
    }
}

pub fn register(b: ServerBuilder) -> ServerBuilder {
    let fixtures = [
        Fixture {
            kind: Kind::Simple,
            name: "test_simple_prompt",
            description: "A prompt without arguments.",
            arguments: &[],
        },
        Fixture {
            kind: Kind::WithArguments,
            name: "test_prompt_with_arguments",
            description: "A prompt with two required arguments.",
            arguments: &["arg1", "arg2"],
        },
        Fixture {
            kind: Kind::EmbeddedResource,
            name: "test_prompt_with_embedded_resource",
            description: "A prompt embedding a resource.",
            arguments: &["resourceUri"],
        },
        Fixture {
            kind: Kind::Image,
            name: "test_prompt_with_image",
            description: "A prompt with an image.",
            arguments: &[],
        },
        Fixture {
            kind: Kind::InputRequired,
            name: "test_input_required_result_prompt",
            description: "A prompt that asks the user for context first.",
            arguments: &[],
        },
    ];
    fixtures
        .into_iter()
        .fold(b, |b, f| b.prompt(f))
        .completer(Completions)
}
