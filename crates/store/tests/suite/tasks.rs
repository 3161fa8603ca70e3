//! Tasks: created working, moved along, ended once, scoped by owner, paged, expired
//! past their TTL, failed by a restart; and their bad inputs.

use super::common;

use codex_mcp_store::{MAX_TASK_PAGE, StoreError, Task, TaskFinish, TaskProgress, TaskStatus};
use common::{TestStore, agent, at, new_task, on_both_backends};
use pretty_assertions::assert_eq;
use serde_json::json;

fn done(status: TaskStatus, secs: i64) -> TaskFinish {
    TaskFinish {
        status,
        status_message: Some(format!("{status}")),
        result: (status == TaskStatus::Completed)
            .then(|| json!({ "content": [{ "type": "text", "text": "ok" }], "isError": false })),
        error: (status != TaskStatus::Completed).then(|| format!("ended {status}")),
        at: at(secs),
    }
}

fn progress(message: &str, secs: i64) -> TaskProgress {
    TaskProgress {
        status: TaskStatus::Working,
        status_message: Some(message.into()),
        at: at(secs),
    }
}

async fn a_task_is_created_moved_along_and_ended_once(store: TestStore) {
    store.ensure_agent(agent("a1", 0)).await.unwrap();

    let created = store
        .create_task(new_task("t1", "token:alice", Some("a1"), 1))
        .await
        .unwrap();
    let expected = Task {
        id: "t1".into(),
        owner: "token:alice".into(),
        agent_id: Some("a1".into()),
        tool: "review".into(),
        call_id: Some("call-t1".into()),
        status: TaskStatus::Working,
        status_message: None,
        created_at: at(1),
        updated_at: at(1),
        ttl_ms: Some(60_000),
        poll_interval_ms: Some(1_000),
        result: None,
        error: None,
    };
    assert_eq!(created, expected);
    assert_eq!(
        store.get_task("token:alice", "t1").await.unwrap(),
        Some(expected.clone())
    );

    let moved = store
        .update_task("t1", progress("reading files", 2))
        .await
        .unwrap();
    assert_eq!(moved.status_message.as_deref(), Some("reading files"));
    assert_eq!(moved.updated_at, at(2));
    // A message of None keeps the previous one.
    let waiting = store
        .update_task(
            "t1",
            TaskProgress {
                status: TaskStatus::InputRequired,
                status_message: None,
                at: at(3),
            },
        )
        .await
        .unwrap();
    assert_eq!(waiting.status, TaskStatus::InputRequired);
    assert_eq!(waiting.status_message.as_deref(), Some("reading files"));

    let ended = store
        .finish_task("t1", done(TaskStatus::Completed, 4))
        .await
        .unwrap();
    assert_eq!(
        ended,
        Task {
            status: TaskStatus::Completed,
            status_message: Some("completed".into()),
            updated_at: at(4),
            result: Some(
                json!({ "content": [{ "type": "text", "text": "ok" }], "isError": false })
            ),
            ..expected
        }
    );

    // A cancel racing the finish loses, and changes nothing; so does late progress.
    let ended_error = StoreError::TaskEnded {
        id: "t1".into(),
        status: TaskStatus::Completed,
    };
    let cancel = store
        .finish_task("t1", done(TaskStatus::Cancelled, 5))
        .await;
    assert_eq!(cancel.unwrap_err(), ended_error);
    let late = store.update_task("t1", progress("late", 6)).await;
    assert_eq!(late.unwrap_err(), ended_error);
    assert_eq!(
        store.get_task("token:alice", "t1").await.unwrap(),
        Some(ended)
    );
}

async fn another_owners_task_reads_like_an_unknown_id(store: TestStore) {
    store
        .create_task(new_task("t1", "token:alice", None, 1))
        .await
        .unwrap();
    assert_eq!(store.get_task("token:bob", "t1").await.unwrap(), None);
    assert_eq!(store.get_task("token:alice", "nope").await.unwrap(), None);
    let page = store.list_tasks("token:bob", None, 10).await.unwrap();
    assert_eq!(page.tasks, vec![]);
    assert_eq!(page.next_cursor, None);
}

async fn listing_pages_newest_first_with_a_cursor(store: TestStore) {
    for i in 0..5 {
        store
            .create_task(new_task(&format!("t{i}"), "o", None, i))
            .await
            .unwrap();
    }
    store
        .create_task(new_task("other", "p", None, 9))
        .await
        .unwrap();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = store.list_tasks("o", cursor.as_deref(), 2).await.unwrap();
        pages += 1;
        seen.extend(page.tasks.into_iter().map(|t| t.id));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, vec!["t4", "t3", "t2", "t1", "t0"]);
}

async fn expiry_deletes_only_ended_tasks_past_their_ttl(store: TestStore) {
    // ttl 60 s from creation at 0.
    for id in ["old-done", "old-running", "young-done"] {
        let secs = if id == "young-done" { 100 } else { 0 };
        store
            .create_task(new_task(id, "o", None, secs))
            .await
            .unwrap();
    }
    let mut forever = new_task("forever", "o", None, 0);
    forever.ttl_ms = None;
    store.create_task(forever).await.unwrap();
    for id in ["old-done", "young-done", "forever"] {
        store
            .finish_task(id, done(TaskStatus::Failed, 101))
            .await
            .unwrap();
    }
    assert_eq!(store.expire_tasks(at(61)).await.unwrap(), 1);
    assert_eq!(store.get_task("o", "old-done").await.unwrap(), None);
    assert!(store.get_task("o", "old-running").await.unwrap().is_some());
    assert!(store.get_task("o", "young-done").await.unwrap().is_some());
    assert_eq!(store.expire_tasks(at(10_000)).await.unwrap(), 1);
    assert!(store.get_task("o", "forever").await.unwrap().is_some());
    assert!(store.get_task("o", "old-running").await.unwrap().is_some());
}

async fn a_restart_fails_running_tasks_and_keeps_ended_ones(store: TestStore) {
    store
        .create_task(new_task("live", "o", None, 0))
        .await
        .unwrap();
    store
        .create_task(new_task("done", "o", None, 0))
        .await
        .unwrap();
    let finished = store
        .finish_task("done", done(TaskStatus::Completed, 1))
        .await
        .unwrap();
    let store = store.reopen().await;
    assert_eq!(store.recovered.tasks, 1);
    let live = store.get_task("o", "live").await.unwrap().unwrap();
    assert_eq!(live.status, TaskStatus::Failed);
    let message = "the server restarted while this task was running; run it again";
    assert_eq!(live.error.as_deref(), Some(message));
    assert_eq!(live.status_message.as_deref(), Some(message));
    assert_eq!(store.get_task("o", "done").await.unwrap(), Some(finished));
    // Through the trait too, as core calls it.
    assert_eq!(store.recover_interrupted(at(5)).await.unwrap().tasks, 0);
}

async fn deleting_the_agent_deletes_its_tasks(store: TestStore) {
    store.ensure_agent(agent("a1", 0)).await.unwrap();
    store
        .create_task(new_task("t1", "o", Some("a1"), 1))
        .await
        .unwrap();
    store.delete_agent("a1").await.unwrap();
    assert_eq!(store.get_task("o", "t1").await.unwrap(), None);
}

async fn bad_task_input_is_refused_with_a_typed_error_and_changes_nothing(store: TestStore) {
    store
        .create_task(new_task("t1", "o", None, 0))
        .await
        .unwrap();
    let before = store.get_task("o", "t1").await.unwrap();

    assert_eq!(
        store
            .create_task(new_task("t1", "o", None, 1))
            .await
            .unwrap_err(),
        StoreError::AlreadyExists {
            kind: "task",
            id: "t1".into()
        }
    );
    assert_eq!(
        store
            .create_task(new_task("t2", "o", Some("ghost"), 1))
            .await
            .unwrap_err(),
        StoreError::not_found("agent", "ghost")
    );
    assert!(matches!(
        store.create_task(new_task("t3", "", None, 1)).await,
        Err(StoreError::Invalid {
            what: "task owner",
            ..
        })
    ));
    let mut huge = new_task("t4", "o", None, 1);
    huge.ttl_ms = Some(u64::MAX);
    assert!(matches!(
        store.create_task(huge).await,
        Err(StoreError::Invalid {
            what: "task ttl_ms",
            ..
        })
    ));
    assert_eq!(
        store
            .update_task("ghost", progress("x", 1))
            .await
            .unwrap_err(),
        StoreError::not_found("task", "ghost")
    );
    assert_eq!(
        store
            .finish_task("ghost", done(TaskStatus::Cancelled, 1))
            .await
            .unwrap_err(),
        StoreError::not_found("task", "ghost")
    );
    assert!(matches!(
        store
            .update_task("t1", progress_with(TaskStatus::Completed))
            .await,
        Err(StoreError::Invalid {
            what: "task status",
            ..
        })
    ));
    assert!(matches!(
        store.finish_task("t1", done(TaskStatus::Working, 1)).await,
        Err(StoreError::Invalid {
            what: "task status",
            ..
        })
    ));
    for cursor in ["abc", "-1", "0", ""] {
        assert!(
            matches!(
                store.list_tasks("o", Some(cursor), 10).await,
                Err(StoreError::Invalid {
                    what: "task cursor",
                    ..
                })
            ),
            "cursor {cursor:?}"
        );
    }
    for limit in [0, MAX_TASK_PAGE + 1] {
        assert!(matches!(
            store.list_tasks("o", None, limit).await,
            Err(StoreError::Invalid {
                what: "task page size",
                ..
            })
        ));
    }
    assert_eq!(store.get_task("o", "t1").await.unwrap(), before);
    assert_eq!(
        store.list_tasks("o", None, 10).await.unwrap().tasks.len(),
        1
    );
}

fn progress_with(status: TaskStatus) -> TaskProgress {
    TaskProgress {
        status,
        status_message: None,
        at: at(1),
    }
}

on_both_backends!(
    a_task_is_created_moved_along_and_ended_once,
    another_owners_task_reads_like_an_unknown_id,
    listing_pages_newest_first_with_a_cursor,
    expiry_deletes_only_ended_tasks_past_their_ttl,
    a_restart_fails_running_tasks_and_keeps_ended_ones,
    deleting_the_agent_deletes_its_tasks,
    bad_task_input_is_refused_with_a_typed_error_and_changes_nothing
);
