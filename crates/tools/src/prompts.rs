//! The Codex tools' prompt templates, served as MCP prompts.
//!
//! A client can fetch the exact instructions a tool would send to Codex and use them
//! with another model. MCP prompt arguments are strings, so list arguments are given one
//! item per line (or as a JSON array), and `previous_messages` as JSON. The rendered text
//! is the tool's prompt followed by its output schema, which Codex gets through
//! `--output-schema` but another model would otherwise not see.

use codex_mcp_protocol::content::Content;
use codex_mcp_protocol::prompts::{GetPromptResult, Prompt, PromptArgument, PromptMessage, Role};
use serde_json::{Map, Value};

use crate::args::{ArgumentError, describe};
use crate::catalogue::{catalogue, find, prepare};
use crate::spec::ToolSpec;
use crate::tools::text::fenced;

/// Tool arguments that make no sense for a prompt: they steer the server, not the model.
const SERVER_ONLY: &[&str] = &["agent_id", "timeout_seconds", crate::job::BACKGROUND_ARG];

/// The prompts, one per Codex tool, in catalogue order and with the tool's name.
pub fn prompts() -> Vec<Prompt> {
    catalogue()
        .iter()
        .filter(|tool| tool.codex().is_some())
        .map(|tool| Prompt {
            name: tool.name.to_owned(),
            title: Some(tool.title.to_owned()),
            description: Some(description(tool)),
            arguments: arguments(tool),
        })
        .collect()
}

fn description(tool: &ToolSpec) -> String {
    format!(
        "The instructions the `{}` tool gives Codex, with its output schema, for use with \
         any model.",
        tool.name
    )
}

/// A prompt's arguments: the tool's, required ones first, each described.
fn arguments(tool: &ToolSpec) -> Vec<PromptArgument> {
    let schema = tool.input_schema();
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut arguments: Vec<PromptArgument> = properties(tool)
        .map(|(name, property)| PromptArgument {
            name: name.clone(),
            description: Some(argument_description(property)),
            required: Some(required.contains(&name.as_str())),
        })
        .collect();
    // Required arguments first, in the order the tool declares them.
    arguments.sort_by_key(|a| {
        let position = required.iter().position(|r| *r == a.name);
        (position.is_none(), position)
    });
    arguments
}

fn properties(tool: &ToolSpec) -> impl Iterator<Item = (&String, &Value)> {
    tool.input_schema()
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .filter(|(name, _)| !SERVER_ONLY.contains(&name.as_str()))
}

fn argument_description(property: &Value) -> String {
    let text = property
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match string_form(property) {
        StringForm::Lines => format!("{text} One item per line, or a JSON array."),
        StringForm::Json => format!("{text} As JSON: {}.", describe(property)),
        StringForm::Scalar => text.to_owned(),
    }
}

/// How a prompt argument (always a string) stands for a tool argument.
enum StringForm {
    /// A list of strings: one per line, or a JSON array.
    Lines,
    /// Anything structured: JSON text.
    Json,
    /// A string or enum value as it is.
    Scalar,
}

fn string_form(property: &Value) -> StringForm {
    let is = |t: &str| match property.get("type") {
        Some(Value::String(s)) => s == t,
        Some(Value::Array(ts)) => ts.iter().any(|x| x == t),
        _ => false,
    };
    let items_are_strings = property
        .pointer("/items/type")
        .is_some_and(|t| t == "string");
    if is("array") && items_are_strings {
        StringForm::Lines
    } else if is("array") || is("object") || is("integer") || is("number") || is("boolean") {
        StringForm::Json
    } else {
        StringForm::Scalar
    }
}

/// Renders prompt `name` from its (string) arguments: the same prompt the tool would
/// send to Codex, plus the output schema. Non-string values are taken as they are.
pub fn render_prompt(
    name: &str,
    arguments: &Map<String, Value>,
) -> Result<GetPromptResult, ArgumentError> {
    let tool = find(name)
        .filter(|t| t.codex().is_some())
        .ok_or_else(|| ArgumentError::UnknownPrompt { name: name.into() })?;
    let accepted: Map<String, Value> = properties(tool)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut unknown: Vec<String> = arguments
        .keys()
        .filter(|k| !accepted.contains_key(*k))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        return Err(ArgumentError::Unknown {
            names: unknown,
            accepted: accepted.keys().cloned().collect(),
        });
    }
    let mut converted = Map::new();
    for (key, value) in arguments {
        let property = accepted.get(key).unwrap_or(&Value::Null);
        converted.insert(key.clone(), from_string(key, property, value)?);
    }
    let call = prepare(tool.name, &converted)?;
    // `{:#}` renders a `Value` pretty and cannot fail.
    let schema = format!("{:#}", call.codex_output_schema);
    let text = format!(
        "{}\n## Output schema\nThe final JSON object must match this JSON Schema:\n{}\n",
        call.prompt,
        fenced(&schema)
    );
    Ok(GetPromptResult {
        description: Some(tool.title.to_owned()),
        messages: vec![PromptMessage {
            role: Role::User,
            content: Content::text(text),
        }],
    })
}

fn from_string(name: &str, property: &Value, value: &Value) -> Result<Value, ArgumentError> {
    let Value::String(text) = value else {
        return Ok(value.clone());
    };
    match string_form(property) {
        StringForm::Scalar => Ok(value.clone()),
        StringForm::Lines => match serde_json::from_str::<Value>(text) {
            Ok(array @ Value::Array(_)) => Ok(array),
            _ => Ok(Value::Array(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| Value::String(l.to_owned()))
                    .collect(),
            )),
        },
        StringForm::Json => serde_json::from_str(text).map_err(|_| ArgumentError::Invalid {
            name: name.into(),
            expected: format!("JSON for {}", describe(property)),
            got: "text that is not JSON".into(),
        }),
    }
}
