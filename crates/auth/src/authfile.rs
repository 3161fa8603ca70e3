//! The two forms of Codex's `auth.json`, parsed without ever echoing a value.
//!
//! - API key: `{"OPENAI_API_KEY": "sk-..."}`
//! - ChatGPT login: `{"OPENAI_API_KEY": null, "tokens": {"id_token", "access_token",
//!   "refresh_token", "account_id"}, "last_refresh": "RFC 3339"}`
//!
//! The JSON is walked by hand rather than derived: serde's messages for a wrong type quote
//! the offending value, which here would be a token.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::jwt::{self, JwtClaims, JwtError};
use crate::secret::Secret;

/// Largest auth.json we read; real ones are a few kilobytes.
pub const MAX_AUTH_FILE_BYTES: u64 = 1024 * 1024;

/// Why an auth.json could not be used. Names fields and positions, never values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthFileError {
    /// Not JSON at all (or cut short).
    #[error("is not valid JSON (error at line {line}, column {column})")]
    Json {
        /// 1-based line of the syntax error.
        line: usize,
        /// 1-based column of the syntax error.
        column: usize,
    },
    /// Valid JSON, but not an object.
    #[error("is not a JSON object")]
    NotObject,
    /// A known field holds the wrong kind of value.
    #[error("has `{field}` that is not {expected}")]
    FieldType {
        /// The JSON path of the field, e.g. `tokens.access_token`.
        field: &'static str,
        /// What Codex expects there.
        expected: &'static str,
    },
    /// A field Codex requires is absent or empty.
    #[error("has no `{field}`")]
    MissingField {
        /// The JSON path of the field.
        field: &'static str,
    },
    /// A token that must be a JWT cannot be decoded.
    #[error("has `{field}` that {source}")]
    Jwt {
        /// The JSON path of the token.
        field: &'static str,
        /// What is wrong with it.
        source: JwtError,
    },
    /// Neither an API key nor ChatGPT tokens: a logged-out file.
    #[error("holds neither an API key nor ChatGPT tokens")]
    Empty,
}

/// A ChatGPT login's tokens and the claims decoded from them.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenSet {
    /// The OpenID id token (plan, account, email live here).
    pub id_token: Secret,
    /// The bearer token Codex sends with every model request.
    pub access_token: Secret,
    /// Single-use refresh token; `None` when the login cannot be renewed (e.g. a bare
    /// `CHATGPT_OAUTH_TOKEN`).
    pub refresh_token: Option<Secret>,
    /// `tokens.account_id`, the ChatGPT account the tokens act for.
    pub account_id: Option<String>,
    /// Claims of the id token.
    pub id_claims: JwtClaims,
    /// Claims of the access token; an error when it is not a readable JWT, in which case
    /// its expiry is unknown.
    pub access_claims: Result<JwtClaims, JwtError>,
}

impl TokenSet {
    /// Expiry of the access token (seconds since the epoch), the moment Codex itself
    /// considers the login stale.
    pub fn expires_at(&self) -> Option<i64> {
        self.access_claims.as_ref().ok().and_then(|c| c.expires_at)
    }

    /// Plan type, from the id token or else the access token.
    pub fn plan(&self) -> Option<&str> {
        self.id_claims
            .plan
            .as_deref()
            .or_else(|| self.access_claims.as_ref().ok()?.plan.as_deref())
    }

    /// Email, from the id token or else the access token.
    pub fn email(&self) -> Option<&str> {
        self.id_claims
            .email
            .as_deref()
            .or_else(|| self.access_claims.as_ref().ok()?.email.as_deref())
    }
}

/// A parsed auth.json, keeping the original object so that writing refreshed tokens back
/// preserves every field we do not understand.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthFile {
    object: RedactedObject,
    /// `OPENAI_API_KEY`, when set to a non-empty string.
    pub api_key: Option<Secret>,
    /// The ChatGPT login, when present.
    pub tokens: Option<TokenSet>,
    /// `last_refresh`.
    pub last_refresh: Option<DateTime<Utc>>,
}

/// The raw JSON object of an auth.json; redacted in `Debug` because it holds the tokens.
#[derive(Clone, PartialEq)]
struct RedactedObject(Map<String, Value>);

impl std::fmt::Debug for RedactedObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<&String> = self.0.keys().collect();
        write!(f, "{{keys: {keys:?}, values: {}}}", crate::secret::REDACTED)
    }
}

/// Parses the bytes of an auth.json.
pub fn parse(bytes: &[u8]) -> Result<AuthFile, AuthFileError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| AuthFileError::Json {
        line: e.line(),
        column: e.column(),
    })?;
    let Value::Object(object) = value else {
        return Err(AuthFileError::NotObject);
    };
    let api_key = match object.get("OPENAI_API_KEY") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(Secret::new(s.trim())),
        Some(_) => return Err(type_error("OPENAI_API_KEY", "a string or null")),
    };
    let tokens = match object.get("tokens") {
        None | Some(Value::Null) => None,
        Some(Value::Object(t)) => Some(parse_tokens(t)?),
        Some(_) => return Err(type_error("tokens", "an object")),
    };
    let last_refresh = match object.get("last_refresh") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            DateTime::parse_from_rfc3339(s)
                .map_err(|_| type_error("last_refresh", "an RFC 3339 time"))?
                .with_timezone(&Utc),
        ),
        Some(_) => return Err(type_error("last_refresh", "an RFC 3339 time")),
    };
    if api_key.is_none() && tokens.is_none() {
        return Err(AuthFileError::Empty);
    }
    Ok(AuthFile {
        object: RedactedObject(object),
        api_key,
        tokens,
        last_refresh,
    })
}

fn type_error(field: &'static str, expected: &'static str) -> AuthFileError {
    AuthFileError::FieldType { field, expected }
}

fn parse_tokens(t: &Map<String, Value>) -> Result<TokenSet, AuthFileError> {
    let id_token = required_string(t, "id_token", "tokens.id_token")?;
    let access_token = required_string(t, "access_token", "tokens.access_token")?;
    let refresh_token = match t.get("refresh_token") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(Secret::new(s.clone())),
        Some(_) => return Err(type_error("tokens.refresh_token", "a string")),
    };
    let account_id = match t.get("account_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(type_error("tokens.account_id", "a string or null")),
    };
    let id_claims = jwt::decode_claims(&id_token).map_err(|source| AuthFileError::Jwt {
        field: "tokens.id_token",
        source,
    })?;
    let access_claims = jwt::decode_claims(&access_token);
    Ok(TokenSet {
        id_token: Secret::new(id_token),
        access_token: Secret::new(access_token),
        refresh_token,
        account_id,
        id_claims,
        access_claims,
    })
}

fn required_string(
    t: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<String, AuthFileError> {
    match t.get(key) {
        None | Some(Value::Null) => Err(AuthFileError::MissingField { field }),
        Some(Value::String(s)) if s.trim().is_empty() => Err(AuthFileError::MissingField { field }),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(type_error(field, "a string")),
    }
}

/// New token values returned by a refresh; `None` keeps the old value, as Codex does.
#[derive(Debug, Clone, Default)]
pub struct RefreshedTokens {
    /// New id token.
    pub id_token: Option<Secret>,
    /// New access token.
    pub access_token: Option<Secret>,
    /// New (rotated) refresh token.
    pub refresh_token: Option<Secret>,
}

impl AuthFile {
    /// The bytes of this file after a refresh: same object, new tokens, `last_refresh` =
    /// `now`. Writing this back keeps the host's own Codex logged in.
    pub fn refreshed_bytes(&self, new: &RefreshedTokens, now: DateTime<Utc>) -> Vec<u8> {
        let mut object = self.object.0.clone();
        let tokens = object
            .entry("tokens")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(t) = tokens {
            for (key, value) in [
                ("id_token", &new.id_token),
                ("access_token", &new.access_token),
                ("refresh_token", &new.refresh_token),
            ] {
                if let Some(v) = value {
                    t.insert(key.into(), Value::String(v.expose().to_string()));
                }
            }
        }
        object.insert("last_refresh".into(), Value::String(rfc3339(now)));
        to_pretty_bytes(&Value::Object(object))
    }

    /// The `tokens` object as stored, including fields this crate does not interpret.
    pub(crate) fn tokens_object(&self) -> Option<&Map<String, Value>> {
        self.object.0.get("tokens").and_then(Value::as_object)
    }
}

/// The API-key form of auth.json, as `codex login --with-api-key` writes it.
pub fn api_key_bytes(key: &Secret) -> Vec<u8> {
    let mut object = Map::new();
    object.insert(
        "OPENAI_API_KEY".into(),
        Value::String(key.expose().to_string()),
    );
    to_pretty_bytes(&Value::Object(object))
}

/// The ChatGPT form of auth.json for an agent: only the login, never an API key that
/// would make Codex switch methods, with `refresh_token` replaced by `refresh_token`.
pub(crate) fn chatgpt_bytes(
    tokens_object: Map<String, Value>,
    refresh_token: &Secret,
    last_refresh: DateTime<Utc>,
) -> Vec<u8> {
    let mut tokens = tokens_object;
    tokens.insert(
        "refresh_token".into(),
        Value::String(refresh_token.expose().to_string()),
    );
    let mut object = Map::new();
    object.insert("OPENAI_API_KEY".into(), Value::Null);
    object.insert("tokens".into(), Value::Object(tokens));
    object.insert("last_refresh".into(), Value::String(rfc3339(last_refresh)));
    to_pretty_bytes(&Value::Object(object))
}

/// RFC 3339 with microseconds and `Z`, the shape Codex writes.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn to_pretty_bytes(value: &Value) -> Vec<u8> {
    // Serialising a Value into memory cannot fail (keys are strings); the fallback keeps
    // the function total without an unwrap.
    serde_json::to_vec_pretty(value).unwrap_or_else(|_| value.to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_never_quote_values() {
        let err = parse(br#"{"OPENAI_API_KEY": 12345678}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "has `OPENAI_API_KEY` that is not a string or null"
        );
        let err = parse(br#"{"tokens": {"id_token": "sk-secret-xyz", "access_token": "a"}}"#)
            .unwrap_err();
        assert!(!err.to_string().contains("sk-secret"), "{err}");
        let err = parse(b"{\"OPENAI_API_KEY\": \"sk-abc").unwrap_err();
        assert!(matches!(err, AuthFileError::Json { line: 1, .. }), "{err}");
    }

    #[test]
    fn empty_and_blank_files() {
        assert_eq!(parse(b"{}"), Err(AuthFileError::Empty));
        assert_eq!(
            parse(br#"{"OPENAI_API_KEY": "  "}"#),
            Err(AuthFileError::Empty)
        );
        assert_eq!(parse(b"[]"), Err(AuthFileError::NotObject));
    }
}
