//! Integrity-protected `requestState` for multi round-trip results (2026-07-28).
//!
//! The client must hand `requestState` back untouched, but nothing stops it from
//! tampering. Sealing the state with HMAC-SHA256 under a server secret lets the server
//! trust what comes back without keeping per-request memory, which is what a stateless
//! server needs.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Why a returned `requestState` was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// Not of the `payload.tag` form this server produces.
    #[error("requestState is malformed")]
    Malformed,
    /// The tag does not match: altered, or sealed by another server.
    #[error("requestState failed its integrity check")]
    Tampered,
}

/// Seals and opens request state with one secret key.
#[derive(Clone)]
pub struct StateSealer {
    key: Vec<u8>,
}

impl std::fmt::Debug for StateSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StateSealer { key: <redacted> }")
    }
}

impl StateSealer {
    /// A sealer using `key` (at least 32 random bytes in practice).
    pub fn new(key: impl Into<Vec<u8>>) -> Self {
        Self { key: key.into() }
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        match HmacSha256::new_from_slice(&self.key) {
            Ok(mac) => mac,
            Err(_) => unreachable_hmac(),
        }
    }

    /// Seals a JSON value into an opaque string.
    pub fn seal(&self, state: &Value) -> String {
        let payload = URL_SAFE_NO_PAD.encode(state.to_string());
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let tag = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{payload}.{tag}")
    }

    /// Opens a sealed string, refusing anything altered.
    pub fn open(&self, sealed: &str) -> Result<Value, StateError> {
        let (payload, tag) = sealed.split_once('.').ok_or(StateError::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| StateError::Malformed)?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&tag).map_err(|_| StateError::Tampered)?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| StateError::Malformed)?;
        serde_json::from_slice(&json).map_err(|_| StateError::Malformed)
    }
}

fn unreachable_hmac() -> HmacSha256 {
    panic!("HMAC-SHA256 accepts keys of every length")
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn sealed_state_round_trips_and_refuses_tampering() {
        let sealer = StateSealer::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let state = json!({"step": 2, "tool": "test_tool_with_elicitation"});
        let sealed = sealer.seal(&state);
        assert_eq!(sealer.open(&sealed), Ok(state));

        let (payload, tag) = sealed.split_once('.').unwrap();
        let forged_payload = URL_SAFE_NO_PAD.encode(json!({"step": 3}).to_string());
        assert_eq!(
            sealer.open(&format!("{forged_payload}.{tag}")),
            Err(StateError::Tampered)
        );
        assert_eq!(sealer.open(payload), Err(StateError::Malformed));
        let other = StateSealer::new(b"another key entirely, 32 bytes!!".to_vec());
        assert_eq!(other.open(&sealed), Err(StateError::Tampered));
    }
}
