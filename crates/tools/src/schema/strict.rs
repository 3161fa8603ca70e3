//! The checker for the Responses API strict structured-output subset.

use serde_json::{Map, Value};

use super::declared_types;

/// Keywords the strict subset accepts on any schema node.
const STRICT_KEYWORDS: &[&str] = &[
    "type",
    "description",
    "title",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "$ref",
    "$defs",
    "definitions",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
];

/// String formats the strict subset knows.
const STRICT_FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// Types a strict schema may name.
const STRICT_TYPES: &[&str] = &[
    "string", "number", "integer", "boolean", "object", "array", "null",
];

/// Deepest nesting of objects the strict subset allows.
const STRICT_MAX_OBJECT_DEPTH: usize = 10;
/// Most properties, summed over the whole schema, the strict subset allows.
const STRICT_MAX_PROPERTIES: usize = 5000;
/// Most enum values, summed over the whole schema, the strict subset allows.
const STRICT_MAX_ENUM_VALUES: usize = 1000;

/// One way a schema falls outside the strict subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrictViolation {
    /// JSON Pointer to the offending node within the schema (`""` for the root).
    pub path: String,
    /// What is wrong there.
    pub problem: String,
}

impl std::fmt::Display for StrictViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() {
            "(root)"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.problem)
    }
}

/// Checks `schema` against the Responses API strict structured-output rules.
///
/// The rules: the root is an object schema (not `anyOf`); every object lists all of its
/// properties in `required` and has `additionalProperties: false`; optional values are
/// nullable instead of absent; only the supported keywords appear (no `default`,
/// `oneOf`, `allOf`, `minLength`, ...), and type-specific ones only on their type
/// (`format` and `pattern` on strings, bounds on numbers, `minItems` on arrays); no
/// schema is left unconstrained; objects nest at most 10 deep; at most 5000 properties and
/// 1000 enum values in all. Returns every violation found, not just the first.
pub fn check_strict(schema: &Value) -> Result<(), Vec<StrictViolation>> {
    let mut checker = StrictChecker::default();
    match schema.as_object() {
        Some(root) if root.contains_key("anyOf") => {
            checker.fail("", "the root must not be anyOf");
        }
        Some(root) if root.get("type").and_then(Value::as_str) != Some("object") => {
            checker.fail("", "the root must have \"type\": \"object\"");
        }
        _ => {}
    }
    checker.node(schema, "", 0);
    if checker.properties > STRICT_MAX_PROPERTIES {
        let n = checker.properties;
        checker.fail(
            "",
            &format!("{n} properties; at most {STRICT_MAX_PROPERTIES}"),
        );
    }
    if checker.enum_values > STRICT_MAX_ENUM_VALUES {
        let n = checker.enum_values;
        checker.fail(
            "",
            &format!("{n} enum values; at most {STRICT_MAX_ENUM_VALUES}"),
        );
    }
    if checker.violations.is_empty() {
        Ok(())
    } else {
        Err(checker.violations)
    }
}

#[derive(Default)]
struct StrictChecker {
    violations: Vec<StrictViolation>,
    properties: usize,
    enum_values: usize,
}

impl StrictChecker {
    fn fail(&mut self, path: &str, problem: &str) {
        self.violations.push(StrictViolation {
            path: path.to_owned(),
            problem: problem.to_owned(),
        });
    }

    fn node(&mut self, node: &Value, path: &str, depth: usize) {
        let Some(node) = node.as_object() else {
            self.fail(path, "a schema must be a JSON object");
            return;
        };
        let types = declared_types(node);
        for key in node.keys() {
            if !STRICT_KEYWORDS.contains(&key.as_str()) {
                self.fail(path, &format!("keyword \"{key}\" is not supported"));
            }
        }
        for t in &types {
            if !STRICT_TYPES.contains(t) {
                self.fail(path, &format!("type \"{t}\" is not supported"));
            }
        }
        let constrained = ["type", "anyOf", "$ref", "enum", "const"];
        if !constrained.iter().any(|k| node.contains_key(*k)) {
            self.fail(path, "an unconstrained schema is not allowed");
        }
        self.type_specific(node, &types, path);
        if let Some(values) = node.get("enum").and_then(Value::as_array) {
            self.enum_values += values.len();
        }
        let is_object = types.contains(&"object") || node.contains_key("properties");
        let depth = if is_object { depth + 1 } else { depth };
        if is_object {
            self.object(node, path, depth);
        }
        if let Some(items) = node.get("items") {
            self.node(items, &format!("{path}/items"), depth);
        }
        if let Some(options) = node.get("anyOf").and_then(Value::as_array) {
            for (i, option) in options.iter().enumerate() {
                self.node(option, &format!("{path}/anyOf/{i}"), depth);
            }
        }
        for keyword in ["$defs", "definitions"] {
            if let Some(defs) = node.get(keyword).and_then(Value::as_object) {
                for (name, def) in defs {
                    self.node(def, &format!("{path}/{keyword}/{}", escape(name)), 0);
                }
            }
        }
    }

    fn type_specific(&mut self, node: &Map<String, Value>, types: &[&str], path: &str) {
        let numeric = types.contains(&"number") || types.contains(&"integer");
        let rules: [(&[&str], bool, &str); 3] = [
            (&["pattern", "format"], types.contains(&"string"), "string"),
            (
                &[
                    "minimum",
                    "maximum",
                    "exclusiveMinimum",
                    "exclusiveMaximum",
                    "multipleOf",
                ],
                numeric,
                "number",
            ),
            (&["minItems", "maxItems"], types.contains(&"array"), "array"),
        ];
        for (keywords, applies, kind) in rules {
            for keyword in keywords {
                if node.contains_key(*keyword) && !applies {
                    self.fail(path, &format!("\"{keyword}\" is only allowed on a {kind}"));
                }
            }
        }
        if let Some(format) = node.get("format") {
            let known = format.as_str().is_some_and(|f| STRICT_FORMATS.contains(&f));
            if !known {
                self.fail(path, &format!("format {format} is not supported"));
            }
        }
    }

    fn object(&mut self, node: &Map<String, Value>, path: &str, depth: usize) {
        if depth > STRICT_MAX_OBJECT_DEPTH {
            self.fail(
                path,
                &format!("objects nest deeper than {STRICT_MAX_OBJECT_DEPTH}"),
            );
        }
        if node.get("additionalProperties") != Some(&Value::Bool(false)) {
            self.fail(path, "an object must have \"additionalProperties\": false");
        }
        let empty = Map::new();
        let properties = match node.get("properties") {
            Some(Value::Object(properties)) => properties,
            Some(_) => {
                self.fail(path, "\"properties\" must be an object");
                &empty
            }
            None => {
                self.fail(path, "an object must declare \"properties\"");
                &empty
            }
        };
        self.properties += properties.len();
        let required: Vec<&str> = node
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for name in properties.keys() {
            if !required.contains(&name.as_str()) {
                self.fail(path, &format!("property \"{name}\" is not in \"required\""));
            }
        }
        for name in &required {
            if !properties.contains_key(*name) {
                self.fail(
                    path,
                    &format!("\"required\" names unknown property \"{name}\""),
                );
            }
        }
        for (name, property) in properties {
            self.node(
                property,
                &format!("{path}/properties/{}", escape(name)),
                depth,
            );
        }
    }
}

/// Escapes a name for use in a JSON Pointer.
fn escape(name: &str) -> String {
    name.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn violations(schema: &Value) -> Vec<String> {
        match check_strict(schema) {
            Ok(()) => Vec::new(),
            Err(v) => v.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn checker_reports_every_rule_broken() {
        let bad = json!({
            "type": "object",
            "properties": {
                "a": {"type": "string", "minLength": 1},
                "b": {"type": "integer", "format": "uint32"},
                "c": {"oneOf": [{"type": "string"}, {"type": "null"}]},
                "d": {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]},
                "e": {"type": "string", "format": "uri", "default": "x"},
                "f": {},
                "g": {"type": "thing"},
            },
            "required": ["a", "b", "c", "d", "e", "f", "g", "zz"],
        });
        assert_eq!(
            violations(&bad),
            vec![
                "(root): an object must have \"additionalProperties\": false",
                "(root): \"required\" names unknown property \"zz\"",
                "/properties/a: keyword \"minLength\" is not supported",
                "/properties/b: \"format\" is only allowed on a string",
                "/properties/b: format \"uint32\" is not supported",
                "/properties/c: keyword \"oneOf\" is not supported",
                "/properties/c: an unconstrained schema is not allowed",
                "/properties/d: an object must have \"additionalProperties\": false",
                "/properties/e: keyword \"default\" is not supported",
                "/properties/e: format \"uri\" is not supported",
                "/properties/f: an unconstrained schema is not allowed",
                "/properties/g: type \"thing\" is not supported",
            ]
        );
    }

    #[test]
    fn checker_wants_optional_properties_required_and_an_object_root() {
        let optional = json!({
            "type": "object",
            "properties": {"a": {"type": ["string", "null"]}, "b": {"type": "string"}},
            "required": ["b"],
            "additionalProperties": false,
        });
        assert_eq!(
            violations(&optional),
            vec!["(root): property \"a\" is not in \"required\""]
        );
        let any_of = json!({"anyOf": [{"type": "string"}, {"type": "null"}]});
        assert_eq!(
            violations(&any_of),
            vec!["(root): the root must not be anyOf"]
        );
        let array = json!({"type": "array", "items": {"type": "string"}});
        assert_eq!(
            violations(&array),
            vec!["(root): the root must have \"type\": \"object\""]
        );
    }

    #[test]
    fn checker_limits_depth() {
        let mut schema = json!({"type": "string"});
        for _ in 0..11 {
            schema = json!({
                "type": "object",
                "properties": {"x": schema},
                "required": ["x"],
                "additionalProperties": false,
            });
        }
        let pointer = "/properties/x".repeat(10);
        assert_eq!(
            violations(&schema),
            vec![format!("{pointer}: objects nest deeper than 10")]
        );
    }
}
