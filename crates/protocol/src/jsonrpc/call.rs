//! The shape almost every message a client sends has: a request or notification with an
//! integer or string id and object params. [`Message::decode`](super::Message::decode)
//! reads it straight from the bytes, without first building a `Value` for the envelope
//! (its map and key strings were a fifth of `mcpd`'s user-space instructions for a
//! `tools/list`). Anything else, odd or invalid (a null id, `params` that is not an
//! object, an escaped `jsonrpc`, a duplicate key, a batch), goes the general way, which
//! names the problem; so both ways always give the same result.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use serde_json::Value;

use super::{Message, Notification, Request, RequestId};

#[derive(Deserialize)]
struct Call<'a> {
    #[serde(borrow)]
    jsonrpc: &'a str,
    #[serde(default)]
    id: Id,
    method: String,
    #[serde(default, deserialize_with = "present")]
    params: Option<Value>,
}

/// `id` as written: absent and null differ (null is an error for a request).
#[derive(Default)]
enum Id {
    #[default]
    Absent,
    Null,
    Given(RequestId),
}

impl<'de> Deserialize<'de> for Id {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = Id;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an integer, a string or null")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Id, E> {
                Ok(Id::Given(RequestId::Number(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Id, E> {
                i64::try_from(v)
                    .map(|v| Id::Given(RequestId::Number(v)))
                    .map_err(|_| E::custom("id out of range"))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Id, E> {
                Ok(Id::Given(RequestId::String(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Id, E> {
                Ok(Id::Given(RequestId::String(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Id, E> {
                Ok(Id::Null)
            }
        }
        deserializer.deserialize_any(IdVisitor)
    }
}

/// A present `params`, null included (which the general way refuses).
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// The message when `text` has the common shape; `None` sends it the general way.
pub(super) fn decode(text: &str) -> Option<Message> {
    let call: Call<'_> = serde_json::from_str(text).ok()?;
    if call.jsonrpc != super::JSONRPC_VERSION
        || call.params.as_ref().is_some_and(|p| !p.is_object())
    {
        return None;
    }
    match call.id {
        Id::Given(id) => Some(Message::Request(Request::new(id, call.method, call.params))),
        Id::Absent => Some(Message::Notification(Notification::new(
            call.method,
            call.params,
        ))),
        Id::Null => None,
    }
}

#[cfg(test)]
mod tests {
    use pretty_assertions::assert_eq;

    use super::super::{DecodeError, Message};

    fn general(text: &str) -> Result<Message, DecodeError> {
        let value = serde_json::from_str(text)
            .map_err(|e| DecodeError::new(None, crate::error::ErrorObject::parse_error(e)))?;
        Message::from_value(value)
    }

    /// Whatever the input, `decode` (common shape first) answers exactly as the general
    /// way alone does, errors included.
    #[test]
    fn both_ways_agree() {
        let cases = [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":"a\"b","method":"tools/call","params":{"name":"x","arguments":{"k":[1,2]}}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"method":"ping","id":-5,"jsonrpc":"2.0","extra":true}"#,
            r#"{"jsonrpc":"2.0","id":9223372036854775807,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1e2,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":null}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":[1]}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":7}"#,
            r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2\u002e0","id":1,"method":"ping"}"#,
            r#"{"id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32600,"message":"no"}}"#,
            r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#,
            r#""just a string""#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping""#,
        ];
        for case in cases {
            let fast = Message::decode(case.as_bytes()).map_err(|e| e.error);
            let slow = general(case).map_err(|e| e.error);
            assert_eq!(fast, slow, "{case}");
        }
    }

    /// The common shape is taken by the direct way (not just equal by accident).
    #[test]
    fn common_shapes_take_the_direct_way() {
        let taken: Vec<bool> = [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{}}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":null}"#,
        ]
        .iter()
        .map(|case| super::decode(case).is_some())
        .collect();
        assert_eq!(taken, vec![true, true, false, false]);
    }

    /// Fuzzing (property-based; `PROPTEST_CASES` sets the number of cases, 256 by
    /// default): on any input both ways agree, and neither panics.
    mod props {
        use proptest::prelude::*;
        use serde_json::{Value, json};

        use super::{Message, general};

        /// Any JSON value, a few levels deep.
        fn any_json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::from),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                any::<f64>()
                    .prop_filter("finite", |f| f.is_finite())
                    .prop_map(Value::from),
                ".{0,12}".prop_map(Value::from),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map(".{0,8}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        /// Messages of nearly the common shape: each member present, absent or odd.
        fn near_valid() -> impl Strategy<Value = String> {
            let member = |good: Value| prop_oneof![3 => Just(Some(good)), 1 => Just(None), 1 => any_json().prop_map(Some)];
            (
                member(json!("2.0")),
                member(json!(7)),
                member(json!("tools/call")),
                member(json!({"name": "x", "arguments": {}})),
                prop::option::of(("[a-z]{1,6}", any_json())),
                0usize..3,
            )
                .prop_map(|(jsonrpc, id, method, params, extra, cut)| {
                    let mut obj = serde_json::Map::new();
                    for (k, v) in [
                        ("jsonrpc", jsonrpc),
                        ("id", id),
                        ("method", method),
                        ("params", params),
                    ] {
                        if let Some(v) = v {
                            obj.insert(k.into(), v);
                        }
                    }
                    if let Some((k, v)) = extra {
                        obj.insert(k, v);
                    }
                    let text = Value::Object(obj).to_string();
                    // Sometimes cut the text short: near-valid bytes.
                    let end = text.len().saturating_sub(cut);
                    text.get(..end).unwrap_or(&text).to_string()
                })
        }

        fn agree(text: &str) -> Result<(), TestCaseError> {
            let fast = Message::decode(text.as_bytes()).map_err(|e| e.error);
            let slow = general(text).map_err(|e| e.error);
            prop_assert_eq!(fast, slow, "{}", text);
            Ok(())
        }

        proptest! {
            #[test]
            fn both_ways_agree_on_near_valid_messages(text in near_valid()) {
                agree(&text)?;
            }

            #[test]
            fn both_ways_agree_on_any_json(value in any_json()) {
                agree(&value.to_string())?;
            }

            #[test]
            fn both_ways_agree_on_any_text(text in ".{0,64}") {
                agree(&text)?;
            }

            #[test]
            fn any_bytes_decode_or_fail_without_panicking(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
                let _ = Message::decode(&bytes);
            }
        }
    }
}
