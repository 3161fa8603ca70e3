//! When agent environments run: MAX_CONCURRENT_SESSIONS (least recently used idle
//! environment stopped to make room; a clear error only when all are busy) and
//! SESSION_TIMEOUT (idle environments stopped, started again by the next call). Local
//! runtime, a fake Codex; the Docker runtime shares this logic in the engine.

use std::collections::BTreeMap;
use std::time::Duration;

use codex_mcp_e2e::{Mcpd, install_fake_codex, local_env};
use codex_mcp_testkit::temp_dir;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

async fn start(extra: &[(&'static str, String)]) -> (Mcpd, tempfile::TempDir) {
    let dir = temp_dir("e2e-lifecycle").unwrap();
    let fake = install_fake_codex(dir.path()).unwrap();
    let env = local_env(&fake, &dir.path().join("data"), extra);
    (Mcpd::start(&env, dir.path()).await.unwrap(), dir)
}

async fn chat(mcpd: &Mcpd, agent: &str, message: &str) -> Value {
    mcpd.call_tool("chat", json!({"message": message, "agent_id": agent}))
        .await
        .unwrap()
}

/// agent id -> state, from list_active_agents.
async fn states(mcpd: &Mcpd) -> BTreeMap<String, String> {
    let listed = mcpd
        .call_tool("list_active_agents", json!({}))
        .await
        .unwrap();
    listed["structuredContent"]["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["agent_id"].as_str().unwrap().to_string(),
                a["state"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn expect(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(a, s)| (a.to_string(), s.to_string()))
        .collect()
}

#[tokio::test]
async fn the_least_recently_used_idle_environment_makes_room() {
    let (mcpd, _dir) = start(&[("MAX_CONCURRENT_SESSIONS", "2".into())]).await;
    for agent in ["ann", "ben", "cat"] {
        assert_eq!(chat(&mcpd, agent, "hello").await.get("isError"), None);
    }
    assert_eq!(
        states(&mcpd).await,
        expect(&[("ann", "stopped"), ("ben", "running"), ("cat", "running")])
    );
    // ann comes back: now ben is the least recently used.
    assert_eq!(chat(&mcpd, "ann", "again").await.get("isError"), None);
    assert_eq!(
        states(&mcpd).await,
        expect(&[("ann", "running"), ("ben", "stopped"), ("cat", "running")])
    );
    // Its history survived the stop: two calls recorded.
    let info = mcpd
        .call_tool("get_my_session_info", json!({"agent_id": "ann"}))
        .await
        .unwrap();
    assert_eq!(info["structuredContent"]["calls"], json!(2));
}

#[tokio::test]
async fn a_full_house_of_busy_environments_is_a_clear_error() {
    let (mcpd, _dir) = start(&[("MAX_CONCURRENT_SESSIONS", "1".into())]).await;
    let base = mcpd.base.clone();
    let slow = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("{base}/tools/chat"))
            .json(&json!({"message": "SLOW please", "agent_id": "busy"}))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
    });
    // Wait until the slow call holds the only slot.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let listed = mcpd
            .call_tool("list_active_agents", json!({}))
            .await
            .unwrap();
        if listed["structuredContent"]["agents"][0]["running_calls"] == json!(1) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the slow call never started"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = chat(&mcpd, "other", "hello").await;
    assert_eq!(refused["isError"], json!(true), "{refused}");
    let text = refused["content"][0]["text"].as_str().unwrap();
    assert!(
        text.contains("all 1 agent environments are busy")
            && text.contains("MAX_CONCURRENT_SESSIONS"),
        "{text}"
    );
    assert_eq!(slow.await.unwrap().get("isError"), None);
    // Once the slow call is done, its environment is idle and gives way.
    assert_eq!(chat(&mcpd, "other", "hello").await.get("isError"), None);
    assert_eq!(
        states(&mcpd).await,
        expect(&[("busy", "stopped"), ("other", "running")])
    );
}

#[tokio::test]
async fn idle_environments_stop_after_the_session_timeout_and_restart_on_the_next_call() {
    let (mcpd, _dir) = start(&[("SESSION_TIMEOUT", "1".into())]).await;
    assert_eq!(chat(&mcpd, "sleepy", "hello").await.get("isError"), None);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while states(&mcpd).await != expect(&[("sleepy", "stopped")]) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "still {:?}",
            states(&mcpd).await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        mcpd.log().contains("after SESSION_TIMEOUT without calls"),
        "{}",
        mcpd.log()
    );
    assert_eq!(chat(&mcpd, "sleepy", "again").await.get("isError"), None);
    assert_eq!(states(&mcpd).await, expect(&[("sleepy", "running")]));
}

#[tokio::test]
async fn cleanup_removes_idle_environments_and_purge_forgets_them() {
    let (mcpd, _dir) = start(&[]).await;
    for agent in ["keep", "drop"] {
        assert_eq!(chat(&mcpd, agent, "hello").await.get("isError"), None);
    }
    let cleaned = mcpd
        .call_tool(
            "cleanup_inactive_agents",
            json!({"idle_seconds": 0, "purge": true}),
        )
        .await
        .unwrap();
    let removed: Vec<Value> = cleaned["structuredContent"]["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["agent_id"].clone())
        .collect();
    assert_eq!(removed, vec![json!("drop"), json!("keep")]);
    assert_eq!(states(&mcpd).await, BTreeMap::new());
    let listed = mcpd.call_tool("list_sessions", json!({})).await.unwrap();
    assert_eq!(listed["structuredContent"]["sessions"], json!([]));
    // Bad input is named.
    let bad = mcpd
        .call_tool("cleanup_inactive_agents", json!({"idle_seconds": -5}))
        .await
        .unwrap();
    assert_eq!(bad["isError"], json!(true));
    assert!(
        bad["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("idle_seconds"),
        "{bad}"
    );
}

#[tokio::test]
async fn metrics_count_calls_by_tool_and_outcome() {
    let (mcpd, _dir) = start(&[]).await;
    for _ in 0..2 {
        assert_eq!(chat(&mcpd, "mia", "hello").await.get("isError"), None);
    }
    let timed_out = mcpd
        .call_tool(
            "chat",
            json!({"message": "SLOW", "agent_id": "mia", "timeout_seconds": 1}),
        )
        .await
        .unwrap();
    assert_eq!(timed_out["isError"], json!(true), "{timed_out}");
    let response = reqwest::get(format!("{}/metrics", mcpd.base))
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    let text = response.text().await.unwrap();
    let samples: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.starts_with("mcpd_tool_calls_total")
                || l.starts_with("mcpd_model_tokens_total")
                || l.starts_with("mcpd_tool_call_duration_seconds_count")
                || l.starts_with("mcpd_tool_calls_running")
                || l.starts_with("mcpd_agent_environments_running")
        })
        .collect();
    assert_eq!(
        samples,
        vec![
            "mcpd_tool_calls_total{tool=\"chat\",status=\"succeeded\"} 2",
            "mcpd_tool_calls_total{tool=\"chat\",status=\"timed_out\"} 1",
            "mcpd_tool_call_duration_seconds_count{tool=\"chat\"} 3",
            "mcpd_model_tokens_total{direction=\"in\"} 20",
            "mcpd_model_tokens_total{direction=\"out\"} 4",
            "mcpd_tool_calls_running 0",
            "mcpd_agent_environments_running 1",
        ],
        "{text}"
    );
    assert!(
        text.contains("# TYPE mcpd_sessions_open gauge\nmcpd_sessions_open 0"),
        "{text}"
    );
}

#[tokio::test]
async fn new_agents_past_codex_mcp_max_agents_are_refused_and_known_ones_keep_working() {
    let (mcpd, dir) = start(&[("CODEX_MCP_MAX_AGENTS", "2".into())]).await;
    for agent in ["ann", "ben"] {
        assert_eq!(chat(&mcpd, agent, "hello").await.get("isError"), None);
    }
    // A client inventing agent ids gets a refusal naming the limit and the cleanup,
    // and nothing is created for the refused agent.
    for attempt in ["eve-1", "eve-2"] {
        let refused = codex_mcp_e2e::error_text(&chat(&mcpd, attempt, "hello").await);
        for needle in [
            format!("\"{attempt}\""),
            "CODEX_MCP_MAX_AGENTS=2".to_string(),
            "cleanup_inactive_agents".to_string(),
        ] {
            assert!(refused.contains(&needle), "{needle} missing: {refused}");
        }
        assert!(!dir.path().join("data/agents").join(attempt).exists());
    }
    // Known agents are not affected.
    assert_eq!(chat(&mcpd, "ann", "again").await.get("isError"), None);
    // Purging idle agents makes room.
    let cleaned = mcpd
        .call_tool(
            "cleanup_inactive_agents",
            json!({"idle_seconds": 0, "purge": true}),
        )
        .await
        .unwrap();
    assert_eq!(cleaned.get("isError"), None, "{cleaned}");
    assert_eq!(chat(&mcpd, "eve-1", "hello").await.get("isError"), None);
}
