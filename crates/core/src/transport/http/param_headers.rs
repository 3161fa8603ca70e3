//! `Mcp-Param-{Name}` validation (2026-07-28): tool parameters whose schema carries
//! `x-mcp-header` are mirrored into headers by clients, and the server must check that
//! each mirrored value matches the body.

use codex_mcp_protocol::ErrorObject;
use codex_mcp_protocol::jsonrpc::Request;
use http::HeaderMap;
use serde_json::Value;

use super::HttpState;
use super::headers::decode_header_value;

/// Header-annotated properties of a schema: (header name, property path).
pub fn annotated(schema: &Value) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    walk(schema, &mut Vec::new(), &mut out);
    out
}

fn walk(schema: &Value, path: &mut Vec<String>, out: &mut Vec<(String, Vec<String>)>) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (key, sub) in props {
        path.push(key.clone());
        if let Some(name) = sub.get("x-mcp-header").and_then(Value::as_str) {
            out.push((name.to_string(), path.clone()));
        }
        walk(sub, path, out);
        path.pop();
    }
}

fn value_at<'a>(args: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(args, |v, key| v.get(key))
}

fn header_matches(body: &Value, header: &str) -> bool {
    match body {
        Value::String(s) => s == header,
        Value::Bool(b) => header == if *b { "true" } else { "false" },
        Value::Number(n) => match (n.as_f64(), header.trim().parse::<f64>()) {
            (Some(a), Ok(b)) => a == b,
            _ => false,
        },
        _ => false,
    }
}

/// Checks every `Mcp-Param-*` header the called tool's schema asks for.
pub fn check(state: &HttpState, headers: &HeaderMap, request: &Request) -> Result<(), ErrorObject> {
    let params = request.params.as_ref();
    let Some(name) = params.and_then(|p| p.get("name")).and_then(Value::as_str) else {
        return Ok(());
    };
    let Some(tool) = state.server.tool_definition(name) else {
        return Ok(());
    };
    let empty = Value::Object(Default::default());
    let args = params.and_then(|p| p.get("arguments")).unwrap_or(&empty);
    for (header_name, path) in annotated(&tool.input_schema) {
        let full = format!("mcp-param-{}", header_name.to_ascii_lowercase());
        let raw = match headers.get(&full) {
            Some(v) => Some(v.to_str().map_err(|_| {
                ErrorObject::header_mismatch(format!(
                    "Mcp-Param-{header_name} contains invalid characters"
                ))
            })?),
            None => None,
        };
        let body = value_at(args, &path).filter(|v| !v.is_null());
        match (body, raw) {
            (None, _) => {}
            (Some(_), None) => {
                return Err(ErrorObject::header_mismatch(format!(
                    "the Mcp-Param-{header_name} header is required because arguments.{} is set",
                    path.join(".")
                )));
            }
            (Some(value), Some(raw)) => {
                let decoded = decode_header_value(raw).ok_or_else(|| {
                    ErrorObject::header_mismatch(format!(
                        "Mcp-Param-{header_name} has invalid base64"
                    ))
                })?;
                if !header_matches(value, &decoded) {
                    return Err(ErrorObject::header_mismatch(format!(
                        "Mcp-Param-{header_name} header {decoded:?} does not match arguments.{} ({value})",
                        path.join(".")
                    )));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn finds_annotated_properties_through_properties_only() {
        let schema = json!({
            "type": "object",
            "properties": {
                "region": {"type": "string", "x-mcp-header": "Region"},
                "opts": {"type": "object", "properties": {"tenant": {"type": "integer", "x-mcp-header": "Tenant"}}},
                "list": {"type": "array", "items": {"type": "string", "x-mcp-header": "Nope"}}
            }
        });
        assert_eq!(
            annotated(&schema),
            vec![
                (
                    "Tenant".to_string(),
                    vec!["opts".to_string(), "tenant".to_string()]
                ),
                ("Region".to_string(), vec!["region".to_string()]),
            ]
        );
    }

    #[test]
    fn numeric_and_boolean_comparison() {
        assert!(header_matches(&json!(42), "42.0"));
        assert!(header_matches(&json!(true), "true"));
        assert!(!header_matches(&json!("a"), "b"));
    }

    /// Fuzzing (property-based; `PROPTEST_CASES` cases, 256 by default).
    mod props {
        use base64::Engine as _;
        use proptest::prelude::*;
        use serde_json::json;

        use super::super::header_matches;
        use crate::transport::http::headers::decode_header_value;

        proptest! {
            #[test]
            fn any_header_text_decodes_or_not_without_panicking(raw in "\\PC{0,40}", body in ".{0,10}") {
                if let Some(decoded) = decode_header_value(&raw) {
                    let _ = header_matches(&json!(body), &decoded);
                    let _ = header_matches(&json!(1.5), &decoded);
                }
            }

            #[test]
            fn base64_mirrors_round_trip(text in "\\PC{0,40}") {
                let raw = format!(
                    "=?base64?{}?=",
                    base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
                );
                prop_assert_eq!(decode_header_value(&raw), Some(text.clone()));
                prop_assert!(header_matches(&json!(text), &text));
            }

            #[test]
            fn plain_visible_ascii_mirrors_itself(text in "[ -~]{0,40}") {
                prop_assume!(!(text.starts_with("=?base64?") && text.ends_with("?=")));
                prop_assert_eq!(decode_header_value(&text), Some(text.clone()));
            }
        }
    }
}
