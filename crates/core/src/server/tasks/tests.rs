//! Unit tests of the task table and its entries.
use super::*;
use pretty_assertions::assert_eq;

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
