//! The identity of a calling agent: one type and one rule for every crate (the tool
//! arguments, the runtime's container and folder names, the store's rows).

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

/// An agent's id: 1–64 of `[A-Za-z0-9_.-]`, and neither `.` nor `..`.
///
/// Agent ids name containers, Docker labels, directories and database rows, so the
/// character set is kept to what is safe in all of them (`.` and `..` would name a
/// folder's parent in the local runtime's `agents/<id>` layout); holding one of these
/// means the check has already been done.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AgentId(String);

/// A string that is not a valid [`AgentId`]; its Display tells the caller the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "agent_id {:?} is invalid: use 1-64 of A-Za-z0-9_.- (and not \".\" or \"..\")",
    excerpt(.value)
)]
pub struct InvalidAgentId {
    /// The rejected text, kept whole so callers can log or compare it.
    pub value: String,
}

/// Shortens a rejected value for messages: an agent id is short, so anything long is noise.
fn excerpt(value: &str) -> Cow<'_, str> {
    const SHOWN: usize = 80;
    if value.len() <= SHOWN {
        return Cow::Borrowed(value);
    }
    let mut end = SHOWN;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &value[..end]))
}

impl AgentId {
    /// Longest accepted id, in bytes (all accepted characters are ASCII).
    pub const MAX_LEN: usize = 64;

    /// The regular expression the input schemas advertise for agent ids (`.` and `..`
    /// match it but are refused too: the strict subset of JSON Schema has no lookahead).
    pub const PATTERN: &'static str = "^[A-Za-z0-9_.-]{1,64}$";

    /// Whether `value` would be accepted, without allocating.
    pub fn is_valid(value: &str) -> bool {
        (1..=Self::MAX_LEN).contains(&value.len())
            && value != "."
            && value != ".."
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    }

    /// Validates `id`, so invalid input is refused at the edge with the rule.
    pub fn new(id: impl Into<String>) -> Result<Self, InvalidAgentId> {
        Self::try_from(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl TryFrom<String> for AgentId {
    type Error = InvalidAgentId;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        if Self::is_valid(&value) {
            Ok(Self(value))
        } else {
            Err(InvalidAgentId { value })
        }
    }
}

impl TryFrom<&str> for AgentId {
    type Error = InvalidAgentId;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::try_from(value.to_owned())
    }
}

impl FromStr for AgentId {
    type Err = InvalidAgentId;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Self::try_from(value)
    }
}

impl From<AgentId> for String {
    fn from(id: AgentId) -> Self {
        id.0
    }
}

impl AsRef<str> for AgentId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl JsonSchema for AgentId {
    fn schema_name() -> Cow<'static, str> {
        Cow::Borrowed("AgentId")
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": Self::PATTERN,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn accepts_the_documented_alphabet() {
        for ok in ["a", "test_agent", "Agent-1.2", "...", ".a", &"x".repeat(64)] {
            let id: AgentId = ok.parse().unwrap();
            assert_eq!(id.as_str(), ok);
            assert_eq!(id.to_string(), ok);
        }
    }

    #[test]
    fn rejects_everything_else_with_the_rule_in_the_message() {
        for bad in ["", "a b", "a/b", "ä", &"x".repeat(65), "x\n", ".", ".."] {
            let err = bad.parse::<AgentId>().unwrap_err();
            assert_eq!(err.value, bad);
        }
        assert_eq!(
            "a b".parse::<AgentId>().unwrap_err().to_string(),
            r#"agent_id "a b" is invalid: use 1-64 of A-Za-z0-9_.- (and not "." or "..")"#
        );
    }

    #[test]
    fn long_rejections_are_shortened_in_the_message() {
        let message = "é".repeat(1000).parse::<AgentId>().unwrap_err().to_string();
        assert!(message.len() < 200, "{message}");
    }

    #[test]
    fn serde_round_trips_and_validates() {
        let id: AgentId = serde_json::from_str(r#""agent.7""#).unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""agent.7""#);
        assert!(serde_json::from_str::<AgentId>(r#""no way""#).is_err());
    }

    #[test]
    fn pattern_matches_the_rule() {
        assert_eq!(AgentId::PATTERN, "^[A-Za-z0-9_.-]{1,64}$");
        assert_eq!(AgentId::MAX_LEN, 64);
    }
}
