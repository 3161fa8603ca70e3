//! Turning Codex's final message into a tool result.
//!
//! Codex is run with `--output-schema`, so its final message should already be JSON that
//! fits; it is still checked, because a model can stop early, a provider can ignore the
//! schema, and the server must never hand a client `structuredContent` that contradicts
//! the advertised `outputSchema`.

use serde::Serialize;
use serde_json::Value;

use crate::spec::ToolSpec;

/// How much of a bad final message an error keeps: enough to see what went wrong,
/// small enough to log and return to the caller.
pub const RAW_EXCERPT_BYTES: usize = 4096;

/// How many schema violations an error lists; the first few explain the problem.
pub const MAX_REPORTED_VIOLATIONS: usize = 20;

/// Codex answered, but not with something the tool can return.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutputError {
    /// The final message is not JSON.
    #[error("{tool}: Codex's final message is not JSON ({reason}): {raw}")]
    NotJson {
        /// The tool called.
        tool: String,
        /// The parser's complaint.
        reason: String,
        /// The message, cut to [`RAW_EXCERPT_BYTES`].
        raw: String,
    },
    /// The final message is JSON but not what the output schema describes.
    #[error("{tool}: Codex's final message does not match the output schema: {}", violations.join("; "))]
    SchemaMismatch {
        /// The tool called.
        tool: String,
        /// The validator's messages, each prefixed by the JSON Pointer of the bad value
        /// (at most [`MAX_REPORTED_VIOLATIONS`]).
        violations: Vec<String>,
        /// The message, cut to [`RAW_EXCERPT_BYTES`].
        raw: String,
    },
    /// A response the server built could not be serialized.
    #[error("{tool}: the response could not be serialized: {reason}")]
    Serialize {
        /// The tool called.
        tool: String,
        /// serde's complaint.
        reason: String,
    },
    /// The tool's output schema could not be compiled (a bug in this crate).
    #[error("{tool}: its output schema cannot be used: {reason}")]
    SchemaUnavailable {
        /// The tool called.
        tool: String,
        /// The compiler's complaint.
        reason: String,
    },
}

impl OutputError {
    /// The (shortened) text Codex sent, when the error is about it.
    pub fn raw(&self) -> Option<&str> {
        match self {
            Self::NotJson { raw, .. } | Self::SchemaMismatch { raw, .. } => Some(raw),
            Self::Serialize { .. } | Self::SchemaUnavailable { .. } => None,
        }
    }
}

/// Parses Codex's final message for `tool` and validates it against the tool's output
/// schema; the result is the call's `structuredContent`.
///
/// Surrounding whitespace is ignored, and so is one Markdown code fence around the JSON
/// (models add them out of habit even when told not to).
pub fn finish(tool: &ToolSpec, final_message: &str) -> Result<Value, OutputError> {
    let text = final_message.trim();
    let not_json = |reason: String| OutputError::NotJson {
        tool: tool.name.to_owned(),
        reason,
        raw: excerpt(final_message),
    };
    if text.is_empty() {
        return Err(not_json("the message is empty".into()));
    }
    let value = match serde_json::from_str::<Value>(text) {
        Ok(value) => value,
        Err(error) => match strip_fence(text).map(serde_json::from_str::<Value>) {
            Some(Ok(value)) => value,
            _ => return Err(not_json(error.to_string())),
        },
    };
    check(tool, &value, final_message)?;
    Ok(value)
}

/// Validates a value the server built (or changed) against `tool`'s output schema.
pub fn validate_output(tool: &ToolSpec, value: &Value) -> Result<(), OutputError> {
    check(tool, value, &value.to_string())
}

/// Serializes a server-built response and validates it: the `structuredContent` of a
/// server tool's result.
pub fn to_structured<T: Serialize>(tool: &ToolSpec, response: &T) -> Result<Value, OutputError> {
    let value = serde_json::to_value(response).map_err(|e| OutputError::Serialize {
        tool: tool.name.to_owned(),
        reason: e.to_string(),
    })?;
    validate_output(tool, &value)?;
    Ok(value)
}

fn check(tool: &ToolSpec, value: &Value, raw: &str) -> Result<(), OutputError> {
    let validator = tool
        .validator()
        .map_err(|e| OutputError::SchemaUnavailable {
            tool: tool.name.to_owned(),
            reason: e.to_string(),
        })?;
    let violations: Vec<String> = validator
        .iter_errors(value)
        .take(MAX_REPORTED_VIOLATIONS)
        .map(|e| {
            let path = e.instance_path().to_string();
            let path = if path.is_empty() {
                "(root)".into()
            } else {
                path
            };
            format!("{path}: {}", shorten(&e.to_string(), 300))
        })
        .collect();
    if violations.is_empty() {
        Ok(())
    } else {
        Err(OutputError::SchemaMismatch {
            tool: tool.name.to_owned(),
            violations,
            raw: excerpt(raw),
        })
    }
}

/// The JSON inside one Markdown code fence (```` ```json ... ``` ````), if `text` is that.
fn strip_fence(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("```")?;
    let body_start = rest.find('\n')?;
    let body = rest[body_start..].trim_end().strip_suffix("```")?;
    Some(body.trim())
}

/// `text` cut to [`RAW_EXCERPT_BYTES`] on a character boundary, saying how long it was.
pub(crate) fn excerpt(text: &str) -> String {
    if text.len() <= RAW_EXCERPT_BYTES {
        return text.to_owned();
    }
    format!(
        "{}… ({} bytes in all)",
        &text[..floor_char_boundary(text, RAW_EXCERPT_BYTES)],
        text.len()
    )
}

fn shorten(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        text.to_owned()
    } else {
        format!("{}…", &text[..floor_char_boundary(text, limit)])
    }
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn fences_are_stripped_only_when_whole() {
        assert_eq!(strip_fence("```json\n{\"a\":1}\n```"), Some("{\"a\":1}"));
        assert_eq!(strip_fence("```\n{}\n```  "), Some("{}"));
        assert_eq!(strip_fence("{\"a\":1}"), None);
        assert_eq!(strip_fence("```json {}```"), None);
    }

    #[test]
    fn excerpts_keep_the_start_and_say_how_long() {
        let long = "é".repeat(RAW_EXCERPT_BYTES);
        let cut = excerpt(&long);
        assert!(cut.ends_with(&format!("… ({} bytes in all)", long.len())));
        assert!(cut.len() < RAW_EXCERPT_BYTES + 40);
        assert_eq!(excerpt("short"), "short");
    }
}
