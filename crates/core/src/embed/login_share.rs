//! The store as the place replicas share their ChatGPT login: the refresh lock and the
//! published auth.json live in PostgreSQL, so one refresh serves the whole deployment
//! (`codex_mcp_auth::LoginShare`, docs/auth.md). On SQLite, alone on its file, the store
//! holds nothing and this changes nothing.

use std::sync::Arc;

use codex_mcp_auth::{LoginShare, ShareError, ShareHold};
use codex_mcp_store::SessionStore;

/// [`LoginShare`] over a [`SessionStore`].
pub struct StoreLoginShare(pub Arc<dyn SessionStore>);

#[async_trait::async_trait]
impl LoginShare for StoreLoginShare {
    async fn hold(&self) -> Result<ShareHold, ShareError> {
        let hold = self.0.hold_login_refresh().await.map_err(shared)?;
        Ok(Box::new(hold))
    }

    async fn load(&self) -> Result<Option<Vec<u8>>, ShareError> {
        self.0.shared_login().await.map_err(shared)
    }

    async fn publish(&self, auth_json: &[u8]) -> Result<(), ShareError> {
        self.0.publish_login(auth_json).await.map_err(shared)
    }
}

fn shared(e: codex_mcp_store::StoreError) -> ShareError {
    ShareError(Box::new(e))
}
