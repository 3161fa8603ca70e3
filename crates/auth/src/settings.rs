//! `CODEX_AUTH_METHOD` and `CODEX_PREFER_OAUTH`, parsed leniently for status and strictly
//! for startup.

use crate::error::AuthError;

/// Which kind of credential the operator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MethodSetting {
    /// Use whatever is found, ChatGPT first unless `CODEX_PREFER_OAUTH=false`.
    Auto,
    /// Only an API key; a ChatGPT login is ignored.
    ApiKey,
    /// Only a ChatGPT login; an API key is ignored.
    OAuth,
}

/// The two authentication preferences, with their documented defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// `CODEX_AUTH_METHOD` (default `auto`).
    pub method: MethodSetting,
    /// `CODEX_PREFER_OAUTH` (default `true`).
    pub prefer_oauth: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            method: MethodSetting::Auto,
            prefer_oauth: true,
        }
    }
}

impl Settings {
    /// Parses both values. A bad value falls back to its default and yields a sentence
    /// for the status, because a status must always be producible; the binary can refuse
    /// to start instead by calling [`Settings::parse_strict`].
    pub fn parse(method: Option<&str>, prefer_oauth: Option<&str>) -> (Self, Vec<String>) {
        let mut problems = Vec::new();
        let mut settings = Self::default();
        match parse_method(method) {
            Ok(m) => settings.method = m,
            Err(e) => problems.push(format!("{e}; using `auto`.")),
        }
        match parse_bool("CODEX_PREFER_OAUTH", prefer_oauth) {
            Ok(b) => settings.prefer_oauth = b,
            Err(e) => problems.push(format!("{e}; using `true`.")),
        }
        (settings, problems)
    }

    /// Parses both values, failing on the first unknown one (the architecture's rule:
    /// malformed settings stop startup with a message naming the setting).
    pub fn parse_strict(
        method: Option<&str>,
        prefer_oauth: Option<&str>,
    ) -> Result<Self, AuthError> {
        Ok(Self {
            method: parse_method(method)?,
            prefer_oauth: parse_bool("CODEX_PREFER_OAUTH", prefer_oauth)?,
        })
    }
}

fn parse_method(value: Option<&str>) -> Result<MethodSetting, AuthError> {
    let Some(raw) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(MethodSetting::Auto);
    };
    match raw.to_ascii_lowercase().as_str() {
        "auto" => Ok(MethodSetting::Auto),
        "api_key" | "apikey" | "api-key" => Ok(MethodSetting::ApiKey),
        "oauth" | "chatgpt" => Ok(MethodSetting::OAuth),
        _ => Err(invalid("CODEX_AUTH_METHOD", raw, "auto, api_key or oauth")),
    }
}

fn parse_bool(name: &'static str, value: Option<&str>) -> Result<bool, AuthError> {
    let Some(raw) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(true);
    };
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(invalid(name, raw, "true or false")),
    }
}

fn invalid(name: &'static str, raw: &str, expected: &'static str) -> AuthError {
    AuthError::InvalidSetting {
        name,
        value: shown_value(raw),
        expected,
    }
}

/// Echoes a bad setting only when it looks like a word: someone who pasted a key into the
/// wrong variable should not find it in the logs.
fn shown_value(raw: &str) -> String {
    let plain = raw.len() <= 24
        && raw
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if plain {
        format!("`{raw}`")
    } else {
        "a value that is not shown".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_and_strict() {
        let (s, p) = Settings::parse(Some(" API_KEY "), Some("no"));
        assert_eq!(
            (s, p),
            (
                Settings {
                    method: MethodSetting::ApiKey,
                    prefer_oauth: false
                },
                vec![]
            )
        );
        let (s, p) = Settings::parse(Some("bogus"), Some("maybe"));
        assert_eq!(s, Settings::default());
        assert_eq!(
            p,
            vec![
                "CODEX_AUTH_METHOD is `bogus`, which is not one of auto, api_key or oauth; using `auto`.",
                "CODEX_PREFER_OAUTH is `maybe`, which is not one of true or false; using `true`.",
            ]
        );
        let err = Settings::parse_strict(Some("sk-proj-abcdefghijklmnopqrstuvwxyz"), None)
            .unwrap_err()
            .to_string();
        assert!(!err.contains("sk-proj"), "{err}");
    }
}
