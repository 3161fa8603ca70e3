//! A stable digest of tool-call arguments.
//!
//! Call records keep a digest instead of the arguments, which can hold secrets and whole
//! files; the digest still shows when two calls had the same arguments. Object keys are
//! sorted before hashing, so the digest does not depend on key order or on whether
//! serde_json was built with `preserve_order`.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// `sha256:` followed by the lowercase hex SHA-256 of the arguments in canonical JSON
/// (object keys sorted, no whitespace).
pub fn arguments_digest(arguments: &Value) -> String {
    let mut canonical = String::new();
    write_canonical(arguments, &mut canonical);
    digest_of_canonical(&canonical)
}

/// [`arguments_digest`] of an arguments object, without copying it into a `Value`
/// (tool arguments arrive as a map and can be megabytes).
pub fn arguments_digest_of_object(arguments: &Map<String, Value>) -> String {
    let mut canonical = String::new();
    write_object(arguments, &mut canonical);
    digest_of_canonical(&canonical)
}

fn digest_of_canonical(canonical: &str) -> String {
    let hash = Sha256::digest(canonical.as_bytes());
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for byte in hash {
        out.push(hex_digit(byte >> 4));
        out.push(hex_digit(byte & 0x0f));
    }
    out
}

fn hex_digit(nibble: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(nibble & 0x0f)])
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => write_object(map, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn write_object(map: &Map<String, Value>, out: &mut String) {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    out.push('{');
    for (i, (key, item)) in entries.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&Value::String(key.clone()).to_string());
        out.push(':');
        write_canonical(item, out);
    }
    out.push('}');
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn key_order_does_not_matter() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":{"y":[1,2],"x":"s"}}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":{"x":"s","y":[1,2]},"b":1}"#).unwrap();
        assert_eq!(arguments_digest(&a), arguments_digest(&b));
    }

    #[test]
    fn digest_of_empty_object_is_sha256_of_braces() {
        // sha256("{}")
        assert_eq!(
            arguments_digest(&json!({})),
            "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
        );
    }

    #[test]
    fn different_arguments_differ() {
        assert_ne!(
            arguments_digest(&json!({"task": "a"})),
            arguments_digest(&json!({"task": "b"}))
        );
    }

    #[test]
    fn an_object_digests_the_same_as_its_value() {
        let v = json!({"b": [1, {"z": null}], "a": "x"});
        let Value::Object(map) = &v else {
            unreachable!()
        };
        assert_eq!(arguments_digest_of_object(map), arguments_digest(&v));
    }
}
