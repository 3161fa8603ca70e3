//! Pages of the agent listing and agents by id: the order and contents of
//! `list_agents`, a page at a time, on both backends.

use super::common;

use codex_mcp_store::AgentPage;
use common::{TestStore, agent, at, call, on_both_backends};
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

on_both_backends!(
    pages_walk_the_listing_in_its_order,
    agents_by_id_come_in_listing_order_without_unknown_ids
);
