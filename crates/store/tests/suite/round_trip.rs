//! Every record kind written and read back whole, and the errors of misuse.

use super::common;

use codex_mcp_store::{
    Agent, AgentDeleted, AgentStatus, AgentUpdate, AgentUsage, Call, CallStatus, Session,
    SessionStore, StoreError, Thread, Transport,
};
use common::{TestStore, agent, at, call, finish, on_both_backends, session};
use pretty_assertions::assert_eq;

async fn agents_round_trip_with_updates_touches_and_usage(store: TestStore) {
    let created = store.ensure_agent(agent("a1", 0)).await.unwrap();
    let expected = Agent {
        id: "a1".into(),
        created_at: at(0),
        last_active_at: at(0),
        runtime: "docker".into(),
        container: Some("codex-mcp-a1".into()),
        workspace: Some("/workspace/a1".into()),
        status: AgentStatus::Running,
        usage: AgentUsage::default(),
    };
    assert_eq!(created, expected);

    // Ensuring again changes nothing.
    let mut again = agent("a1", 50);
    again.runtime = "local".into();
    assert_eq!(store.ensure_agent(again).await.unwrap(), expected);

    let updated = store
        .update_agent(
            "a1",
            AgentUpdate {
                container: Some(None),
                status: Some(AgentStatus::Removed),
                ..AgentUpdate::default()
            },
        )
        .await
        .unwrap();
    let expected = Agent {
        container: None,
        status: AgentStatus::Removed,
        ..expected
    };
    assert_eq!(updated, expected);

    store.touch_agent("a1", at(30)).await.unwrap();
    store.touch_agent("a1", at(10)).await.unwrap(); // never moves backward
    let expected = Agent {
        last_active_at: at(30),
        ..expected
    };
    assert_eq!(store.get_agent("a1").await.unwrap(), Some(expected.clone()));

    store.ensure_agent(agent("a2", 40)).await.unwrap();
    let ids: Vec<String> = store
        .list_agents()
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(ids, vec!["a2", "a1"], "most recently active first");
    assert_eq!(store.get_agent("nobody").await.unwrap(), None);
}

async fn sessions_round_trip_and_filter(store: TestStore) {
    store.ensure_agent(agent("a1", 0)).await.unwrap();
    store
        .open_session(session("s1", Some("a1"), 1))
        .await
        .unwrap();
    let mut stdio = session("s2", None, 2);
    stdio.transport = Transport::Stdio;
    stdio.client_name = None;
    stdio.client_version = None;
    store.open_session(stdio).await.unwrap();
    store.close_session("s1", at(5)).await.unwrap();
    store.close_session("s1", at(9)).await.unwrap(); // keeps the first close

    let s1 = Session {
        id: "s1".into(),
        agent_id: Some("a1".into()),
        client_name: Some("claude-code".into()),
        client_version: Some("2.1.0".into()),
        transport: Transport::StreamableHttp,
        protocol_version: "2025-06-18".into(),
        opened_at: at(1),
        closed_at: Some(at(5)),
    };
    let s2 = Session {
        id: "s2".into(),
        agent_id: None,
        client_name: None,
        client_version: None,
        transport: Transport::Stdio,
        protocol_version: "2025-06-18".into(),
        opened_at: at(2),
        closed_at: None,
    };
    assert_eq!(
        store.list_sessions(None, false).await.unwrap(),
        vec![s2.clone(), s1.clone()]
    );
    assert_eq!(store.list_sessions(None, true).await.unwrap(), vec![s2]);
    assert_eq!(
        store.list_sessions(Some("a1"), false).await.unwrap(),
        vec![s1]
    );
    assert_eq!(store.list_sessions(Some("a1"), true).await.unwrap(), vec![]);
}

async fn calls_round_trip_newest_first_and_feed_agent_usage(store: TestStore) {
    store.ensure_agent(agent("a1", 0)).await.unwrap();
    store
        .open_session(session("s1", Some("a1"), 0))
        .await
        .unwrap();
    store
        .start_call(call("c1", "a1", Some("s1"), 1))
        .await
        .unwrap();
    let mut c2 = call("c2", "a1", None, 2);
    c2.thread_id = Some("thread-0".into());
    store.start_call(c2.clone()).await.unwrap();
    store
        .finish_call("c1", finish(CallStatus::Succeeded, 4))
        .await
        .unwrap();

    let c1 = Call {
        id: "c1".into(),
        agent_id: "a1".into(),
        session_id: Some("s1".into()),
        tool: "review".into(),
        arguments_digest: call("c1", "a1", None, 0).arguments_digest,
        started_at: at(1),
        finished_at: Some(at(4)),
        status: CallStatus::Succeeded,
        error: None,
        duration_ms: Some(1500),
        tokens_in: Some(100),
        tokens_out: Some(20),
        thread_id: Some("thread-1".into()),
    };
    let running = Call {
        id: "c2".into(),
        agent_id: "a1".into(),
        session_id: None,
        tool: "review".into(),
        arguments_digest: c2.arguments_digest.clone(),
        started_at: at(2),
        finished_at: None,
        status: CallStatus::Running,
        error: None,
        duration_ms: None,
        tokens_in: None,
        tokens_out: None,
        thread_id: Some("thread-0".into()),
    };
    assert_eq!(store.get_call("c1").await.unwrap(), Some(c1.clone()));
    assert_eq!(
        store.list_calls("a1", 10).await.unwrap(),
        vec![running.clone(), c1.clone()]
    );
    assert_eq!(store.list_calls("a1", 1).await.unwrap(), vec![running]);

    let usage = store.get_agent("a1").await.unwrap().unwrap().usage;
    assert_eq!(
        usage,
        AgentUsage {
            calls_made: 2,
            calls_running: 1,
            tokens_in: 100,
            tokens_out: 20
        }
    );
    // A finish that omits the thread keeps the one given at start.
    let mut end = finish(CallStatus::TimedOut, 6);
    end.thread_id = None;
    end.tokens_in = None;
    store.finish_call("c2", end).await.unwrap();
    let c2 = store.get_call("c2").await.unwrap().unwrap();
    assert_eq!(
        (c2.status, c2.thread_id, c2.error, c2.tokens_in),
        (
            CallStatus::TimedOut,
            Some("thread-0".into()),
            Some("ended timed_out".into()),
            None
        )
    );
    let agent = store.get_agent("a1").await.unwrap().unwrap();
    assert_eq!(agent.last_active_at, at(6));
    assert_eq!(agent.usage.tokens_out, 40);
    assert_eq!(agent.usage.calls_running, 0);
}

async fn threads_round_trip_replace_and_forget(store: TestStore) {
    store.ensure_agent(agent("a1", 0)).await.unwrap();
    assert_eq!(store.get_thread("a1", "conv").await.unwrap(), None);
    let first = store.put_thread("a1", "conv", "t-1", at(1)).await.unwrap();
    let expected = Thread {
        agent_id: "a1".into(),
        conversation_key: "conv".into(),
        thread_id: "t-1".into(),
        created_at: at(1),
        last_used_at: at(1),
    };
    assert_eq!(first, expected);
    // Same thread again: only last use moves.
    let used = store.put_thread("a1", "conv", "t-1", at(5)).await.unwrap();
    assert_eq!(
        used,
        Thread {
            last_used_at: at(5),
            ..expected.clone()
        }
    );
    // A new thread for the conversation replaces it.
    let replaced = store.put_thread("a1", "conv", "t-2", at(7)).await.unwrap();
    let replaced_expected = Thread {
        thread_id: "t-2".into(),
        created_at: at(7),
        last_used_at: at(7),
        ..expected
    };
    assert_eq!(replaced, replaced_expected);
    assert_eq!(
        store.get_thread("a1", "conv").await.unwrap(),
        Some(replaced_expected.clone())
    );
    store.put_thread("a1", "other", "t-3", at(3)).await.unwrap();
    let keys: Vec<String> = store
        .list_threads("a1")
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.conversation_key)
        .collect();
    assert_eq!(keys, vec!["conv", "other"]);
    assert!(store.forget_thread("a1", "other").await.unwrap());
    assert!(!store.forget_thread("a1", "other").await.unwrap());
    assert_eq!(
        store.list_threads("a1").await.unwrap(),
        vec![replaced_expected]
    );
}

async fn delete_agent_removes_its_history_and_only_its_history(store: TestStore) {
    for id in ["a1", "a2"] {
        store.ensure_agent(agent(id, 0)).await.unwrap();
        store
            .open_session(session(&format!("s-{id}"), Some(id), 0))
            .await
            .unwrap();
        store
            .start_call(call(&format!("c-{id}"), id, Some(&format!("s-{id}")), 1))
            .await
            .unwrap();
        store.put_thread(id, "conv", "t", at(1)).await.unwrap();
    }
    assert_eq!(
        store.delete_agent("a1").await.unwrap(),
        Some(AgentDeleted {
            sessions: 1,
            calls: 1,
            threads: 1
        })
    );
    assert_eq!(store.delete_agent("a1").await.unwrap(), None);
    assert_eq!(store.get_agent("a1").await.unwrap(), None);
    assert_eq!(store.get_call("c-a1").await.unwrap(), None);
    assert_eq!(store.list_threads("a1").await.unwrap(), vec![]);
    assert_eq!(
        store.list_sessions(Some("a1"), false).await.unwrap(),
        vec![]
    );
    assert!(store.get_call("c-a2").await.unwrap().is_some());
    assert!(store.get_thread("a2", "conv").await.unwrap().is_some());
}

async fn misuse_gets_typed_errors(store: TestStore) {
    store.ensure_agent(agent("a1", 0)).await.unwrap();
    assert_eq!(
        store.start_call(call("c1", "ghost", None, 1)).await,
        Err(StoreError::not_found("agent", "ghost"))
    );
    assert_eq!(
        store
            .start_call(call("c1", "a1", Some("no-session"), 1))
            .await,
        Err(StoreError::not_found("session", "no-session"))
    );
    store.start_call(call("c1", "a1", None, 1)).await.unwrap();
    assert_eq!(
        store.start_call(call("c1", "a1", None, 2)).await,
        Err(StoreError::AlreadyExists {
            kind: "call",
            id: "c1".into()
        })
    );
    assert!(matches!(
        store
            .finish_call("c1", finish(CallStatus::Running, 3))
            .await,
        Err(StoreError::Invalid { .. })
    ));
    store
        .finish_call("c1", finish(CallStatus::Failed, 3))
        .await
        .unwrap();
    assert_eq!(
        store
            .finish_call("c1", finish(CallStatus::Succeeded, 4))
            .await,
        Err(StoreError::NotRunning {
            id: "c1".into(),
            status: CallStatus::Failed
        })
    );
    assert_eq!(
        store
            .finish_call("nope", finish(CallStatus::Failed, 4))
            .await,
        Err(StoreError::not_found("call", "nope"))
    );
    // A failed second finish did not count its tokens twice.
    assert_eq!(
        store
            .get_agent("a1")
            .await
            .unwrap()
            .unwrap()
            .usage
            .tokens_in,
        100
    );
    assert_eq!(
        store.open_session(session("s1", Some("ghost"), 0)).await,
        Err(StoreError::not_found("agent", "ghost"))
    );
    store
        .open_session(session("s1", Some("a1"), 0))
        .await
        .unwrap();
    assert_eq!(
        store.open_session(session("s1", Some("a1"), 0)).await,
        Err(StoreError::AlreadyExists {
            kind: "session",
            id: "s1".into()
        })
    );
    assert_eq!(
        store.close_session("nope", at(1)).await,
        Err(StoreError::not_found("session", "nope"))
    );
    assert_eq!(
        store.touch_agent("ghost", at(1)).await,
        Err(StoreError::not_found("agent", "ghost"))
    );
    assert_eq!(
        store.put_thread("ghost", "c", "t", at(1)).await,
        Err(StoreError::not_found("agent", "ghost"))
    );
    let mut huge = finish(CallStatus::Succeeded, 5);
    huge.tokens_in = Some(u64::MAX);
    store.start_call(call("c2", "a1", None, 5)).await.unwrap();
    assert!(matches!(
        store.finish_call("c2", huge).await,
        Err(StoreError::Invalid {
            what: "tokens_in",
            ..
        })
    ));
    store.ping().await.unwrap();
}

async fn the_store_works_as_a_trait_object(store: TestStore) {
    let store: std::sync::Arc<dyn SessionStore> = std::sync::Arc::clone(&store.store);
    store.ensure_agent(agent("a1", 0)).await.unwrap();
    assert_eq!(store.list_agents().await.unwrap().len(), 1);
}

on_both_backends!(
    agents_round_trip_with_updates_touches_and_usage,
    sessions_round_trip_and_filter,
    calls_round_trip_newest_first_and_feed_agent_usage,
    threads_round_trip_replace_and_forget,
    delete_agent_removes_its_history_and_only_its_history,
    misuse_gets_typed_errors,
    the_store_works_as_a_trait_object
);
