//! Pages of the agent listing and agents by id: the order and contents of
//! `list_agents`, a page at a time, on both backends.

use super::common;

use std::collections::HashMap;

use codex_mcp_store::{AgentActivity, AgentPage, CallStatus};
use common::{TestStore, agent, at, call, finish, on_both_backends};
use pretty_assertions::assert_eq;

fn ids(agents: &[codex_mcp_store::Agent]) -> Vec<&str> {
    agents.iter().map(|a| a.id.as_str()).collect()
}

/// Five agents: b and c tie on activity (ordered by id), e was touched last.
async fn five_agents(store: &TestStore) {
    for (id, secs) in [("a", 10), ("b", 20), ("c", 20), ("d", 5), ("e", 1)] {
        store.ensure_agent(agent(id, secs)).await.unwrap();
    }
    store.touch_agent("e", at(30)).await.unwrap();
}

async fn pages_walk_the_listing_in_its_order(store: TestStore) {
    let empty = store.list_agents_page(0, 10).await.unwrap();
    assert_eq!(empty, AgentPage::default());

    five_agents(&store).await;
    store.start_call(call("c1", "c", None, 20)).await.unwrap();
    let all = store.list_agents().await.unwrap();
    assert_eq!(ids(&all), vec!["e", "b", "c", "a", "d"]);

    let mut walked = Vec::new();
    for offset in (0..6).step_by(2) {
        let page = store.list_agents_page(offset, 2).await.unwrap();
        assert_eq!(page.total, 5);
        walked.extend(page.agents);
    }
    // Whole records, usage included (c's running call is counted on the page too).
    assert_eq!(walked, all);
    assert_eq!(walked[2].usage.calls_running, 1);

    let count_only = store.list_agents_page(0, 0).await.unwrap();
    assert_eq!(
        count_only,
        AgentPage {
            agents: Vec::new(),
            total: 5
        }
    );
    let past_the_end = store.list_agents_page(7, 3).await.unwrap();
    assert_eq!(
        past_the_end,
        AgentPage {
            agents: Vec::new(),
            total: 5
        }
    );
    let huge = store.list_agents_page(u64::MAX, u32::MAX).await.unwrap();
    assert_eq!(
        huge,
        AgentPage {
            agents: Vec::new(),
            total: 5
        }
    );
}

async fn agents_by_id_come_in_listing_order_without_unknown_ids(store: TestStore) {
    five_agents(&store).await;
    let wanted: Vec<String> = ["d", "nobody", "e", "b", "e"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let found = store.get_agents(&wanted).await.unwrap();
    assert_eq!(ids(&found), vec!["e", "b", "d"]);
    assert_eq!(found[0], store.get_agent("e").await.unwrap().unwrap());
    assert_eq!(store.get_agents(&[]).await.unwrap(), Vec::new());
    let strange = vec!["it's \"quoted\"".to_owned(), "[]".to_owned()];
    assert_eq!(store.get_agents(&strange).await.unwrap(), Vec::new());
}

async fn activity_of_a_page_is_each_agents_threads_and_newest_calls(store: TestStore) {
    five_agents(&store).await;
    // b: three calls (one still running, the newest) and two conversations; e: one call;
    // a and d: nothing.
    for (id, secs) in [("b1", 21), ("b2", 22), ("b3", 23)] {
        store.start_call(call(id, "b", None, secs)).await.unwrap();
    }
    store
        .finish_call("b1", finish(CallStatus::Succeeded, 21))
        .await
        .unwrap();
    store
        .finish_call("b2", finish(CallStatus::Failed, 22))
        .await
        .unwrap();
    store.start_call(call("e1", "e", None, 31)).await.unwrap();
    // c: two calls started in the same instant, ordered as list_calls orders them.
    store.start_call(call("c1", "c", None, 27)).await.unwrap();
    store.start_call(call("c2", "c", None, 27)).await.unwrap();
    store.put_thread("b", "first", "t-1", at(21)).await.unwrap();
    store
        .put_thread("b", "second", "t-2", at(25))
        .await
        .unwrap();

    let wanted: Vec<String> = ["d", "nobody", "e", "b", "e", "c"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let found = store.agents_activity(&wanted, 2).await.unwrap();

    // The same as each agent's own reads, limit applied per agent; an unknown id is empty.
    let mut expected = HashMap::new();
    for id in ["d", "nobody", "e", "b", "c"] {
        let activity = AgentActivity {
            threads: store.list_threads(id).await.unwrap(),
            recent_calls: store.list_calls(id, 2).await.unwrap(),
        };
        expected.insert(id.to_owned(), activity);
    }
    assert_eq!(found, expected);
    // And that is b's two newest calls and both conversations, newest first.
    let b = &found["b"];
    let calls: Vec<(&str, CallStatus)> = b
        .recent_calls
        .iter()
        .map(|c| (c.id.as_str(), c.status))
        .collect();
    assert_eq!(
        calls,
        vec![("b3", CallStatus::Running), ("b2", CallStatus::Failed)]
    );
    let threads: Vec<&str> = b.threads.iter().map(|t| t.thread_id.as_str()).collect();
    assert_eq!(threads, vec!["t-2", "t-1"]);
    let tied: Vec<&str> = found["c"]
        .recent_calls
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(tied, vec!["c2", "c1"], "the later recorded first");
    assert_eq!(found["nobody"], AgentActivity::default());

    assert_eq!(
        store.agents_activity(&[], 10).await.unwrap(),
        HashMap::new()
    );
    let none = store.agents_activity(&wanted, 0).await.unwrap();
    assert!(none.values().all(|a| a.recent_calls.is_empty()));
    assert_eq!(none["b"].threads, b.threads);
}

on_both_backends!(
    pages_walk_the_listing_in_its_order,
    agents_by_id_come_in_listing_order_without_unknown_ids,
    activity_of_a_page_is_each_agents_threads_and_newest_calls
);
