//! Protocol revisions, their eras, and version negotiation.

use serde::{Deserialize, Serialize};

/// A revision of the MCP specification this server speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ProtocolVersion {
    /// The original revision, with the HTTP+SSE transport.
    #[serde(rename = "2024-11-05")]
    V2024_11_05,
    /// Streamable HTTP arrives.
    #[serde(rename = "2025-03-26")]
    V2025_03_26,
    /// Structured tool output, no batching.
    #[serde(rename = "2025-06-18")]
    V2025_06_18,
    /// The last revision with the `initialize` handshake.
    #[serde(rename = "2025-11-25")]
    V2025_11_25,
    /// Stateless: per-request `_meta`, `server/discover`, `resultType`.
    #[serde(rename = "2026-07-28")]
    V2026_07_28,
}

/// The two ways a client and server talk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Era {
    /// Handshake and sessions (2025-11-25 and earlier).
    Legacy,
    /// Stateless requests (2026-07-28).
    Modern,
}

impl ProtocolVersion {
    /// Every revision, oldest first.
    pub const ALL: [Self; 5] = [
        Self::V2024_11_05,
        Self::V2025_03_26,
        Self::V2025_06_18,
        Self::V2025_11_25,
        Self::V2026_07_28,
    ];
    /// The newest revision.
    pub const LATEST: Self = Self::V2026_07_28;
    /// The newest revision that has the `initialize` handshake.
    pub const LATEST_LEGACY: Self = Self::V2025_11_25;
    /// What a streamable HTTP server assumes when the header is absent (per 2025-06-18+).
    pub const HTTP_DEFAULT: Self = Self::V2025_03_26;

    /// The version string as it appears on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::V2024_11_05 => "2024-11-05",
            Self::V2025_03_26 => "2025-03-26",
            Self::V2025_06_18 => "2025-06-18",
            Self::V2025_11_25 => "2025-11-25",
            Self::V2026_07_28 => "2026-07-28",
        }
    }

    /// Parses a wire version string; `None` for anything this server does not speak.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Which era the revision belongs to.
    pub const fn era(self) -> Era {
        match self {
            Self::V2026_07_28 => Era::Modern,
            _ => Era::Legacy,
        }
    }

    /// Every supported version string, newest first (for `supportedVersions` and errors).
    pub fn supported_strings() -> Vec<&'static str> {
        Self::ALL.iter().rev().map(|v| v.as_str()).collect()
    }

    /// Answers an `initialize` request: echo the client's version when it is a
    /// handshake-era revision we speak, otherwise offer our newest handshake revision.
    pub fn negotiate_initialize(requested: &str) -> Self {
        match Self::parse(requested) {
            Some(v) if v.era() == Era::Legacy => v,
            _ => Self::LATEST_LEGACY,
        }
    }

    /// Whether JSON-RPC responses in this revision may carry `structuredContent`,
    /// `outputSchema` and `title` (added in 2025-06-18).
    pub fn has_structured_output(self) -> bool {
        self >= Self::V2025_06_18
    }
}

impl std::fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn negotiation_echoes_known_legacy_and_falls_back() {
        assert_eq!(
            ProtocolVersion::negotiate_initialize("2025-03-26"),
            ProtocolVersion::V2025_03_26
        );
        assert_eq!(
            ProtocolVersion::negotiate_initialize("2024-11-05"),
            ProtocolVersion::V2024_11_05
        );
        assert_eq!(
            ProtocolVersion::negotiate_initialize("2099-01-01"),
            ProtocolVersion::V2025_11_25
        );
        assert_eq!(
            ProtocolVersion::negotiate_initialize("2026-07-28"),
            ProtocolVersion::V2025_11_25
        );
    }

    #[test]
    fn versions_round_trip_as_strings() {
        for v in ProtocolVersion::ALL {
            let json = serde_json::to_value(v).unwrap();
            assert_eq!(json, serde_json::Value::String(v.as_str().into()));
            assert_eq!(ProtocolVersion::parse(v.as_str()), Some(v));
        }
        assert_eq!(ProtocolVersion::parse("2025-13-01"), None);
    }
}
