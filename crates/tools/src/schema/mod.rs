//! JSON Schemas for tool arguments and responses.
//!
//! One Rust type per argument set and per response gives both the MCP schemas and the
//! `--output-schema` Codex gets, so they cannot drift apart. Response schemas are made to
//! fit the OpenAI Responses API "strict" structured-output subset, because Codex sends
//! them with `strict: true` and the API rejects anything outside it; [`check_strict`]
//! is how the tests (and anyone adding a tool) prove that.

mod strict;

pub use strict::{StrictViolation, check_strict};

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};

/// The `type` of a schema node as a list (`"string"` and `["string", "null"]` alike).
pub(crate) fn declared_types(node: &Map<String, Value>) -> Vec<&str> {
    match node.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The schema of `T` as schemars writes it for draft 2020-12, every subschema inlined (no
/// `$defs`: clients and the strict subset both handle inline schemas best) and without
/// the root's `$schema`, `title` and `description` (the tool carries those).
fn generate<T: JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let mut value = generator.into_root_schema_for::<T>().to_value();
    if let Some(root) = value.as_object_mut() {
        root.remove("title");
        root.remove("description");
    }
    walk(&mut value, &mut |node| {
        // `format: uint32` and friends are Rust details, not JSON Schema formats.
        if !declared_types(node).contains(&"string") {
            node.remove("format");
        }
        collapse_string_enum(node);
        if let Some(Value::String(text)) = node.get_mut("description") {
            *text = unwrap_lines(text);
        }
    });
    value
}

/// Doc comments are wrapped at 100 columns; descriptions read better unwrapped.
fn unwrap_lines(text: &str) -> String {
    let paragraphs: Vec<String> = text
        .split("\n\n")
        .map(|p| p.lines().map(str::trim).collect::<Vec<_>>().join(" "))
        .collect();
    paragraphs.join("\n\n")
}

/// Documented enum variants come out as `oneOf` of one-value string schemas, which the
/// strict subset does not accept; they mean the same as one `enum`, so say it that way.
fn collapse_string_enum(node: &mut Map<String, Value>) {
    let Some(Value::Array(options)) = node.get("oneOf") else {
        return;
    };
    let mut values = Vec::new();
    for option in options {
        if option.get("type").and_then(Value::as_str) != Some("string") {
            return;
        }
        match (
            option.get("const"),
            option.get("enum").and_then(Value::as_array),
        ) {
            (Some(one), None) => values.push(one.clone()),
            (None, Some(many)) => values.extend(many.iter().cloned()),
            _ => return,
        }
    }
    node.remove("oneOf");
    node.insert("type".into(), Value::String("string".into()));
    node.insert("enum".into(), Value::Array(values));
}

/// The MCP `inputSchema` for an argument type: optional arguments are simply not
/// `required` (their `null` alternative is dropped; `null` is still accepted as "absent").
pub fn input_schema<T: JsonSchema>() -> Value {
    let mut value = generate::<T>();
    walk(&mut value, &mut drop_null);
    value
}

/// The strict schema of a response type, used both as the MCP `outputSchema` and as the
/// `--output-schema` Codex must satisfy: every property required (optional ones are
/// nullable already), no additional properties, no defaults.
pub fn output_schema<T: JsonSchema>() -> Value {
    let mut value = generate::<T>();
    walk(&mut value, &mut |node| {
        node.remove("default");
        let is_object = declared_types(node).contains(&"object") || node.contains_key("properties");
        if is_object {
            let properties = node
                .entry("properties")
                .or_insert_with(|| Value::Object(Map::new()));
            let names: Vec<Value> = properties
                .as_object()
                .map(|p| p.keys().cloned().map(Value::String).collect())
                .unwrap_or_default();
            node.insert("required".into(), Value::Array(names));
            node.insert("additionalProperties".into(), Value::Bool(false));
        }
    });
    value
}

/// Turns `["T", "null"]` into `"T"` and `anyOf: [S, {"type": "null"}]` into `S`.
fn drop_null(node: &mut Map<String, Value>) {
    if let Some(Value::Array(types)) = node.get_mut("type") {
        types.retain(|t| t != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            node.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = node.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    let Some(Value::Array(options)) = node.get("anyOf") else {
        return;
    };
    let is_null = |o: &Value| o.get("type").and_then(Value::as_str) == Some("null");
    let rest: Vec<&Value> = options.iter().filter(|o| !is_null(o)).collect();
    if let ([Value::Object(only)], true) = (rest.as_slice(), options.len() == 2) {
        let only = only.clone();
        node.remove("anyOf");
        for (key, value) in only {
            node.entry(key).or_insert(value);
        }
    }
}

/// Calls `f` on every schema node, parents before children.
pub(crate) fn walk(node: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>)) {
    let Some(map) = node.as_object_mut() else {
        return;
    };
    f(map);
    for key in ["items", "additionalProperties", "not"] {
        if let Some(child) = map.get_mut(key) {
            walk(child, f);
        }
    }
    for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
        if let Some(Value::Array(children)) = map.get_mut(key) {
            children.iter_mut().for_each(|child| walk(child, f));
        }
    }
    for key in ["properties", "$defs", "definitions"] {
        if let Some(Value::Object(children)) = map.get_mut(key) {
            children.values_mut().for_each(|child| walk(child, f));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[allow(dead_code)]
    #[derive(JsonSchema)]
    struct Sample {
        /// Always there.
        name: String,
        /// Maybe there.
        note: Option<String>,
        count: Option<u32>,
        tags: Vec<String>,
        #[serde(default)]
        flag: bool,
    }

    #[test]
    fn output_schemas_are_strict() {
        let schema = output_schema::<Sample>();
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "count": {"type": ["integer", "null"], "minimum": 0},
                    "flag": {"type": "boolean"},
                    "name": {"type": "string", "description": "Always there."},
                    "note": {"type": ["string", "null"], "description": "Maybe there."},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["count", "flag", "name", "note", "tags"],
                "additionalProperties": false,
            })
        );
        assert_eq!(check_strict(&schema), Ok(()));
    }

    #[test]
    fn input_schemas_leave_optional_arguments_out_of_required() {
        let schema = input_schema::<Sample>();
        assert_eq!(
            schema,
            json!({
                "type": "object",
                "properties": {
                    "count": {"type": "integer", "minimum": 0},
                    "flag": {"type": "boolean", "default": false},
                    "name": {"type": "string", "description": "Always there."},
                    "note": {"type": "string", "description": "Maybe there."},
                    "tags": {"type": "array", "items": {"type": "string"}},
                },
                "required": ["name", "tags"],
            })
        );
    }

    #[test]
    fn descriptions_are_unwrapped() {
        assert_eq!(unwrap_lines("one\ntwo\n\nthree"), "one two\n\nthree");
    }

    #[test]
    fn documented_enums_become_one_enum() {
        /// Level.
        #[allow(dead_code)]
        #[derive(JsonSchema)]
        #[serde(rename_all = "lowercase")]
        enum Level {
            /// Lowest.
            Low,
            High,
        }
        assert_eq!(
            output_schema::<Level>(),
            json!({"type": "string", "enum": ["high", "low"]})
        );
    }

    #[test]
    fn null_alternatives_collapse_for_inputs() {
        let mut node = json!({
            "description": "Level",
            "anyOf": [{"type": "string", "enum": ["a", "b"]}, {"type": "null"}],
        });
        walk(&mut node, &mut drop_null);
        assert_eq!(
            node,
            json!({"description": "Level", "type": "string", "enum": ["a", "b"]})
        );
    }
}
