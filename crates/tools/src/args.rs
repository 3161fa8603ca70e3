//! Checking tool arguments against their input schema, with errors that name the argument.
//!
//! Agents fix their calls from the error text alone, so every error says which argument
//! is wrong and how. The checks are driven by the tool's own `inputSchema` (unknown keys,
//! required keys, types, enums, bounds, item counts), then the arguments are deserialized
//! into the tool's typed struct. Rules the schema cannot say are applied here too:
//! size limits, agent id syntax, and that required text is not blank.

use codex_mcp_protocol::error::ErrorObject;
use codex_mcp_protocol::jsonrpc::json_kind;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::schema::declared_types;
use codex_mcp_protocol::{AgentId, InvalidAgentId};

/// Largest accepted single argument, in bytes (a string's UTF-8 length, or the JSON
/// length of a list). Bigger inputs belong in the agent's workspace, not in a prompt.
pub const MAX_ARGUMENT_BYTES: usize = 1024 * 1024;

/// Largest accepted set of arguments, in bytes, all arguments together.
pub const MAX_TOTAL_ARGUMENT_BYTES: usize = 4 * 1024 * 1024;

/// A tool or prompt call whose arguments cannot be used; the Display names the argument
/// and the problem in one sentence the calling agent can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArgumentError {
    /// No tool (or prompt) has this name, nor is it a `codex_` alias of one.
    #[error("unknown tool {name:?}")]
    UnknownTool {
        /// The name asked for.
        name: String,
    },
    /// No prompt has this name.
    #[error("unknown prompt {name:?}")]
    UnknownPrompt {
        /// The name asked for.
        name: String,
    },
    /// The tool is answered by the server itself; it has no prompt for Codex.
    #[error("{name} is answered by the server, not by Codex")]
    NotCodexTool {
        /// The tool's name.
        name: String,
    },
    /// The tool is answered by Codex; it has no server request.
    #[error("{name} is answered by Codex, not by the server")]
    NotServerTool {
        /// The tool's name.
        name: String,
    },
    /// A required argument is absent.
    #[error("{name} is required")]
    Missing {
        /// The argument.
        name: String,
    },
    /// An argument (or an item or field inside one) has the wrong JSON type or value.
    #[error("{name} must be {expected}, got {got}")]
    Invalid {
        /// The argument, with a path inside it when an item is wrong (`files[2]`).
        name: String,
        /// What is accepted, e.g. `an array of strings`.
        expected: String,
        /// What was given, e.g. `a number`.
        got: String,
    },
    /// A text argument that must say something is empty or only whitespace.
    #[error("{name} must not be empty")]
    Empty {
        /// The argument.
        name: String,
    },
    /// Arguments the tool does not define.
    #[error("unknown argument{} {}; accepted: {}", plural(names), names.join(", "), accepted.join(", "))]
    Unknown {
        /// The unexpected keys, sorted.
        names: Vec<String>,
        /// What the tool accepts.
        accepted: Vec<String>,
    },
    /// `agent_id` is not 1–64 of `[A-Za-z0-9_.-]`.
    #[error(transparent)]
    InvalidAgentId(#[from] InvalidAgentId),
    /// An argument, or all of them together, is larger than the server accepts.
    #[error("{name} is {size} bytes; the limit is {limit}")]
    TooLarge {
        /// The argument, or `arguments` for the whole set.
        name: String,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// All the arguments together are larger than the server accepts.
    #[error("the arguments are {size} bytes together; the limit is {limit}")]
    TotalTooLarge {
        /// Their size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The tool needs at least one of several optional arguments.
    #[error("give at least one of {}", names.join(", "))]
    NeedOneOf {
        /// The arguments, any of which would do.
        names: Vec<String>,
    },
}

fn plural(names: &[String]) -> &'static str {
    if names.len() == 1 { "" } else { "s" }
}

impl ArgumentError {
    /// The argument at fault, for structured error data (`None` for tool-level problems).
    pub fn argument(&self) -> Option<&str> {
        match self {
            Self::Missing { name }
            | Self::Invalid { name, .. }
            | Self::Empty { name }
            | Self::TooLarge { name, .. } => Some(name),
            Self::Unknown { names, .. } => names.first().map(String::as_str),
            Self::InvalidAgentId(_) => Some("agent_id"),
            Self::UnknownTool { .. }
            | Self::UnknownPrompt { .. }
            | Self::NotCodexTool { .. }
            | Self::NotServerTool { .. }
            | Self::TotalTooLarge { .. }
            | Self::NeedOneOf { .. } => None,
        }
    }

    /// The JSON-RPC "invalid params" error for this problem, for callers (such as
    /// `prompts/get`) that report bad arguments as protocol errors.
    pub fn to_error_object(&self) -> ErrorObject {
        let error = ErrorObject::invalid_params(self);
        match self.argument() {
            Some(argument) => error.with_data(json!({ "argument": argument })),
            None => error,
        }
    }
}

/// Checks `arguments` against `schema` and deserializes them into `T`, failing with an
/// [`ArgumentError`] that names the bad argument. A [`crate::PrepareFn`] starts here.
pub fn parse<T: DeserializeOwned>(
    schema: &Value,
    arguments: &Map<String, Value>,
) -> Result<T, ArgumentError> {
    let empty = Map::new();
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut unknown: Vec<String> = arguments
        .keys()
        .filter(|k| !properties.contains_key(*k))
        .cloned()
        .collect();
    if !unknown.is_empty() {
        unknown.sort();
        return Err(ArgumentError::Unknown {
            names: unknown,
            accepted: properties.keys().cloned().collect(),
        });
    }
    check_sizes(arguments)?;
    let required = schema.get("required").and_then(Value::as_array);
    for name in required.into_iter().flatten().filter_map(Value::as_str) {
        if arguments.get(name).is_none_or(Value::is_null) {
            return Err(ArgumentError::Missing { name: name.into() });
        }
    }
    for (name, value) in arguments {
        if value.is_null() {
            continue; // an absent optional argument, said explicitly
        }
        if let Some(property) = properties.get(name) {
            check_value(name, property, value)?;
        }
        if let Some(required) = required
            && required.iter().any(|r| r == name)
        {
            check_not_blank(name, value)?;
        }
    }
    if let Some(Value::String(id)) = arguments.get("agent_id") {
        AgentId::try_from(id.as_str())?;
    }
    let given: Map<String, Value> = arguments
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    serde_json::from_value(Value::Object(given)).map_err(|e| ArgumentError::Invalid {
        name: "arguments".into(),
        expected: "what the input schema describes".into(),
        got: e.to_string(),
    })
}

fn check_sizes(arguments: &Map<String, Value>) -> Result<(), ArgumentError> {
    let mut total = 0;
    for (name, value) in arguments {
        let size = match value {
            Value::String(s) => s.len(),
            other => json_len(other),
        };
        if size > MAX_ARGUMENT_BYTES {
            return Err(ArgumentError::TooLarge {
                name: name.clone(),
                size,
                limit: MAX_ARGUMENT_BYTES,
            });
        }
        total += name.len() + size;
    }
    if total > MAX_TOTAL_ARGUMENT_BYTES {
        return Err(ArgumentError::TotalTooLarge {
            size: total,
            limit: MAX_TOTAL_ARGUMENT_BYTES,
        });
    }
    Ok(())
}

/// The length of `value` as compact JSON, counted without building the string.
fn json_len(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // Writing a Value into an infallible sink cannot fail.
    let _ = serde_json::to_writer(&mut counter, value);
    counter.0
}

/// Checks one value against its schema node: type, enum, bounds, items and fields.
fn check_value(name: &str, schema: &Value, value: &Value) -> Result<(), ArgumentError> {
    let Some(node) = schema.as_object() else {
        return Ok(());
    };
    let invalid = || ArgumentError::Invalid {
        name: name.into(),
        expected: describe(schema),
        got: json_kind(value).into(),
    };
    let types = declared_types(node);
    if !types.is_empty() && !types.iter().any(|t| has_type(value, t)) {
        return Err(invalid());
    }
    if let Some(allowed) = node.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        return Err(ArgumentError::Invalid {
            name: name.into(),
            expected: describe(schema),
            got: value.to_string(),
        });
    }
    if let Some(n) = value.as_f64() {
        let below = node
            .get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n < m);
        let above = node
            .get("maximum")
            .and_then(Value::as_f64)
            .is_some_and(|m| n > m);
        if below || above {
            return Err(ArgumentError::Invalid {
                name: name.into(),
                expected: describe(schema),
                got: value.to_string(),
            });
        }
    }
    if let Value::Array(items) = value {
        let min = node.get("minItems").and_then(Value::as_u64).unwrap_or(0);
        if (items.len() as u64) < min {
            return Err(ArgumentError::Invalid {
                name: name.into(),
                expected: describe(schema),
                got: "an empty array".into(),
            });
        }
        if let Some(item_schema) = node.get("items") {
            for (i, item) in items.iter().enumerate() {
                let item_name = format!("{name}[{i}]");
                check_value(&item_name, item_schema, item)?;
                check_not_blank(&item_name, item)?;
            }
        }
    }
    if let (Value::Object(fields), Some(Value::Object(properties))) =
        (value, node.get("properties"))
    {
        for key in fields.keys() {
            if !properties.contains_key(key) {
                return Err(ArgumentError::Unknown {
                    names: vec![format!("{name}.{key}")],
                    accepted: properties.keys().map(|k| format!("{name}.{k}")).collect(),
                });
            }
        }
        let required = node.get("required").and_then(Value::as_array);
        for field in required.into_iter().flatten().filter_map(Value::as_str) {
            let field_name = format!("{name}.{field}");
            match fields.get(field) {
                None => return Err(ArgumentError::Missing { name: field_name }),
                Some(v) => check_not_blank(&field_name, v)?,
            }
        }
        for (key, field) in fields {
            if let Some(field_schema) = properties.get(key) {
                check_value(&format!("{name}.{key}"), field_schema, field)?;
            }
        }
    }
    Ok(())
}

fn check_not_blank(name: &str, value: &Value) -> Result<(), ArgumentError> {
    match value {
        Value::String(s) if s.trim().is_empty() => Err(ArgumentError::Empty { name: name.into() }),
        _ => Ok(()),
    }
}

fn has_type(value: &Value, t: &str) -> bool {
    match t {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "null" => value.is_null(),
        _ => true,
    }
}

/// What a schema node accepts, in words: `an array of strings`, `one of "low", "high"`,
/// `an integer from 1 to 7200`.
pub(crate) fn describe(schema: &Value) -> String {
    let Some(node) = schema.as_object() else {
        return "a value".into();
    };
    if let Some(values) = node.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values.iter().map(Value::to_string).collect();
        return format!("one of {}", values.join(", "));
    }
    let types: Vec<&str> = declared_types(node)
        .into_iter()
        .filter(|t| *t != "null")
        .collect();
    match types.as_slice() {
        ["array"] => {
            let of = node.get("items").map(|i| plural_of(&describe(i)));
            let of = of.unwrap_or_else(|| "values".into());
            match node.get("minItems").and_then(Value::as_u64).unwrap_or(0) {
                0 => format!("an array of {of}"),
                1 => format!("a non-empty array of {of}"),
                min => format!("an array of at least {min} {of}"),
            }
        }
        ["integer"] | ["number"] => {
            let base = if types == ["integer"] {
                "an integer"
            } else {
                "a number"
            };
            let min = node.get("minimum").and_then(Value::as_f64);
            let max = node.get("maximum").and_then(Value::as_f64);
            match (min, max) {
                (Some(min), Some(max)) => format!("{base} from {min} to {max}"),
                (Some(min), None) => format!("{base} of at least {min}"),
                (None, Some(max)) => format!("{base} of at most {max}"),
                (None, None) => base.into(),
            }
        }
        ["string"] => "a string".into(),
        ["boolean"] => "a boolean".into(),
        ["object"] => {
            let fields = node.get("properties").and_then(Value::as_object);
            match fields {
                Some(fields) if !fields.is_empty() => {
                    let names: Vec<&str> = fields.keys().map(String::as_str).collect();
                    format!("an object with {}", names.join(", "))
                }
                _ => "an object".into(),
            }
        }
        _ => "a value".into(),
    }
}

/// `a string` -> `strings`, `an object with x, y` -> `objects with x, y`.
fn plural_of(description: &str) -> String {
    if description.starts_with("one of ") {
        return format!("values, each {description}");
    }
    let bare = description
        .strip_prefix("an ")
        .or_else(|| description.strip_prefix("a "))
        .unwrap_or(description);
    match bare.split_once(' ') {
        Some((noun, rest)) => format!("{noun}s {rest}"),
        None => format!("{bare}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn schemas_are_described_in_words() {
        let cases = [
            (json!({"type": "string"}), "a string"),
            (json!({"type": ["string", "null"]}), "a string"),
            (
                json!({"type": "array", "items": {"type": "string"}}),
                "an array of strings",
            ),
            (
                json!({"type": "array", "items": {"type": "string"}, "minItems": 1}),
                "a non-empty array of strings",
            ),
            (
                json!({"type": "array", "items": {"type": "object", "properties": {"a": {}, "b": {}}}}),
                "an array of objects with a, b",
            ),
            (
                json!({"type": "array", "items": {"type": "string", "enum": ["x", "y"]}}),
                "an array of values, each one of \"x\", \"y\"",
            ),
            (
                json!({"type": "integer", "minimum": 1, "maximum": 7200}),
                "an integer from 1 to 7200",
            ),
            (
                json!({"type": "integer", "minimum": 0}),
                "an integer of at least 0",
            ),
            (json!({"type": "boolean"}), "a boolean"),
            (json!({"enum": ["low", "high"]}), "one of \"low\", \"high\""),
            (json!({}), "a value"),
        ];
        for (schema, words) in cases {
            assert_eq!(describe(&schema), words, "{schema}");
        }
    }

    #[test]
    fn json_length_is_counted_exactly() {
        let value = json!({"a": [1, "two", null], "b": "é"});
        assert_eq!(json_len(&value), value.to_string().len());
    }

    #[test]
    fn errors_name_their_argument() {
        let error = ArgumentError::Invalid {
            name: "target_files".into(),
            expected: "an array of strings".into(),
            got: "a number".into(),
        };
        assert_eq!(error.argument(), Some("target_files"));
        assert_eq!(
            serde_json::to_value(error.to_error_object()).ok(),
            Some(json!({
                "code": -32602,
                "message": "Invalid params: target_files must be an array of strings, got a number",
                "data": {"argument": "target_files"},
            }))
        );
        let error = ArgumentError::Unknown {
            names: vec!["x".into(), "y".into()],
            accepted: vec!["task".into()],
        };
        assert_eq!(error.to_string(), "unknown arguments x, y; accepted: task");
    }
}
