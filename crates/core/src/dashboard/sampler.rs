//! The figures the dashboard refreshes on a timer: the server's status (the `/health`
//! report) and every agent's state, CPU, memory and counters. They are gathered by one
//! task that runs only while a page is connected ([`DashboardHub::watch`]) and stops
//! within one interval of the last page closing: nobody watching costs nothing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use codex_mcp_runtime::{AgentState, AgentStatus, DiskUsage};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::agents::AgentManager;
use crate::agents::live::{DashboardHub, UsagePoint};
use crate::transport::http::{HttpState, health};

/// How often the figures are refreshed while a page watches.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// One agent's row.
#[derive(Debug, Clone, Serialize)]
pub struct AgentRow {
    /// The agent id.
    pub id: String,
    /// `running`, `stopped`, `missing`, `creating`, or `removed` (only in the store).
    pub state: String,
    /// The runtime hosting it.
    pub runtime: String,
    /// Its container, when it has one.
    pub container: Option<String>,
    /// CPU in percent of one CPU (Docker, running only).
    pub cpu_percent: Option<f64>,
    /// Memory in use.
    pub memory_bytes: Option<u64>,
    /// Memory limit in force.
    pub memory_limit_bytes: Option<u64>,
    /// Disk use of its workspace, Codex home and scratch space, when the runtime can
    /// tell (refreshed at most every [`crate::agents::disk::DISK_REFRESH`]).
    pub disk_bytes: Option<u64>,
    /// False when `disk_bytes` is a lower bound (the walk stopped at its file cap).
    pub disk_complete: Option<bool>,
    /// Its latest activity.
    pub last_active_at: Option<DateTime<Utc>>,
    /// Calls running now.
    pub running_calls: u32,
    /// Calls made, ever.
    pub calls_made: u64,
    /// Tokens in over all finished calls.
    pub tokens_in: u64,
    /// Tokens out over all finished calls.
    pub tokens_out: u64,
    /// Recent samples for the sparklines, oldest first.
    pub history: Vec<UsagePoint>,
}

/// What one refresh found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Sample {
    /// The server: the `/health` report plus sessions by transport and protocol version.
    pub server: Value,
    /// Every agent known to the store or the runtime, by id.
    pub agents: Vec<AgentRow>,
}

fn state_name(state: AgentState) -> String {
    serde_json::to_value(state)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{state:?}").to_lowercase())
}

/// The server part: `/health` as a token holder sees it, plus open sessions counted by
/// transport and protocol version (the stateless era keeps none).
pub fn server_report(http: &HttpState) -> Value {
    let mut body = health::transport_report(http);
    if let (Some(reporter), Some(obj)) = (&http.options.health, body.as_object_mut())
        && let Value::Object(extra) = reporter.report()
    {
        obj.extend(extra);
    }
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for session in http.server.sessions().all() {
        let transport = serde_json::to_value(session.transport())
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *by_kind
            .entry(format!("{transport} {}", session.version()))
            .or_default() += 1;
    }
    if !http.sse.is_empty() {
        by_kind.insert("legacy_sse 2024-11-05".into(), http.sse.len());
    }
    body["sessions_by_transport"] = json!(by_kind);
    body
}

/// Every agent's row: the store's record, the runtime's status (with a resource sample
/// for running environments) and the manager's live counters.
pub async fn agent_rows(manager: &AgentManager, hub: &DashboardHub) -> Vec<AgentRow> {
    let stored = match manager.store().list_agents().await {
        Ok(agents) => agents,
        Err(e) => {
            tracing::warn!(error = %e, "dashboard: could not list agents from the store");
            Vec::new()
        }
    };
    let listed = match manager.runtime().list().await {
        Ok(list) => list,
        Err(e) => {
            tracing::warn!(error = %e, "dashboard: could not list agent environments");
            Vec::new()
        }
    };
    // Resource figures come from a per-agent status call, as for `get_agent_status`;
    // disk use from the manager's figure, refreshed at most every `DISK_REFRESH`.
    let statuses: Vec<(AgentStatus, Option<DiskUsage>)> =
        futures::future::join_all(listed.into_iter().map(|status| async move {
            let running = status.state == AgentState::Running;
            let (disk, full) = tokio::join!(manager.disk_usage(&status.agent), async {
                if running {
                    manager.runtime().status(&status.agent).await.ok().flatten()
                } else {
                    None
                }
            });
            (full.unwrap_or(status), disk)
        }))
        .await;
    let mut rows: BTreeMap<String, AgentRow> = BTreeMap::new();
    for agent in stored {
        rows.insert(
            agent.id.clone(),
            AgentRow {
                id: agent.id.clone(),
                state: agent.status.to_string(),
                runtime: agent.runtime.clone(),
                container: agent.container.clone(),
                cpu_percent: None,
                memory_bytes: None,
                memory_limit_bytes: None,
                disk_bytes: None,
                disk_complete: None,
                last_active_at: Some(agent.last_active_at),
                running_calls: 0,
                calls_made: agent.usage.calls_made,
                tokens_in: agent.usage.tokens_in,
                tokens_out: agent.usage.tokens_out,
                history: Vec::new(),
            },
        );
    }
    let runtime = crate::agents::records::runtime_name(manager.runtime().kind());
    let now = Utc::now();
    for (status, disk) in statuses {
        let id = status.agent.as_str().to_string();
        let row = rows.entry(id.clone()).or_insert_with(|| AgentRow {
            id: id.clone(),
            state: String::new(),
            runtime: runtime.to_string(),
            container: None,
            cpu_percent: None,
            memory_bytes: None,
            memory_limit_bytes: None,
            disk_bytes: None,
            disk_complete: None,
            last_active_at: status.started_at.or(status.created_at),
            running_calls: 0,
            calls_made: 0,
            tokens_in: 0,
            tokens_out: 0,
            history: Vec::new(),
        });
        row.state = state_name(status.state);
        row.container = status.container_id.clone().or(row.container.take());
        row.cpu_percent = status.cpu_percent;
        row.memory_bytes = status.memory_bytes;
        row.memory_limit_bytes = status.memory_limit_bytes;
        row.disk_bytes = disk.map(|d| d.bytes);
        row.disk_complete = disk.map(|d| d.complete);
        hub.record_usage(
            &id,
            UsagePoint {
                at: now,
                cpu_percent: status.cpu_percent,
                memory_bytes: status.memory_bytes,
            },
        );
    }
    for row in rows.values_mut() {
        if let Some(live) = manager.live(&row.id) {
            row.running_calls = live.running;
            row.last_active_at = Some(live.last_active_at);
        }
        row.history = hub.usage_history(&row.id);
    }
    rows.into_values().collect()
}

/// Refreshes `out` every [`SAMPLE_INTERVAL`] until no page watches or `stop` fires.
pub async fn run(
    hub: Arc<DashboardHub>,
    manager: Arc<AgentManager>,
    http: HttpState,
    out: watch::Sender<Arc<Sample>>,
) {
    tracing::debug!("dashboard: sampling starts (a page is watching)");
    let mut tick = tokio::time::interval(SAMPLE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = http.shutdown.cancelled() => break,
        }
        if hub.watchers() == 0 {
            break;
        }
        let sample = Sample {
            server: server_report(&http),
            agents: agent_rows(&manager, &hub).await,
        };
        out.send_replace(Arc::new(sample));
    }
    tracing::debug!("dashboard: sampling stops (no page is watching)");
}
