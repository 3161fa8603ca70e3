//! The validated agent identifier.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

use crate::RuntimeError;

/// The identity of one calling agent, valid by construction.
///
/// The id becomes part of container, volume and folder names, so it is checked once here
/// instead of at every place it is spliced into a name: 1–64 characters from
/// `[A-Za-z0-9_.-]` (the project's contract), and additionally neither `.` nor `..`, which
/// would name the parent folder in the local backend's `agents/<id>` layout.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct AgentId(String);

impl AgentId {
    /// The longest id accepted.
    pub const MAX_LEN: usize = 64;

    /// Validates `id`, so that invalid input is refused at the edge with a message that
    /// names the rule.
    pub fn new(id: impl Into<String>) -> Result<Self, RuntimeError> {
        let id = id.into();
        let valid_chars = id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if id.is_empty() || id.len() > Self::MAX_LEN || !valid_chars || id == "." || id == ".." {
            return Err(RuntimeError::InvalidAgentId { id });
        }
        Ok(Self(id))
    }

    /// The id as text, for building names and labels.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for AgentId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl FromStr for AgentId {
    type Err = RuntimeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for AgentId {
    type Error = RuntimeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::new(s)
    }
}

impl<'de> Deserialize<'de> for AgentId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_contract_alphabet() {
        for ok in [
            "a",
            "A-b_c.d",
            "0",
            "x".repeat(64).as_str(),
            "-lead",
            "a..b",
        ] {
            assert!(AgentId::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn refuses_everything_else() {
        for bad in [
            "",
            ".",
            "..",
            "a/b",
            "a b",
            "é",
            "x".repeat(65).as_str(),
            "a\0",
        ] {
            let err = AgentId::new(bad).err();
            assert!(
                matches!(err, Some(RuntimeError::InvalidAgentId { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<AgentId>("\"ok-1\"").is_ok());
        assert!(serde_json::from_str::<AgentId>("\"../x\"").is_err());
    }
}
