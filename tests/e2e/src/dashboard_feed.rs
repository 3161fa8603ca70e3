//! A reader of the dashboard's live feed (`GET /dashboard/events`, server-sent events)
//! for the dashboard tests and the `dashboard_cost` bench: each event's name, JSON data
//! and arrival time, read in the background.

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use serde_json::Value;
use tokio::sync::mpsc;

/// One event of the feed.
#[derive(Debug, Clone)]
pub struct FeedEvent {
    /// When it arrived.
    pub at: Instant,
    /// Its `event:` name (`snapshot`, `call`, `sample`).
    pub name: String,
    /// Its `data:` as JSON.
    pub data: Value,
}

/// The events of one feed connection; the connection closes when this is dropped.
pub struct Feed {
    events: mpsc::UnboundedReceiver<FeedEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Feed {
    /// Opens `{base}/dashboard/events` with `token` (if any); fails unless the answer is
    /// a 200 event stream.
    pub async fn open(base: &str, token: Option<&str>) -> anyhow::Result<Self> {
        let mut request = reqwest::Client::new().get(format!("{base}/dashboard/events"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        anyhow::ensure!(
            response.status().as_u16() == 200,
            "the feed answered {}",
            response.status()
        );
        let (tx, events) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut body = response.bytes_stream();
            let mut buf = String::new();
            while let Some(Ok(chunk)) = body.next().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    let name = block
                        .lines()
                        .find_map(|l| l.strip_prefix("event: "))
                        .unwrap_or("message")
                        .to_string();
                    let data: String = block
                        .lines()
                        .filter_map(|l| l.strip_prefix("data: "))
                        .collect();
                    if let Ok(data) = serde_json::from_str(&data) {
                        let at = Instant::now();
                        let _ = tx.send(FeedEvent { at, name, data });
                    }
                }
            }
        });
        Ok(Self { events, task })
    }

    /// Every event received within `secs`, until `stop` says enough, as (name, data).
    pub async fn collect(
        &mut self,
        secs: u64,
        stop: impl Fn(&str, &Value) -> bool,
    ) -> Vec<(String, Value)> {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        while let Ok(Some(event)) = tokio::time::timeout_at(deadline, self.events.recv()).await {
            let done = stop(&event.name, &event.data);
            seen.push((event.name, event.data));
            if done {
                break;
            }
        }
        seen
    }

    /// Every event received so far and not yet returned, without waiting.
    pub fn received(&mut self) -> Vec<FeedEvent> {
        let mut seen = Vec::new();
        while let Ok(event) = self.events.try_recv() {
            seen.push(event);
        }
        seen
    }
}
