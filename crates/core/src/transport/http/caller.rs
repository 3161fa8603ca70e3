//! Who sent an HTTP request: the bearer grant the gate found (checked once, in
//! [`super::gate`], and carried in the request's extensions) and the agent named by the
//! `X-Agent-Id` header or the `agent_id` query parameter.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::Query;
use axum::extract::rejection::QueryRejection;
use http::{Extensions, HeaderMap, Uri};

use super::bearer::TokenGrant;
use super::headers::{header_str, names};
use crate::server::Identity;

/// The grant of the request's bearer token, put in the request's extensions by the gate
/// when the server requires tokens and the token is valid.
#[derive(Debug, Clone)]
pub struct Caller(pub Arc<TokenGrant>);

/// The grant the gate attached to a request, if any.
pub(crate) fn grant(extensions: &Extensions) -> Option<Arc<TokenGrant>> {
    extensions.get::<Caller>().map(|c| Arc::clone(&c.0))
}

/// SHA-256 of the request's bearer token (what owns sessions and `/sse` streams).
pub(crate) fn owner(extensions: &Extensions) -> Option<[u8; 32]> {
    extensions.get::<Caller>().map(|c| c.0.sha256)
}

/// Identity hints carried by one HTTP request.
pub(crate) fn identity(
    extensions: &Extensions,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
) -> Identity {
    Identity {
        connection_agent: header_str(headers, names::AGENT)
            .map(str::to_string)
            .or_else(|| query.get("agent_id").cloned()),
        token: grant(extensions),
        session_id: None,
    }
}

/// The query parameters of a request, as the `Query` extractor reads them (parsed only
/// when there is a query string).
pub(crate) fn query_map(uri: &Uri) -> Result<HashMap<String, String>, QueryRejection> {
    if uri.query().is_none() {
        return Ok(HashMap::new());
    }
    Query::<HashMap<String, String>>::try_from_uri(uri).map(|Query(q)| q)
}
