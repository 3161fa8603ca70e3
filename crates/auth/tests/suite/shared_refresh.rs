//! Replicas sharing one login refresh it once for the whole deployment: each replica has
//! its own copy of auth.json, and the single-use refresh token must be spent once.

use super::common;

use std::sync::{Arc, Mutex};

use codex_mcp_auth::{BrokerKey, LoginShare, ShareError, ShareHold, TokenRefresher};
use common::{Login, Script, TokenEndpoint, codex_file, endpoint, read_json, unix_now, write_json};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// What PostgreSQL gives mcpd's replicas, in memory: one lock, one published file.
#[derive(Default)]
struct MemoryShare {
    lock: Arc<tokio::sync::Mutex<()>>,
    published: Mutex<Option<Vec<u8>>>,
    publishes: Mutex<usize>,
}

#[async_trait::async_trait]
impl LoginShare for MemoryShare {
    async fn hold(&self) -> Result<ShareHold, ShareError> {
        Ok(Box::new(Arc::clone(&self.lock).lock_owned().await))
    }
    async fn load(&self) -> Result<Option<Vec<u8>>, ShareError> {
        Ok(self.published.lock().unwrap().clone())
    }
    async fn publish(&self, auth_json: &[u8]) -> Result<(), ShareError> {
        *self.publishes.lock().unwrap() += 1;
        *self.published.lock().unwrap() = Some(auth_json.to_vec());
        Ok(())
    }
}

/// A share whose database is gone.
struct BrokenShare;

#[async_trait::async_trait]
impl LoginShare for BrokenShare {
    async fn hold(&self) -> Result<ShareHold, ShareError> {
        Err(ShareError("connection refused".into()))
    }
    async fn load(&self) -> Result<Option<Vec<u8>>, ShareError> {
        Err(ShareError("connection refused".into()))
    }
    async fn publish(&self, _: &[u8]) -> Result<(), ShareError> {
        Err(ShareError("connection refused".into()))
    }
}

fn replica(
    home: &std::path::Path,
    endpoint: &TokenEndpoint,
    share: Arc<dyn LoginShare>,
) -> TokenRefresher {
    common::refresher_at(home, endpoint, BrokerKey::from_bytes([5; 32])).with_share(share)
}

fn access_token(file: &codex_mcp_auth::AgentAuthFile) -> Value {
    serde_json::from_slice::<Value>(file.bytes()).unwrap()["tokens"]["access_token"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_with_their_own_copies_refresh_once_and_both_get_the_new_login() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let due = Login::expiring_at(unix_now() + 600).auth_json();
    write_json(&codex_file(a.path()), &due);
    write_json(&codex_file(b.path()), &due);
    let new_exp = unix_now() + 10 * 24 * 3600;
    let endpoint = endpoint(Script::Succeed {
        tag: "gen2",
        exp: new_exp,
    })
    .await;
    let share = Arc::new(MemoryShare::default());
    let replicas = [
        replica(a.path(), &endpoint, share.clone()),
        replica(b.path(), &endpoint, share.clone()),
    ];

    let calls: Vec<_> = (0..10)
        .flat_map(|i| replicas.iter().map(move |r| (i, r.clone())))
        .map(|(i, r)| tokio::spawn(async move { r.prepare_agent(&format!("agent-{i}")).await }))
        .collect();
    let mut tokens = Vec::new();
    for call in calls {
        tokens.push(access_token(&call.await.unwrap().unwrap()));
    }

    let mut fresh = Login::expiring_at(new_exp);
    fresh.tag = "gen2".into();
    assert_eq!(endpoint.hits(), 1, "one refresh for the deployment");
    assert_eq!(tokens, vec![json!(fresh.access_token()); 20]);
    assert_eq!(*share.publishes.lock().unwrap(), 1);
    // Both hosts' files carry the new login, so neither host's Codex is logged out.
    for home in [a.path(), b.path()] {
        let file = read_json(&codex_file(home));
        assert_eq!(
            file["tokens"]["access_token"],
            json!(fresh.access_token()),
            "{}",
            home.display()
        );
    }
}

#[tokio::test]
async fn an_unreachable_share_fails_the_refresh_clearly_and_spends_nothing() {
    let home = tempfile::tempdir().unwrap();
    let due = Login::expiring_at(unix_now() + 600);
    write_json(&codex_file(home.path()), &due.auth_json());
    let endpoint = endpoint(Script::Succeed {
        tag: "gen2",
        exp: unix_now() + 86_400,
    })
    .await;
    let r = replica(home.path(), &endpoint, Arc::new(BrokenShare));
    let error = r.ensure_fresh().await.unwrap_err().to_string();
    assert!(
        error.contains("the login shared by the replicas: connection refused"),
        "{error}"
    );
    assert_eq!(
        endpoint.hits(),
        0,
        "no token spent without the other replicas' lock"
    );
    // The still-valid token keeps serving agents meanwhile.
    let file = r.prepare_agent("agent-1").await.unwrap();
    assert_eq!(access_token(&file), json!(due.access_token()));
}
