//! Reading the few JWT claims Codex itself relies on.
//!
//! Codex never verifies the signatures of the tokens in auth.json (the server that
//! receives them does); it only decodes the payload for the expiry (`exp`) and, from the
//! id token, the `https://api.openai.com/auth` claim object (plan, account) and the email.
//! We decode the same way and no further, so a token Codex accepts is one we accept.

use base64::Engine;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use serde::Deserialize;
use serde_json::Value;

/// The claim object under which OpenAI puts the ChatGPT account facts.
pub const OPENAI_AUTH_CLAIM: &str = "https://api.openai.com/auth";

/// Why a token could not be decoded. Carries no part of the token, so it is safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not `header.payload.signature` with three non-empty parts (e.g. truncated).
    #[error("is not a JWT (expected three dot-separated parts)")]
    NotThreeParts,
    /// The payload part is not base64url.
    #[error("has a payload that is not base64url")]
    Base64,
    /// The payload is not a JSON object, or a known claim has the wrong type.
    #[error("has a payload that is not a JSON object of claims")]
    Json,
}

/// The claims of one token that matter to status, injection and refresh policy.
///
/// Holds no secret: these are the facts `mcpd auth status` is allowed to show (the email
/// only masked, by [`crate::status`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JwtClaims {
    /// `exp`, seconds since the Unix epoch.
    pub expires_at: Option<i64>,
    /// `iat`, seconds since the Unix epoch; with `exp` it gives the token's lifetime,
    /// which bounds how early a refresh may be scheduled.
    pub issued_at: Option<i64>,
    /// `email`, or the email in the OpenAI profile claim.
    pub email: Option<String>,
    /// `chatgpt_plan_type` (free, plus, pro, team, ...), as Codex shows it.
    pub plan: Option<String>,
    /// `chatgpt_account_id`: the workspace the login acts for.
    pub chatgpt_account_id: Option<String>,
    /// `chatgpt_user_id` (or the older `user_id`).
    pub chatgpt_user_id: Option<String>,
}

#[derive(Deserialize)]
struct RawClaims {
    #[serde(default)]
    exp: Option<NumericDate>,
    #[serde(default)]
    iat: Option<NumericDate>,
    #[serde(default)]
    email: Option<String>,
    #[serde(rename = "https://api.openai.com/profile", default)]
    profile: Option<Profile>,
    #[serde(rename = "https://api.openai.com/auth", default)]
    auth: Option<AuthClaim>,
}

/// JWT NumericDate: integer or (rarely) fractional seconds.
#[derive(Deserialize)]
#[serde(untagged)]
enum NumericDate {
    Int(i64),
    Float(f64),
}

impl NumericDate {
    fn seconds(&self) -> i64 {
        match self {
            Self::Int(v) => *v,
            // Truncation is the intent: sub-second precision is irrelevant to expiry.
            Self::Float(v) => *v as i64,
        }
    }
}

#[derive(Deserialize)]
struct Profile {
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
struct AuthClaim {
    #[serde(default)]
    chatgpt_plan_type: Option<String>,
    #[serde(default)]
    chatgpt_account_id: Option<String>,
    #[serde(default)]
    chatgpt_user_id: Option<String>,
    #[serde(default)]
    user_id: Option<String>,
}

/// Decodes the payload of `token` without verifying it (see the module note for why).
pub fn decode_claims(token: &str) -> Result<JwtClaims, JwtError> {
    let payload = decode_payload(token)?;
    // Via `Value`: serde would otherwise accept a JSON array as a positional struct.
    let value: Value = serde_json::from_slice(&payload).map_err(|_| JwtError::Json)?;
    if !value.is_object() {
        return Err(JwtError::Json);
    }
    let raw: RawClaims = serde_json::from_value(value).map_err(|_| JwtError::Json)?;
    let auth = raw.auth;
    Ok(JwtClaims {
        expires_at: raw.exp.as_ref().map(NumericDate::seconds),
        issued_at: raw.iat.as_ref().map(NumericDate::seconds),
        email: raw.email.or_else(|| raw.profile.and_then(|p| p.email)),
        plan: auth.as_ref().and_then(|a| a.chatgpt_plan_type.clone()),
        chatgpt_account_id: auth.as_ref().and_then(|a| a.chatgpt_account_id.clone()),
        chatgpt_user_id: auth.and_then(|a| a.chatgpt_user_id.or(a.user_id)),
    })
}

fn decode_payload(token: &str) -> Result<Vec<u8>, JwtError> {
    let mut parts = token.trim().split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::NotThreeParts);
    };
    if h.is_empty() || p.is_empty() || s.is_empty() {
        return Err(JwtError::NotThreeParts);
    }
    URL_SAFE_NO_PAD
        .decode(p)
        .or_else(|_| URL_SAFE.decode(p))
        .map_err(|_| JwtError::Base64)
}

/// Builds an unsigned JWT (`alg: none`) carrying `claims`.
///
/// Codex requires a decodable `id_token` in a ChatGPT auth.json even when only an access
/// token was supplied (`CHATGPT_OAUTH_TOKEN`); it reads claims from it and verifies
/// nothing, so an unsigned token with the facts we know is what makes such a login
/// loadable. Tests use it to build synthetic logins.
pub fn unsigned_jwt(claims: &Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    // A non-empty signature part: Codex rejects tokens with an empty third part.
    format!("{header}.{payload}.unsigned")
}

/// The `id_token` claims to synthesise from what an access token reveals.
pub(crate) fn synthetic_id_claims(access: &JwtClaims) -> Value {
    let mut auth = serde_json::Map::new();
    if let Some(plan) = &access.plan {
        auth.insert("chatgpt_plan_type".into(), Value::String(plan.clone()));
    }
    if let Some(id) = &access.chatgpt_account_id {
        auth.insert("chatgpt_account_id".into(), Value::String(id.clone()));
    }
    if let Some(id) = &access.chatgpt_user_id {
        auth.insert("chatgpt_user_id".into(), Value::String(id.clone()));
    }
    let mut claims = serde_json::Map::new();
    claims.insert(OPENAI_AUTH_CLAIM.into(), Value::Object(auth));
    if let Some(email) = &access.email {
        claims.insert("email".into(), Value::String(email.clone()));
    }
    if let Some(exp) = access.expires_at {
        claims.insert("exp".into(), Value::from(exp));
    }
    Value::Object(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const OPENAI_PROFILE_CLAIM: &str = "https://api.openai.com/profile";

    #[test]
    fn round_trips_claims() {
        let token = unsigned_jwt(&json!({
            "exp": 2_000_000_000_i64, "iat": 1_999_000_000_i64,
            OPENAI_PROFILE_CLAIM: {"email": "p@x.io"},
            OPENAI_AUTH_CLAIM: {"chatgpt_plan_type": "pro", "chatgpt_account_id": "acc", "user_id": "u"}
        }));
        let claims = decode_claims(&token).unwrap();
        assert_eq!(
            claims,
            JwtClaims {
                expires_at: Some(2_000_000_000),
                issued_at: Some(1_999_000_000),
                email: Some("p@x.io".into()),
                plan: Some("pro".into()),
                chatgpt_account_id: Some("acc".into()),
                chatgpt_user_id: Some("u".into()),
            }
        );
    }

    #[test]
    fn rejects_malformed_tokens() {
        assert_eq!(decode_claims("abc.def"), Err(JwtError::NotThreeParts));
        assert_eq!(decode_claims("a..c"), Err(JwtError::NotThreeParts));
        assert_eq!(decode_claims("a.b.c.d"), Err(JwtError::NotThreeParts));
        assert_eq!(decode_claims("a.!!!.c"), Err(JwtError::Base64));
        let not_json = format!("a.{}.c", URL_SAFE_NO_PAD.encode("[1,2]"));
        assert_eq!(decode_claims(&not_json), Err(JwtError::Json));
        let float = format!("a.{}.c", URL_SAFE_NO_PAD.encode(r#"{"exp":1.5e9}"#));
        assert_eq!(
            decode_claims(&float).unwrap().expires_at,
            Some(1_500_000_000)
        );
    }
}
