//! A string that must never reach a log line, an error message or a status document.

use std::fmt;

/// A credential value (API key, JWT, refresh token, agent ticket).
///
/// Exists so that the compiler, not reviewer vigilance, keeps secrets out of output: its
/// `Debug` and `Display` print a fixed marker, it implements no `Serialize`, and reading
/// the value requires the explicit, greppable [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

/// What every redacted value prints as.
pub const REDACTED: &str = "<redacted>";

impl Secret {
    /// Wraps a value; the caller hands over ownership so no unredacted copy lingers in a
    /// struct that could be printed.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for the few places that must send or store it (HTTP bodies, the
    /// bytes of an auth.json).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty after trimming: an empty key is "no key", not a key.
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Bytes that hold secrets (a whole auth.json), redacted the same way as [`Secret`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps bytes that contain credentials.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The raw bytes, for writing them to the one file they belong in.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{REDACTED} ({} bytes)", self.0.len())
    }
}

/// Shows an email address as `jo***@example.com`: enough for a person to recognise their
/// account in a status line, not enough to harvest the address from logs.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) if !local.is_empty() => {
            let keep = if local.chars().count() > 3 { 2 } else { 1 };
            let shown: String = local.chars().take(keep).collect();
            format!("{shown}***@{domain}")
        }
        _ => "***".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("sk-live-123");
        assert_eq!(format!("{s} {s:?}"), "<redacted> <redacted>");
        let b = SecretBytes::new(b"sk-live-123".to_vec());
        assert_eq!(format!("{b:?}"), "<redacted> (11 bytes)");
    }

    #[test]
    fn masks_email() {
        assert_eq!(mask_email("jonathan@example.com"), "jo***@example.com");
        assert_eq!(mask_email("ab@x.io"), "a***@x.io");
        assert_eq!(mask_email("not-an-email"), "***");
        assert_eq!(mask_email("@x.io"), "***");
    }
}
