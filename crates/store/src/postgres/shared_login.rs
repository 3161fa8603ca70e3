//! The ChatGPT login the replicas share (`shared_login`, one row): the auth.json the last
//! refresh of any replica produced, so the others adopt it instead of spending the
//! single-use refresh token again (`codex_mcp_auth::LoginShare`).

use chrono::Utc;

use crate::error::StoreError;
use crate::postgres::failure::Location;

/// The published login, if a replica ever published one.
pub(crate) async fn load(
    client: &tokio_postgres::Client,
    at: &Location,
) -> Result<Option<Vec<u8>>, StoreError> {
    let row = client
        .query_opt("SELECT auth_json FROM shared_login", &[])
        .await
        .map_err(|e| at.db(&e))?;
    row.map(|r| at.get(&r, "auth_json")).transpose()
}

/// Replaces the published login with `auth_json`, refreshed by `replica`.
pub(crate) async fn publish(
    client: &tokio_postgres::Client,
    at: &Location,
    auth_json: &[u8],
    replica: &str,
) -> Result<(), StoreError> {
    client
        .execute(
            "INSERT INTO shared_login (id, auth_json, replica, updated_at) \
             VALUES (TRUE, $1, $2, $3) ON CONFLICT (id) DO UPDATE SET \
             auth_json = EXCLUDED.auth_json, replica = EXCLUDED.replica, \
             updated_at = EXCLUDED.updated_at",
            &[&auth_json, &replica, &Utc::now().timestamp_millis()],
        )
        .await
        .map(drop)
        .map_err(|e| at.db(&e))
}
