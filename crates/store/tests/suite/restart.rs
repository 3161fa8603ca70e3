//! Durability: dropping the store and opening it again keeps everything, and calls
//! left running are marked interrupted, never left running.

use super::common;

use codex_mcp_store::{AgentUsage, CallStatus, Recovered, StoreError};
use common::{TestStore, agent, at, call, finish, on_both_backends, session};
use pretty_assertions::assert_eq;

async fn reopening_keeps_everything_and_interrupts_running_calls(store: TestStore) {
    assert_eq!(store.recovered, Recovered::default());
    store.ensure_agent(agent("a1", 0)).await.unwrap();
    store
        .open_session(session("s1", Some("a1"), 0))
        .await
        .unwrap();
    store
        .open_session(session("s0", Some("a1"), 0))
        .await
        .unwrap();
    store.close_session("s0", at(1)).await.unwrap();
    store
        .start_call(call("done", "a1", Some("s1"), 1))
        .await
        .unwrap();
    store
        .finish_call("done", finish(CallStatus::Succeeded, 2))
        .await
        .unwrap();
    store
        .start_call(call("live-1", "a1", Some("s1"), 3))
        .await
        .unwrap();
    store
        .start_call(call("live-2", "a1", None, 4))
        .await
        .unwrap();
    store
        .put_thread("a1", "conv", "thread-9", at(2))
        .await
        .unwrap();

    let agent_before = store.get_agent("a1").await.unwrap().unwrap();
    let sessions_before = store.list_sessions(None, false).await.unwrap();
    let done_before = store.get_call("done").await.unwrap();
    let thread_before = store.get_thread("a1", "conv").await.unwrap();
    // Plain drop, as when the process goes away: nothing is finished or closed first.
    let store = store.reopen().await;
    assert_eq!(
        store.recovered,
        Recovered {
            calls: 2,
            sessions: 1,
            tasks: 0
        }
    );
    assert_eq!(store.get_thread("a1", "conv").await.unwrap(), thread_before);
    assert_eq!(store.get_call("done").await.unwrap(), done_before);
    for id in ["live-1", "live-2"] {
        let c = store.get_call(id).await.unwrap().unwrap();
        assert_eq!(c.status, CallStatus::Interrupted);
        assert_eq!(
            c.error.as_deref(),
            Some("mcpd stopped while this call was running")
        );
        assert!(c.finished_at.is_some());
        assert_eq!(c.duration_ms, None);
        // A late finish from the dead process's point of view is refused.
        assert_eq!(
            store
                .finish_call(id, finish(CallStatus::Succeeded, 9))
                .await,
            Err(StoreError::NotRunning {
                id: id.into(),
                status: CallStatus::Interrupted
            })
        );
    }
    let agent_after = store.get_agent("a1").await.unwrap().unwrap();
    assert_eq!(
        agent_after.usage,
        AgentUsage {
            calls_running: 0,
            ..agent_before.usage
        }
    );
    assert_eq!(
        (
            agent_after.id,
            agent_after.created_at,
            agent_after.container
        ),
        (
            agent_before.id,
            agent_before.created_at,
            agent_before.container
        )
    );
    let sessions_after = store.list_sessions(None, false).await.unwrap();
    assert_eq!(sessions_after.len(), sessions_before.len());
    assert!(sessions_after.iter().all(|s| s.closed_at.is_some()));
    let s0_before = sessions_before.iter().find(|s| s.id == "s0");
    let s0_after = sessions_after.iter().find(|s| s.id == "s0");
    assert_eq!(
        s0_after, s0_before,
        "an already closed session is unchanged"
    );

    // The next start finds nothing to recover.
    let store = store.reopen().await;
    assert_eq!(store.recovered, Recovered::default());
}

async fn writes_acknowledged_before_drop_survive_it(test: TestStore) {
    let store = std::sync::Arc::clone(&test.store);
    store.ensure_agent(agent("a1", 0)).await.unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let store = std::sync::Arc::clone(&store);
        tasks.spawn(async move {
            store
                .start_call(call(&format!("c{i}"), "a1", None, i))
                .await
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }
    drop(store);
    let store = test.reopen().await;
    assert_eq!(store.recovered.calls, 200);
    assert_eq!(store.list_calls("a1", 1000).await.unwrap().len(), 200);
}

on_both_backends!(
    reopening_keeps_everything_and_interrupts_running_calls,
    writes_acknowledged_before_drop_survive_it,
);
