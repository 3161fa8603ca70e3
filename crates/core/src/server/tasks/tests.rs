//! Unit tests of the task table and its entries.
use super::*;
use pretty_assertions::assert_eq;
use serde_json::json;

fn q(key: &str) -> (String, String, Value) {
    (
        key.into(),
        "elicitation/create".into(),
        json!({"message": key}),
    )
}

#[test]
fn tasks_are_found_only_by_their_owner() {
    let table = TaskTable::default();
    let mine = table.create(Some("alice".into()));
    assert!(table.find(mine.id(), Some("alice")).is_ok());
    for other in [Some("bob"), None] {
        let e = table.find(mine.id(), other).err().unwrap();
        assert_eq!(e, tasks_ext::unknown_task(mine.id()));
    }
    assert!(table.find("task-nope", Some("alice")).is_err());
}

#[test]
fn terminal_states_do_not_change() {
    let table = TaskTable::default();
    let t = table.create(None);
    t.complete(json!({"content": []}));
    t.cancel();
    t.fail(ErrorObject::internal("late"));
    let d = t.detailed();
    assert_eq!(d.task.status, TaskStatus::Completed);
    assert_eq!(d.result, Some(json!({"content": []})));
    assert_eq!(d.error, None);
    assert!(t.cancellation().is_cancelled());
}

#[tokio::test]
async fn partial_answers_keep_the_task_waiting() {
    let table = TaskTable::default();
    let t = table.create(None);
    let asker = {
        let t = t.clone();
        tokio::spawn(async move { t.ask(vec![q("a"), q("b")]).await })
    };
    while t.detailed().task.status != TaskStatus::InputRequired {
        tokio::task::yield_now().await;
    }
    t.deliver(json!({"a": 1, "zzz": 2}).as_object().unwrap().clone());
    let d = t.detailed();
    assert_eq!(d.task.status, TaskStatus::InputRequired);
    let left: Vec<_> = d.input_requests.unwrap().keys().cloned().collect();
    assert_eq!(left, vec!["b".to_string()]);
    t.deliver(json!({"b": 3}).as_object().unwrap().clone());
    assert_eq!(asker.await.unwrap(), Some(vec![json!(1), json!(3)]));
    assert_eq!(t.detailed().task.status, TaskStatus::Working);
}

#[tokio::test]
async fn cancel_wakes_a_waiting_question() {
    let table = TaskTable::default();
    let t = table.create(None);
    let asker = {
        let t = t.clone();
        tokio::spawn(async move { t.ask(vec![q("a")]).await })
    };
    while t.detailed().task.status != TaskStatus::InputRequired {
        tokio::task::yield_now().await;
    }
    t.cancel();
    assert_eq!(asker.await.unwrap(), None);
    let d = t.detailed();
    assert_eq!(d.task.status, TaskStatus::Cancelled);
    assert_eq!(d.input_requests, None);
}

/// A task bound to its call is resumed by a restarted server's table under its own id,
/// owner, creation time and TTL, as the store has it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bound_task_is_resumed_as_the_store_has_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(codex_mcp_store::SqliteStore::open(dir.path()).unwrap());
    let table = TaskTable::new(Some(store.clone() as Arc<dyn TaskStore>));
    let spec = TaskSpec {
        tool: "chat".into(),
        ttl: Duration::from_secs(90),
    };
    let first = table.create_with(Some("alice".into()), spec);
    let arguments = json!({"message": "hi"}).as_object().unwrap().clone();
    first.bind_call("call-1", &arguments);
    first.set_status_message("Codex is thinking");
    table.flush().await;
    let stored = store
        .get_task(&owner_key(Some("alice")), first.id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.call_id.as_deref(), Some("call-1"));

    let restarted = TaskTable::new(Some(store.clone() as Arc<dyn TaskStore>));
    let resumed = restarted.resume(&stored);
    assert!(restarted.find(first.id(), Some("alice")).is_ok());
    assert!(restarted.find(first.id(), None).is_err());
    let (before, after) = (first.task(), resumed.task());
    assert_eq!(
        (
            after.task_id,
            after.status,
            after.status_message,
            after.created_at,
            after.ttl_ms
        ),
        (
            before.task_id,
            TaskStatus::Working,
            Some("Codex is thinking".to_string()),
            before.created_at,
            Some(90_000)
        )
    );
    // Its end is written through, as a new task's is.
    resumed.complete(json!({"content": [], "isError": false}));
    restarted.flush().await;
    let ended = store
        .get_task(&owner_key(Some("alice")), first.id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ended.status, codex_mcp_store::TaskStatus::Completed);
}
