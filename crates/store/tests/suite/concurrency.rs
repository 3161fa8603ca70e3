//! Many agents writing at once: no "database is locked", nothing lost or mixed up.

use super::common;

use std::sync::Arc;

use codex_mcp_store::{AgentUsage, CallStatus};
use common::{TestStore, agent, call, finish, on_both_backends};
use pretty_assertions::assert_eq;

const TASKS: usize = 20;
const CALLS: usize = 50;

fn status_for(task: usize, n: usize) -> CallStatus {
    match (task + n) % 5 {
        0 => CallStatus::Succeeded,
        1 => CallStatus::Failed,
        2 => CallStatus::Cancelled,
        3 => CallStatus::TimedOut,
        _ => CallStatus::Succeeded,
    }
}

async fn twenty_agents_times_fifty_calls_all_recorded(store: TestStore) {
    let store = Arc::clone(&store.store);
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            let agent_id = format!("agent-{task}");
            store.ensure_agent(agent(&agent_id, 0)).await?;
            for n in 0..CALLS {
                let id = format!("{agent_id}-call-{n}");
                let secs = i64::try_from(n).unwrap();
                store.start_call(call(&id, &agent_id, None, secs)).await?;
                // Reads interleave with the writes.
                store.get_agent(&agent_id).await?;
                store
                    .finish_call(&id, finish(status_for(task, n), secs + 1))
                    .await?;
            }
            Ok::<_, codex_mcp_store::StoreError>(())
        });
    }
    while let Some(joined) = tasks.join_next().await {
        joined.unwrap().unwrap();
    }

    let mut total = 0;
    for task in 0..TASKS {
        let agent_id = format!("agent-{task}");
        let calls = store.list_calls(&agent_id, 1000).await.unwrap();
        assert_eq!(calls.len(), CALLS);
        total += calls.len();
        for c in &calls {
            let n: usize = c.id.rsplit('-').next().unwrap().parse().unwrap();
            assert_eq!(c.agent_id, agent_id);
            assert_eq!(c.status, status_for(task, n), "{}", c.id);
        }
        let usage = store.get_agent(&agent_id).await.unwrap().unwrap().usage;
        assert_eq!(
            usage,
            AgentUsage {
                calls_made: 50,
                calls_running: 0,
                tokens_in: 5000,
                tokens_out: 1000
            }
        );
    }
    assert_eq!(total, TASKS * CALLS);
}

on_both_backends!(twenty_agents_times_fifty_calls_all_recorded);
