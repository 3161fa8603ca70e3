//! [`ScriptedModel`]: an OpenAI Responses-API server on 127.0.0.1 that answers each
//! `POST /v1/responses` with the next scripted [`Reply`] and records every request.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use http::{Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use crate::reply::{Kind, Reply, output_stream, reasoning, sse_event, streaming_steps};
use crate::request::RecordedRequest;

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Decides whether a queued reply may answer a request (see
/// [`ScriptedModel::push_matching`]).
pub type Matcher = Arc<dyn Fn(&RecordedRequest) -> bool + Send + Sync>;

struct Queued {
    matcher: Option<Matcher>,
    reply: Reply,
}

struct State {
    queue: Mutex<VecDeque<Queued>>,
    fallback: Mutex<Reply>,
    models: Mutex<Value>,
    requests: Mutex<Vec<RecordedRequest>>,
    responses_seen: watch::Sender<usize>,
    next_id: AtomicU64,
}

/// Locks a mutex, ignoring poisoning: a panicking test thread must not hide the record.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A scripted stand-in for the model behind Codex: a Responses-API server on
/// `127.0.0.1:<random port>`. Each `POST /v1/responses` takes the first queued [`Reply`]
/// whose matcher accepts it (or the fallback), `GET /v1/models` gets the model list, and
/// anything else a 404; every request is recorded first. Dropping the server closes all
/// its connections, which ends any [`Reply::hang`] stream.
pub struct ScriptedModel {
    addr: SocketAddr,
    state: Arc<State>,
    server: JoinHandle<()>,
}

impl ScriptedModel {
    /// Binds 127.0.0.1:0 and starts serving on the current Tokio runtime.
    pub async fn start() -> Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .context("binding the scripted model server to 127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let (responses_seen, _) = watch::channel(0);
        let state = Arc::new(State {
            queue: Mutex::new(VecDeque::new()),
            fallback: Mutex::new(Reply::no_scripted_reply_left()),
            models: Mutex::new(json!({"models": []})),
            requests: Mutex::new(Vec::new()),
            responses_seen,
            next_id: AtomicU64::new(1),
        });
        let server = tokio::spawn(accept_loop(listener, state.clone()));
        Ok(Self {
            addr,
            state,
            server,
        })
    }

    /// `http://127.0.0.1:PORT/v1`: the provider `base_url` for Codex's config.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// `http://127.0.0.1:PORT`: the server root (Codex's `chatgpt_base_url` points below it).
    pub fn root_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Queues a reply for the next `POST /v1/responses` (first in, first out).
    pub fn push(&self, reply: Reply) {
        lock(&self.state.queue).push_back(Queued {
            matcher: None,
            reply,
        });
    }

    /// Queues a reply that only answers a request `matcher` accepts: the first queued
    /// reply whose matcher accepts a request answers it, so concurrent agents (told apart
    /// by [`RecordedRequest::bearer`], [`cwd`](RecordedRequest::cwd),
    /// [`last_user_text`](RecordedRequest::last_user_text), ...) each get their own script.
    pub fn push_matching(
        &self,
        matcher: impl Fn(&RecordedRequest) -> bool + Send + Sync + 'static,
        reply: Reply,
    ) {
        lock(&self.state.queue).push_back(Queued {
            matcher: Some(Arc::new(matcher)),
            reply,
        });
    }

    /// The reply for requests no queued reply answers (default:
    /// [`Reply::no_scripted_reply_left`]). Unlike queued replies it is never used up.
    pub fn set_fallback(&self, reply: Reply) {
        *lock(&self.state.fallback) = reply;
    }

    /// The JSON body of `GET /v1/models` (default `{"models": []}`, which Codex 0.169
    /// accepts; it only asks when logged in with ChatGPT).
    pub fn set_models(&self, body: Value) {
        *lock(&self.state.models) = body;
    }

    /// How many queued replies are still unused: assert 0 at the end of a test to prove
    /// Codex made every request the script expected.
    pub fn pending_replies(&self) -> usize {
        lock(&self.state.queue).len()
    }

    /// Every request received so far, in arrival order (including `GET /v1/models` and
    /// the ChatGPT backend calls).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }

    /// Only the `POST .../responses` requests (model turns), in arrival order.
    pub fn responses_requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests)
            .iter()
            .filter(|r| r.is_responses())
            .cloned()
            .collect()
    }

    /// Waits until at least `n` model requests have arrived (e.g. before dropping a
    /// server that hangs), failing after `timeout`.
    pub async fn wait_for_responses_requests(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<RecordedRequest>> {
        let mut seen = self.state.responses_seen.subscribe();
        let waited = tokio::time::timeout(timeout, seen.wait_for(|count| *count >= n)).await;
        match waited {
            Ok(Ok(_)) => Ok(self.responses_requests()),
            Ok(Err(_)) => bail!("scripted model stopped while waiting for {n} requests"),
            Err(_) => bail!(
                "timed out after {timeout:?} waiting for {n} model requests, got {}",
                self.responses_requests().len()
            ),
        }
    }
}

impl Drop for ScriptedModel {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection task.
        self.server.abort();
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // e.g. out of file descriptors: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                // Without TCP_NODELAY small SSE writes can wait ~40 ms for a delayed ACK.
                let _ = stream.set_nodelay(true);
                let state = state.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| handle(req, state.clone()));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

async fn handle(req: Request<Incoming>, state: Arc<State>) -> Result<Response<Body>, Infallible> {
    let (parts, body) = req.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let mut headers: HashMap<String, String> = HashMap::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        headers
            .entry(name.as_str().to_owned())
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(&value);
            })
            .or_insert(value);
    }
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    let recorded = {
        let mut requests = lock(&state.requests);
        let recorded = RecordedRequest {
            seq: requests.len(),
            method: parts.method.as_str().to_owned(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            headers,
            body,
        };
        requests.push(recorded.clone());
        recorded
    };

    if recorded.is_responses() {
        state.responses_seen.send_modify(|n| *n += 1);
        let reply = next_reply(&state, &recorded);
        return Ok(render(reply, recorded, state).await);
    }
    if recorded.method == "GET" && recorded.path.ends_with("/models") {
        let models = lock(&state.models).clone();
        return Ok(json_response(StatusCode::OK, models.to_string()));
    }
    Ok(json_response(
        StatusCode::NOT_FOUND,
        json!({"error": {"message": format!(
            "codex-mcp-testkit: nothing scripted for {} {}", recorded.method, recorded.path
        )}})
        .to_string(),
    ))
}

fn next_reply(state: &State, req: &RecordedRequest) -> Reply {
    let mut queue = lock(&state.queue);
    let pos = queue
        .iter()
        .position(|q| q.matcher.as_ref().is_none_or(|m| m(req)));
    match pos.and_then(|i| queue.remove(i)) {
        Some(q) => q.reply,
        None => lock(&state.fallback).clone(),
    }
}

fn render(
    reply: Reply,
    req: RecordedRequest,
    state: Arc<State>,
) -> BoxFuture<'static, Response<Body>> {
    Box::pin(async move {
        match reply.kind {
            Kind::Output {
                items,
                usage,
                response_id,
            } => {
                let (id, n) = next_response_id(&state, response_id);
                sse_response(output_stream(&items, &usage, &id, n))
            }
            Kind::HttpError {
                status,
                body,
                retry_after,
            } => {
                let mut response = json_response(
                    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                    body,
                );
                if let Some(seconds) = retry_after {
                    response
                        .headers_mut()
                        .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
                }
                response
            }
            Kind::RawSse(body) => sse_response(body),
            Kind::Slow(delay, inner) => {
                tokio::time::sleep(delay).await;
                render(*inner, req, state).await
            }
            Kind::Streaming {
                total,
                every,
                answer,
            } => match answer.kind {
                Kind::Output {
                    items,
                    usage,
                    response_id,
                } => {
                    let (id, n) = next_response_id(&state, response_id);
                    streaming_response(total, every, items, &usage, &id, n)
                }
                other => {
                    tokio::time::sleep(total).await;
                    render(Reply { kind: other }, req, state).await
                }
            },
            Kind::Hang => {
                let first = sse_event(
                    "response.created",
                    &json!({"type": "response.created", "response": {"id": "resp_hang"}}),
                );
                let stream = futures::stream::once(async move { Bytes::from(first) })
                    .chain(futures::stream::pending())
                    .map(|b| Ok::<_, Infallible>(Frame::data(b)));
                let body = BodyExt::boxed_unsync(StreamBody::new(stream));
                with_body(StatusCode::OK, "text/event-stream", body)
            }
            Kind::FromFn(f) => {
                let chosen = f(&req);
                render(chosen, req, state).await
            }
        }
    })
}

/// The server-wide response number and the response id (`resp_<n>` unless scripted).
fn next_response_id(state: &State, scripted: Option<String>) -> (String, u64) {
    let n = state.next_id.fetch_add(1, Ordering::Relaxed);
    (scripted.unwrap_or_else(|| format!("resp_{n}")), n)
}

/// The events of a [`Reply::streaming`] reply: `response.created` at once, one reasoning
/// item after each pause, then the answer's items and `response.completed` together.
fn streaming_response(
    total: Duration,
    every: Duration,
    answer: Vec<Value>,
    usage: &crate::Usage,
    id: &str,
    n: u64,
) -> Response<Body> {
    let pauses = streaming_steps(total, every);
    let count = pauses.len();
    let mut items: Vec<Value> = (1..=count)
        .map(|i| reasoning(&format!("step {i} of {count}")))
        .collect();
    items.extend(answer);
    let whole = output_stream(&items, usage, id, n);
    let mut events: Vec<String> = whole.split_inclusive("\n\n").map(str::to_owned).collect();
    // created, one event per reasoning item, then the rest in one piece.
    let rest: String = events.split_off(count + 1).concat();
    let mut chunks: Vec<(Duration, String)> = vec![(Duration::ZERO, events.remove(0))];
    chunks.extend(pauses.into_iter().zip(events));
    chunks.push((Duration::ZERO, rest));
    let stream = futures::stream::iter(chunks).then(|(pause, chunk)| async move {
        tokio::time::sleep(pause).await;
        Ok::<_, Infallible>(Frame::data(Bytes::from(chunk)))
    });
    let body = BodyExt::boxed_unsync(StreamBody::new(stream));
    with_body(StatusCode::OK, "text/event-stream", body)
}

fn sse_response(body: String) -> Response<Body> {
    let body = Full::new(Bytes::from(body)).boxed_unsync();
    with_body(StatusCode::OK, "text/event-stream", body)
}

fn json_response(status: StatusCode, body: String) -> Response<Body> {
    let body = Full::new(Bytes::from(body)).boxed_unsync();
    with_body(status, "application/json", body)
}

fn with_body(status: StatusCode, content_type: &'static str, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    response
}

#[cfg(test)]
#[path = "model_tests.rs"]
mod tests;
