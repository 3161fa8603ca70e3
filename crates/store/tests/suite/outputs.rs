//! A finished call's output is stored whole, read back on its own, and goes away with
//! its call (pruning, agent deletion); a failed finish stores nothing.

use super::common;

use codex_mcp_store::{CallOutput, CallStatus, StoreError};
use common::{TestStore, agent, at, call, finish, on_both_backends};
use pretty_assertions::assert_eq;
use serde_json::json;

fn output(diff: Option<&str>) -> CallOutput {
    CallOutput {
        result: json!({ "summary": "done", "files": ["a.rs"], "big": "x".repeat(300_000) }),
        diff: diff.map(str::to_owned),
    }
}

async fn outputs_round_trip_and_go_with_their_call(store: TestStore) {
    store.ensure_agent(agent("a1", 0)).await.unwrap();
    store.start_call(call("c1", "a1", None, 1)).await.unwrap();
    assert_eq!(store.get_call_output("c1").await.unwrap(), None);

    let mut end = finish(CallStatus::Succeeded, 2);
    end.output = Some(output(Some("--- a/a.rs\n+++ b/a.rs\n")));
    store.finish_call("c1", end).await.unwrap();
    assert_eq!(
        store.get_call_output("c1").await.unwrap(),
        Some(output(Some("--- a/a.rs\n+++ b/a.rs\n")))
    );

    // A second finish is refused and leaves the stored output as it was.
    let mut again = finish(CallStatus::Failed, 3);
    again.output = Some(output(None));
    assert!(matches!(
        store.finish_call("c1", again).await,
        Err(StoreError::NotRunning { .. })
    ));
    assert_eq!(
        store.get_call_output("c1").await.unwrap(),
        Some(output(Some("--- a/a.rs\n+++ b/a.rs\n")))
    );

    // Pruning the call prunes its output.
    store.prune_before(at(100)).await.unwrap();
    assert_eq!(store.get_call("c1").await.unwrap(), None);
    assert_eq!(store.get_call_output("c1").await.unwrap(), None);

    // So does deleting the agent.
    store.start_call(call("c2", "a1", None, 200)).await.unwrap();
    let mut end = finish(CallStatus::Succeeded, 201);
    end.output = Some(output(None));
    store.finish_call("c2", end).await.unwrap();
    assert_eq!(
        store.get_call_output("c2").await.unwrap(),
        Some(output(None))
    );
    store.delete_agent("a1").await.unwrap();
    assert_eq!(store.get_call_output("c2").await.unwrap(), None);
    assert_eq!(store.get_call_output("no-such-call").await.unwrap(), None);
}

async fn outputs_survive_a_reopen(store: TestStore) {
    store.ensure_agent(agent("a1", 0)).await.unwrap();
    store.start_call(call("c1", "a1", None, 1)).await.unwrap();
    let mut end = finish(CallStatus::Succeeded, 2);
    end.output = Some(output(Some("diff\n")));
    store.finish_call("c1", end).await.unwrap();
    let store = store.reopen().await;
    assert_eq!(
        store.get_call_output("c1").await.unwrap(),
        Some(output(Some("diff\n")))
    );
}

async fn outputs_list_newest_first_only_for_the_agents_asked(store: TestStore) {
    for a in ["a1", "a2"] {
        store.ensure_agent(agent(a, 0)).await.unwrap();
    }
    // (call, agent, start second, has output, diff)
    let plan = [
        ("old", "a1", 1, true, None),
        ("mid", "a2", 2, true, Some("d\n")),
        ("new", "a1", 3, true, None),
        ("bare", "a1", 4, false, None),
    ];
    for (id, a, secs, with_output, diff) in plan {
        store.start_call(call(id, a, None, secs)).await.unwrap();
        let mut end = finish(CallStatus::Succeeded, secs + 10);
        end.output = with_output.then(|| output(diff));
        store.finish_call(id, end).await.unwrap();
    }
    store
        .start_call(call("running", "a1", None, 9))
        .await
        .unwrap();
    let listed = |agents: Option<Vec<String>>, limit| {
        let store = std::sync::Arc::clone(&store.store);
        async move {
            store
                .list_call_outputs(&codex_mcp_store::OutputQuery { agents, limit })
                .await
                .unwrap()
                .into_iter()
                .map(|e| (e.call.id, e.has_diff))
                .collect::<Vec<_>>()
        }
    };
    let all = vec![
        ("new".to_string(), false),
        ("mid".to_string(), true),
        ("old".to_string(), false),
    ];
    assert_eq!(listed(None, 10).await, all);
    assert_eq!(listed(None, 2).await, all[..2].to_vec());
    assert_eq!(
        listed(Some(vec!["a1".into()]), 10).await,
        vec![("new".to_string(), false), ("old".to_string(), false)]
    );
    assert_eq!(listed(Some(vec!["nobody".into()]), 10).await, vec![]);
}

on_both_backends!(
    outputs_round_trip_and_go_with_their_call,
    outputs_survive_a_reopen,
    outputs_list_newest_first_only_for_the_agents_asked,
);
