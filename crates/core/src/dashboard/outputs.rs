//! `GET /dashboard/calls/{id}/result` and `/diff`: a finished call's full result and
//! diff for the page's viewer. The same reads as the MCP resources
//! `codex-mcp://calls/{id}/result` and `/diff` ([`read_part`]), scoped by the bearer
//! token the same way: another agent's call answers exactly like an unknown one.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use serde_json::json;

use super::Dashboard;
use crate::tools::results::{Part, read_part};
use crate::transport::http::json_response;

/// The longest call id the route accepts.
const MAX_ID: usize = 100;

/// Whether `id` can be a call id at all (letters, digits, `-` and `_`).
fn well_formed(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn error(status: StatusCode, message: String) -> Response {
    json_response(status, &json!({ "error": message }))
}

/// `GET /dashboard/calls/{id}/{part}`.
pub async fn get(
    State(dashboard): State<Arc<Dashboard>>,
    Path((id, segment)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let visible = match dashboard.visibility(&headers) {
        Ok(v) => v,
        Err(e) => return super::unauthorized(&e),
    };
    let Some(part) = Part::parse(&segment) else {
        return error(
            StatusCode::NOT_FOUND,
            format!(
                "no such part {segment:?} of a call: use /dashboard/calls/{{id}}/result or /diff"
            ),
        );
    };
    if !well_formed(&id) {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "malformed call id {id:?}: a call id is 1 to {MAX_ID} letters, digits, '-' or '_' \
                 (the id column of the recent calls, e.g. call-1764000000000-0123456789abcdef)"
            ),
        );
    }
    match read_part(&dashboard.manager, &visible.scope(), &id, part).await {
        Ok(Some(text)) => {
            let mut response = Response::new(Body::from(text));
            let h = response.headers_mut();
            let mime = format!("{}; charset=utf-8", part.mime());
            if let Ok(value) = HeaderValue::from_str(&mime) {
                h.insert(header::CONTENT_TYPE, value);
            }
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            // Opened on its own, the text can run nothing and load nothing.
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        // Unknown, another token's, or nothing stored: one answer, so a token cannot
        // probe for other agents' calls.
        Ok(None) => error(
            StatusCode::NOT_FOUND,
            format!(
                "no stored {} for call {id:?} that this token may read",
                part.as_str()
            ),
        ),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot read stored call results: {e}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::well_formed;

    #[test]
    fn call_ids_are_checked_before_the_store_is_asked() {
        assert!(well_formed("call-1764000000000-0123456789abcdef"));
        for bad in ["", "a b", "../etc", "x;y", &"x".repeat(101)] {
            assert!(!well_formed(bad), "{bad:?}");
        }
    }
}
