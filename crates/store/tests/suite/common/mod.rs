//! Fixtures shared by the integration tests.

use chrono::{DateTime, Duration, Utc};
use codex_mcp_store::{
    AgentStatus, CallFinish, CallStart, CallStatus, NewAgent, NewSession, Timestamp, Transport,
};

/// A fixed instant (millisecond precision) plus `secs` seconds.
pub fn at(secs: i64) -> Timestamp {
    DateTime::<Utc>::from_timestamp_millis(1_760_000_000_123).unwrap() + Duration::seconds(secs)
}

pub fn agent(id: &str, secs: i64) -> NewAgent {
    NewAgent {
        id: id.into(),
        runtime: "docker".into(),
        container: Some(format!("codex-mcp-{id}")),
        workspace: Some(format!("/workspace/{id}")),
        status: AgentStatus::Running,
        at: at(secs),
    }
}

pub fn session(id: &str, agent: Option<&str>, secs: i64) -> NewSession {
    NewSession {
        id: id.into(),
        agent_id: agent.map(str::to_owned),
        client_name: Some("claude-code".into()),
        client_version: Some("2.1.0".into()),
        transport: Transport::StreamableHttp,
        protocol_version: "2025-06-18".into(),
        opened_at: at(secs),
    }
}

pub fn call(id: &str, agent: &str, session: Option<&str>, secs: i64) -> CallStart {
    CallStart {
        id: id.into(),
        agent_id: agent.into(),
        session_id: session.map(str::to_owned),
        tool: "review".into(),
        arguments_digest: codex_mcp_store::arguments_digest(&serde_json::json!({ "call": id })),
        thread_id: None,
        started_at: at(secs),
    }
}

pub fn finish(status: CallStatus, secs: i64) -> CallFinish {
    CallFinish {
        status,
        finished_at: at(secs),
        error: (status != CallStatus::Succeeded).then(|| format!("ended {status}")),
        duration_ms: 1500,
        tokens_in: Some(100),
        tokens_out: Some(20),
        thread_id: Some("thread-1".into()),
        output: None,
    }
}

pub fn new_task(id: &str, owner: &str, agent: Option<&str>, secs: i64) -> codex_mcp_store::NewTask {
    codex_mcp_store::NewTask {
        id: id.into(),
        owner: owner.into(),
        agent_id: agent.map(str::to_owned),
        tool: "review".into(),
        call_id: Some(format!("call-{id}")),
        created_at: at(secs),
        ttl_ms: Some(60_000),
        poll_interval_ms: Some(1_000),
        status_message: None,
    }
}
