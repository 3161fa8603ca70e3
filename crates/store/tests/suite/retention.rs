//! Pruning removes old finished calls (and sessions nothing refers to) and nothing else.

use super::common;

use std::time::Duration;

use codex_mcp_store::{CallStatus, Pruned};
use common::{TestStore, agent, at, call, finish, on_both_backends, session};
use pretty_assertions::assert_eq;

async fn pruning_removes_only_old_finished_calls(store: TestStore) {
    store.ensure_agent(agent("a1", 0)).await.unwrap();
    store
        .open_session(session("old", Some("a1"), 0))
        .await
        .unwrap();
    store
        .open_session(session("kept", Some("a1"), 0))
        .await
        .unwrap();
    store
        .open_session(session("still-open", Some("a1"), 0))
        .await
        .unwrap();
    store.close_session("old", at(10)).await.unwrap();
    // "kept" closes early but a recent call still refers to it.
    store.close_session("kept", at(10)).await.unwrap();
    for (id, session_id, start, end) in [
        ("old-1", Some("old"), 1, 2),
        ("old-2", None, 3, 4),
        ("recent", Some("kept"), 5, 150),
    ] {
        store
            .start_call(call(id, "a1", session_id, start))
            .await
            .unwrap();
        store
            .finish_call(id, finish(CallStatus::Succeeded, end))
            .await
            .unwrap();
    }
    // Started long ago but still running: never pruned.
    store
        .start_call(call("long-running", "a1", None, 0))
        .await
        .unwrap();
    store.put_thread("a1", "conv", "t", at(0)).await.unwrap();
    let usage_before = store.get_agent("a1").await.unwrap().unwrap().usage;

    assert_eq!(
        store.prune_before(at(100)).await.unwrap(),
        Pruned {
            calls: 2,
            sessions: 1
        }
    );
    let mut left: Vec<String> = store
        .list_calls("a1", 100)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    left.sort();
    assert_eq!(left, vec!["long-running", "recent"]);
    let mut sessions: Vec<String> = store
        .list_sessions(None, false)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    sessions.sort();
    assert_eq!(sessions, vec!["kept", "still-open"]);
    // Agents, their lifetime totals and threads are kept.
    assert_eq!(
        store.get_agent("a1").await.unwrap().unwrap().usage,
        usage_before
    );
    assert!(store.get_thread("a1", "conv").await.unwrap().is_some());
    // Pruning again finds nothing.
    assert_eq!(
        store.prune_before(at(100)).await.unwrap(),
        Pruned::default()
    );
}

async fn pruning_by_age_uses_the_current_time_and_many_chunks(store: TestStore) {
    store.ensure_agent(agent("a1", 0)).await.unwrap();
    // More than one pruning chunk of old calls (the fixed clock is in the past).
    for i in 0..4500 {
        let id = format!("c{i}");
        store.start_call(call(&id, "a1", None, 0)).await.unwrap();
        store
            .finish_call(&id, finish(CallStatus::Succeeded, 1))
            .await
            .unwrap();
    }
    let fresh_start = codex_mcp_store::now();
    let mut fresh = call("fresh", "a1", None, 0);
    fresh.started_at = fresh_start;
    store.start_call(fresh).await.unwrap();
    let mut end = finish(CallStatus::Succeeded, 0);
    end.finished_at = fresh_start;
    store.finish_call("fresh", end).await.unwrap();

    let pruned = store
        .prune_calls_older_than(Duration::from_secs(24 * 3600))
        .await
        .unwrap();
    assert_eq!(pruned.calls, 4500);
    let left: Vec<String> = store
        .list_calls("a1", 10)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(left, vec!["fresh"]);
}

on_both_backends!(
    pruning_removes_only_old_finished_calls,
    pruning_by_age_uses_the_current_time_and_many_chunks
);
