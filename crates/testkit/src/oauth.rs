//! [`TokenEndpoint`]: a scripted OAuth token endpoint on 127.0.0.1 that records and counts
//! refresh requests, for tests of who refreshes a ChatGPT login and how often.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;

/// Decides the answer to one refresh request (its JSON body): status and JSON body.
pub type TokenAnswer = Arc<dyn Fn(&Value) -> (u16, Value) + Send + Sync>;

/// How long each answer is delayed: long enough that concurrent callers really overlap
/// with a request in flight.
pub const TOKEN_ENDPOINT_DELAY: Duration = Duration::from_millis(150);

#[derive(Clone)]
struct Shared {
    hits: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<Value>>>,
    answer: TokenAnswer,
}

/// A token endpoint at `POST {url}` (`http://127.0.0.1:PORT/oauth/token`). Stops when
/// dropped.
pub struct TokenEndpoint {
    /// The endpoint's URL, for `CODEX_REFRESH_TOKEN_URL_OVERRIDE` or a refresher config.
    pub url: String,
    /// Every request body received, in order (unparsable bodies as `null`).
    pub bodies: Arc<Mutex<Vec<Value>>>,
    hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TokenEndpoint {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn token(State(shared): State<Shared>, body: axum::body::Bytes) -> (StatusCode, String) {
    shared.hits.fetch_add(1, Ordering::SeqCst);
    let request = serde_json::from_slice(&body).unwrap_or(Value::Null);
    shared
        .bodies
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(request.clone());
    tokio::time::sleep(TOKEN_ENDPOINT_DELAY).await;
    let (status, body) = (shared.answer)(&request);
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body.to_string(),
    )
}

impl TokenEndpoint {
    /// Binds 127.0.0.1:0 and answers every request with `answer` (after
    /// [`TOKEN_ENDPOINT_DELAY`]).
    pub async fn start(
        answer: impl Fn(&Value) -> (u16, Value) + Send + Sync + 'static,
    ) -> Result<Self> {
        let shared = Shared {
            hits: Arc::new(AtomicUsize::new(0)),
            bodies: Arc::new(Mutex::new(Vec::new())),
            answer: Arc::new(answer),
        };
        let app = axum::Router::new()
            .route("/oauth/token", post(token))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the token endpoint to 127.0.0.1:0")?;
        let url = format!("http://{}/oauth/token", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            url,
            bodies: shared.bodies,
            hits: shared.hits,
            task,
        })
    }

    /// Requests received so far.
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}
