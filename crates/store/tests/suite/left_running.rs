//! Tasks a restart may re-attach to: a running task bound to a running call survives
//! the recovery at open with its call, for the engine to re-attach or fail; every other
//! running task is failed and every other running call interrupted, as before.

use super::common;

use codex_mcp_store::{
    CALL_INTERRUPTED, CallStatus, LeftTask, Recovered, StoreError, TASK_INTERRUPTED, Task,
    TaskFinish, TaskStatus,
};
use common::{TestStore, agent, at, call, finish, new_task, on_both_backends};
use pretty_assertions::assert_eq;
use serde_json::json;

async fn a_restart_leaves_a_task_bound_to_a_running_call_for_the_engine(store: TestStore) {
    store.ensure_agent(agent("a1", 0)).await.unwrap();
    let arguments = json!({"message": "take your time", "agent_id": "a1"});
    // Bound to a running call: kept.
    store
        .start_call(call("c-keep", "a1", None, 1))
        .await
        .unwrap();
    store
        .create_task(new_task("keep", "o", None, 1))
        .await
        .unwrap();
    store
        .bind_task_call("keep", "c-keep", &arguments)
        .await
        .unwrap();
    // Never bound (its call never started): failed.
    store
        .create_task(new_task("unbound", "o", None, 2))
        .await
        .unwrap();
    // Bound to a call that ended: failed.
    store
        .start_call(call("c-done", "a1", None, 2))
        .await
        .unwrap();
    store
        .finish_call("c-done", finish(CallStatus::Succeeded, 3))
        .await
        .unwrap();
    store
        .create_task(new_task("ended-call", "o", None, 2))
        .await
        .unwrap();
    store
        .bind_task_call("ended-call", "c-done", &arguments)
        .await
        .unwrap();
    // A running call of no task: interrupted.
    store
        .start_call(call("c-alone", "a1", None, 3))
        .await
        .unwrap();

    let store = store.reopen().await;
    assert_eq!(
        store.recovered,
        Recovered {
            calls: 1,
            sessions: 0,
            tasks: 2
        }
    );
    for id in ["unbound", "ended-call"] {
        let t = store.get_task("o", id).await.unwrap().unwrap();
        assert_eq!(
            (t.status, t.error.as_deref()),
            (TaskStatus::Failed, Some(TASK_INTERRUPTED))
        );
    }
    let alone = store.get_call("c-alone").await.unwrap().unwrap();
    assert_eq!(
        (alone.status, alone.error.as_deref()),
        (CallStatus::Interrupted, Some(CALL_INTERRUPTED))
    );
    let kept = store.get_task("o", "keep").await.unwrap().unwrap();
    assert_eq!(kept.status, TaskStatus::Working);
    assert_eq!(
        store.get_call("c-keep").await.unwrap().unwrap().status,
        CallStatus::Running
    );
    let left = store.left_running().await.unwrap();
    assert_eq!(
        left,
        vec![LeftTask {
            task: Task {
                call_id: Some("c-keep".into()),
                ..kept
            },
            call_id: "c-keep".into(),
            agent_id: "a1".into(),
            arguments,
        }]
    );

    // The engine could not re-attach: the task fails and its call is interrupted, once.
    store.fail_left_running(&left[0], at(9)).await.unwrap();
    store.fail_left_running(&left[0], at(10)).await.unwrap();
    let failed = store.get_task("o", "keep").await.unwrap().unwrap();
    assert_eq!(
        (
            failed.status,
            failed.error.as_deref(),
            failed.status_message.as_deref(),
            failed.updated_at
        ),
        (
            TaskStatus::Failed,
            Some(TASK_INTERRUPTED),
            Some(TASK_INTERRUPTED),
            at(9)
        )
    );
    let interrupted = store.get_call("c-keep").await.unwrap().unwrap();
    assert_eq!(
        (interrupted.status, interrupted.error.as_deref()),
        (CallStatus::Interrupted, Some(CALL_INTERRUPTED))
    );
    assert_eq!(store.left_running().await.unwrap(), Vec::<LeftTask>::new());
    let store = store.reopen().await;
    assert_eq!(store.recovered, Recovered::default());
}

async fn a_task_re_attached_and_finished_is_not_left_again(store: TestStore) {
    store.ensure_agent(agent("a1", 0)).await.unwrap();
    store.start_call(call("c1", "a1", None, 1)).await.unwrap();
    store
        .create_task(new_task("t1", "o", None, 1))
        .await
        .unwrap();
    store
        .bind_task_call("t1", "c1", &json!({"message": "hi"}))
        .await
        .unwrap();
    let store = store.reopen().await;
    assert_eq!(store.left_running().await.unwrap().len(), 1);
    // The engine finished it as a normal turn would.
    store
        .finish_call("c1", finish(CallStatus::Succeeded, 5))
        .await
        .unwrap();
    let end = TaskFinish {
        status: TaskStatus::Completed,
        status_message: None,
        result: Some(json!({"content": [], "isError": false})),
        error: None,
        at: at(5),
    };
    store.finish_task("t1", end).await.unwrap();
    assert_eq!(store.left_running().await.unwrap(), Vec::<LeftTask>::new());
    let store = store.reopen().await;
    assert_eq!(store.recovered, Recovered::default());
    assert_eq!(
        store.get_call("c1").await.unwrap().unwrap().status,
        CallStatus::Succeeded
    );
}

async fn binding_an_unknown_or_ended_task_is_refused(store: TestStore) {
    let args = json!({"message": "hi"});
    assert_eq!(
        store.bind_task_call("nope", "c1", &args).await,
        Err(StoreError::not_found("task", "nope"))
    );
    store
        .create_task(new_task("t1", "o", None, 1))
        .await
        .unwrap();
    let end = TaskFinish {
        status: TaskStatus::Cancelled,
        status_message: None,
        result: None,
        error: None,
        at: at(2),
    };
    store.finish_task("t1", end).await.unwrap();
    assert_eq!(
        store.bind_task_call("t1", "c1", &args).await,
        Err(StoreError::TaskEnded {
            id: "t1".into(),
            status: TaskStatus::Cancelled
        })
    );
    assert_eq!(
        store.get_task("o", "t1").await.unwrap().unwrap().call_id,
        Some("call-t1".into())
    );
}

on_both_backends!(
    a_restart_leaves_a_task_bound_to_a_running_call_for_the_engine,
    a_task_re_attached_and_finished_is_not_left_again,
    binding_an_unknown_or_ended_task_is_refused,
);
