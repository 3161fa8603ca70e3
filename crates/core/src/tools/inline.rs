//! Keeping a tool result inline-sized (`CODEX_MCP_INLINE_RESULT_BYTES`): past the limit,
//! the longest strings of the structured result are cut to their first part and say
//! where the rest is (the call's result resource). Only string values shrink, so the
//! result still validates against the tool's outputSchema (no schema bounds string
//! lengths), with no schema change.

use serde_json::Value;

/// The default limit (64 KiB).
pub const DEFAULT_INLINE_RESULT_BYTES: usize = 64 << 10;

/// The smallest limit accepted: below it a result could not say what it holds.
pub const MIN_INLINE_RESULT_BYTES: usize = 4 << 10;

/// The setting's name.
pub const INLINE_RESULT_SETTING: &str = "CODEX_MCP_INLINE_RESULT_BYTES";

/// A string is never cut below this many bytes.
const KEEP_AT_LEAST: usize = 512;

/// At most this many strings are cut before giving up (a result made of many small
/// strings stays as it is).
const MAX_CUTS: usize = 64;

/// What [`fit`] did to a result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    /// The full result's size in bytes (compact JSON).
    pub full_bytes: usize,
    /// The inline result's size in bytes.
    pub inline_bytes: usize,
    /// How many string values were cut.
    pub cut_strings: usize,
}

fn size(value: &Value) -> usize {
    serde_json::to_vec(value).map_or(usize::MAX, |v| v.len())
}

/// The longest string in `value`, as a mutable reference with its length.
fn longest(value: &mut Value) -> Option<&mut String> {
    match value {
        Value::String(_) => match value {
            Value::String(s) => Some(s),
            _ => None,
        },
        Value::Array(items) => items.iter_mut().filter_map(longest).max_by_key(|s| s.len()),
        Value::Object(map) => map.values_mut().filter_map(longest).max_by_key(|s| s.len()),
        _ => None,
    }
}

/// Cuts `value` under `limit` bytes of compact JSON when it is over, each cut string
/// ending with `marker` (which names where the full text is). `None` when it was
/// already small enough.
pub fn fit(value: &mut Value, limit: usize, marker: &str) -> Option<Truncation> {
    let full_bytes = size(value);
    if full_bytes <= limit {
        return None;
    }
    let mut current = full_bytes;
    let mut cut_strings = 0;
    while current > limit && cut_strings < MAX_CUTS {
        let Some(s) = longest(value) else { break };
        if s.len() <= KEEP_AT_LEAST + marker.len() {
            break;
        }
        let excess = current - limit;
        let mut keep = s
            .len()
            .saturating_sub(excess + marker.len() + 16)
            .max(KEEP_AT_LEAST);
        while !s.is_char_boundary(keep) {
            keep -= 1;
        }
        s.truncate(keep);
        s.push_str(marker);
        cut_strings += 1;
        current = size(value);
    }
    Some(Truncation {
        full_bytes,
        inline_bytes: current,
        cut_strings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn a_small_result_is_left_alone() {
        let mut v = json!({"reply": "hi", "files": ["a"]});
        assert_eq!(fit(&mut v, 4096, " [cut]"), None);
        assert_eq!(v, json!({"reply": "hi", "files": ["a"]}));
    }

    #[test]
    fn the_longest_strings_are_cut_under_the_limit_keeping_their_start() {
        let big = "é".repeat(300_000) + "end";
        let mut v = json!({"reply": big, "files": ["a.rs"], "n": 3, "other": "x".repeat(9000)});
        let t = fit(&mut v, 8192, " [cut]").expect("cut");
        assert!(t.inline_bytes <= 8192, "{t:?}");
        assert!(t.full_bytes > 600_000, "{t:?}");
        let reply = v["reply"].as_str().unwrap();
        assert!(reply.starts_with("éé"), "{reply}");
        assert!(reply.ends_with(" [cut]"), "{reply}");
        assert_eq!(v["files"], json!(["a.rs"]));
        assert_eq!(v["n"], json!(3));
        assert_eq!(size(&v), t.inline_bytes);
    }

    #[test]
    fn many_small_strings_cannot_be_cut_and_say_so() {
        let mut v = json!({"items": vec!["abc"; 5000]});
        let t = fit(&mut v, 4096, " [cut]").expect("over");
        assert_eq!(t.cut_strings, 0);
        assert!(t.inline_bytes > 4096);
    }
}
