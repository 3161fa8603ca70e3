//! What only the PostgreSQL backend has: a connection string, a server that can be
//! unreachable, one mcpd per database, and a schema version kept in the database.

use codex_mcp_store::{
    CallStatus, PostgresStore, Recovered, SessionStore, StoreError, TaskStatus, TaskStore,
};
use codex_mcp_testkit::PgServer;
use pretty_assertions::assert_eq;

use super::common::{agent, at, call, finish, new_task, session};

fn server() -> Option<PgServer> {
    PgServer::start_or_skip()
}

#[tokio::test]
async fn a_second_process_with_one_replica_name_is_refused_until_the_first_goes() {
    let Some(pg) = server() else { return };
    let first = PostgresStore::connect(&pg.url(), "r1").await.unwrap();
    first.ensure_agent(agent("a1", 0)).await.unwrap();
    first.start_call(call("c1", "a1", None, 1)).await.unwrap();
    let location = format!("postgres://127.0.0.1:{}/codex_mcp", pg.port());
    assert_eq!(
        PostgresStore::connect(&pg.url(), "r1").await.unwrap_err(),
        StoreError::DatabaseInUse {
            location: location.clone(),
            instance: "r1".into(),
        }
    );
    // The refused attempt changed nothing: the first's call is still running.
    assert_eq!(
        first.get_call("c1").await.unwrap().unwrap().status,
        CallStatus::Running
    );
    drop(first);
    // The next process of that name takes over and interrupts what the first left.
    let second = PostgresStore::connect(&pg.url(), "r1").await.unwrap();
    assert_eq!(
        (second.location(), second.replica()),
        (location.as_str(), "r1")
    );
    assert_eq!(second.recovered_at_open().calls, 1);
    assert_eq!(
        second.get_call("c1").await.unwrap().unwrap().status,
        CallStatus::Interrupted
    );
    assert_eq!(
        PostgresStore::connect(&pg.url(), "").await.unwrap_err(),
        StoreError::invalid("replica name", "it is empty")
    );
}

#[tokio::test]
async fn replicas_share_the_record_and_a_gone_one_leaves_its_calls_interrupted() {
    let Some(pg) = server() else { return };
    let a = PostgresStore::connect(&pg.url(), "replica-a")
        .await
        .unwrap();
    let b = PostgresStore::connect(&pg.url(), "replica-b")
        .await
        .unwrap();
    a.ensure_agent(agent("x", 0)).await.unwrap();
    a.open_session(session("sa", Some("x"), 0)).await.unwrap();
    a.start_call(call("from-a", "x", Some("sa"), 1))
        .await
        .unwrap();
    a.create_task(new_task("task-a", "o", Some("x"), 1))
        .await
        .unwrap();
    // b sees a's records, and its own start leaves a's call alone.
    b.ensure_agent(agent("y", 0)).await.unwrap();
    b.start_call(call("from-b", "y", None, 2)).await.unwrap();
    assert_eq!(
        b.get_call("from-a").await.unwrap().unwrap().status,
        CallStatus::Running
    );
    assert_eq!(b.recovered_at_open(), Recovered::default());
    // A sweep while both live changes nothing.
    assert_eq!(
        b.sweep_interrupted(at(3)).await.unwrap(),
        Recovered::default()
    );
    // a dies mid-call (its connections close): b's next sweep interrupts a's call and
    // closes a's session, never its own.
    drop(a);
    let swept = loop {
        let r = b.sweep_interrupted(at(4)).await.unwrap();
        if r != Recovered::default() {
            break r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(
        swept,
        Recovered {
            calls: 1,
            sessions: 1,
            tasks: 1
        }
    );
    let statuses = (
        b.get_call("from-a").await.unwrap().unwrap().status,
        b.get_call("from-b").await.unwrap().unwrap().status,
    );
    assert_eq!(statuses, (CallStatus::Interrupted, CallStatus::Running));
    // The task a was running is failed, and another replica answers for it.
    assert_eq!(
        b.get_task("o", "task-a").await.unwrap().unwrap().status,
        TaskStatus::Failed
    );
    assert!(b.list_sessions(Some("x"), true).await.unwrap().is_empty());
    // The agent goes on through b.
    b.start_call(call("again", "x", None, 5)).await.unwrap();
    b.finish_call("again", finish(CallStatus::Succeeded, 6))
        .await
        .unwrap();
    // a restarts under its name and finds nothing left to recover.
    let a = PostgresStore::connect(&pg.url(), "replica-a")
        .await
        .unwrap();
    assert_eq!(a.recovered_at_open(), Recovered::default());
}

/// What a replica starting on a shared container engine must spare: the running calls
/// of the other replicas that are alive, not its own and not those of a gone one.
#[tokio::test]
async fn live_runs_elsewhere_are_the_running_calls_of_live_other_replicas() {
    let Some(pg) = server() else { return };
    let a = PostgresStore::connect(&pg.url(), "live-a").await.unwrap();
    let b = PostgresStore::connect(&pg.url(), "live-b").await.unwrap();
    a.ensure_agent(agent("x", 0)).await.unwrap();
    a.start_call(call("run-a", "x", None, 1)).await.unwrap();
    a.start_call(call("done-a", "x", None, 1)).await.unwrap();
    a.finish_call("done-a", finish(CallStatus::Succeeded, 2))
        .await
        .unwrap();
    b.start_call(call("run-b", "x", None, 2)).await.unwrap();
    assert_eq!(
        b.live_runs_elsewhere().await.unwrap(),
        vec!["run-a".to_string()]
    );
    assert_eq!(
        a.live_runs_elsewhere().await.unwrap(),
        vec!["run-b".to_string()]
    );
    // a is gone: nobody runs its call any more.
    drop(a);
    while !b.live_runs_elsewhere().await.unwrap().is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        b.get_call("run-b").await.unwrap().unwrap().status,
        CallStatus::Running
    );
}

#[tokio::test]
async fn an_unreachable_server_is_named_without_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://alice:hunter2@127.0.0.1:{port}/codex");
    let err = PostgresStore::connect(&url, "r").await.unwrap_err();
    let StoreError::Unreachable { location, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(location, &format!("postgres://127.0.0.1:{port}/codex"));
    let message = err.to_string();
    assert!(!message.contains("hunter2"), "{message}");
    assert!(message.contains("CODEX_MCP_DATABASE_URL"), "{message}");
}

#[tokio::test]
async fn a_malformed_url_is_a_clear_error() {
    let err = PostgresStore::connect("postgres://[::1:5432/x", "r")
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Invalid {
                what: "CODEX_MCP_DATABASE_URL",
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_missing_database_is_unreachable_and_named() {
    let Some(pg) = server() else { return };
    let err = PostgresStore::connect(&pg.url_of("no_such_db"), "r")
        .await
        .unwrap_err();
    let StoreError::Unreachable { location, reason } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(
        location,
        &format!("postgres://127.0.0.1:{}/no_such_db", pg.port())
    );
    assert!(reason.contains("no_such_db"), "{reason}");
}

#[tokio::test]
async fn a_database_from_a_newer_codex_mcp_is_refused_untouched() {
    let Some(pg) = server() else { return };
    drop(PostgresStore::connect(&pg.url(), "r").await.unwrap());
    pg.psql("codex_mcp", "UPDATE codex_mcp_schema SET version = 99")
        .unwrap();
    let err = PostgresStore::connect(&pg.url(), "r").await.unwrap_err();
    assert_eq!(
        err,
        StoreError::DatabaseNewerSchema {
            location: format!("postgres://127.0.0.1:{}/codex_mcp", pg.port()),
            found: 99,
            known: PostgresStore::schema_version(),
        }
    );
    assert_eq!(
        pg.psql("codex_mcp", "SELECT version FROM codex_mcp_schema")
            .unwrap(),
        "99"
    );
}

#[tokio::test]
async fn text_postgres_cannot_hold_is_refused_and_nothing_is_half_written() {
    let Some(pg) = server() else { return };
    let store = PostgresStore::connect(&pg.url(), "r").await.unwrap();
    store.ensure_agent(agent("a1", 0)).await.unwrap();
    // PostgreSQL TEXT cannot hold NUL; the start must fail whole (no counted call).
    let mut bad = call("c1", "a1", None, 1);
    bad.tool = "re\0view".into();
    let err = store.start_call(bad).await.unwrap_err();
    assert!(matches!(&err, StoreError::Database { .. }), "{err:?}");
    assert_eq!(
        store
            .get_agent("a1")
            .await
            .unwrap()
            .unwrap()
            .usage
            .calls_made,
        0
    );
    assert_eq!(store.get_call("c1").await.unwrap(), None);
}

#[tokio::test]
async fn replicas_take_turns_on_one_conversation_and_a_waiter_that_gives_up_leaves_the_queue() {
    use std::time::Duration;
    let Some(pg) = server() else { return };
    let a = PostgresStore::connect(&pg.url(), "turns-a").await.unwrap();
    let b = std::sync::Arc::new(PostgresStore::connect(&pg.url(), "turns-b").await.unwrap());
    let held = a.hold_conversation("agent", "default").await.unwrap();
    assert!(held.is_shared(), "{held:?}");
    // Another conversation of the agent, and the same name on another agent, are free.
    let free = tokio::time::timeout(Duration::from_secs(10), async {
        (
            b.hold_conversation("agent", "review").await.unwrap(),
            b.hold_conversation("other-agent", "default").await.unwrap(),
        )
    })
    .await
    .expect("other conversations must not wait");
    drop(free);
    // The same conversation waits on the other replica until the first hold goes.
    let waiter = {
        let b = std::sync::Arc::clone(&b);
        tokio::spawn(async move { b.hold_conversation("agent", "default").await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "the second replica's turn must wait");
    drop(held);
    let second = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the waiting turn starts once the first hold is released")
        .unwrap()
        .unwrap();
    // A waiter that gives up (its call was cancelled) does not keep the conversation
    // once the holder releases it.
    let gives_up = {
        let b = std::sync::Arc::clone(&b);
        tokio::spawn(async move { b.hold_conversation("agent", "default").await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    gives_up.abort();
    drop(second);
    let third = tokio::time::timeout(
        Duration::from_secs(10),
        a.hold_conversation("agent", "default"),
    )
    .await
    .expect("a cancelled waiter must not keep the conversation")
    .unwrap();
    drop(third);
}

#[tokio::test]
async fn a_session_open_on_another_replica_is_named_with_that_replica() {
    let Some(pg) = server() else { return };
    let a = PostgresStore::connect(&pg.url(), "names-a").await.unwrap();
    let b = PostgresStore::connect(&pg.url(), "names-b").await.unwrap();
    a.open_session(session("open-on-a", None, 0)).await.unwrap();
    assert_eq!(
        (
            b.session_elsewhere("open-on-a").await.unwrap(),
            a.session_elsewhere("open-on-a").await.unwrap(),
            b.session_elsewhere("unknown").await.unwrap(),
        ),
        (Some("names-a".to_string()), None, None)
    );
    a.close_session("open-on-a", at(1)).await.unwrap();
    assert_eq!(b.session_elsewhere("open-on-a").await.unwrap(), None);
}

/// Replicas sharing a ChatGPT login: one refreshes at a time, and what one publishes the
/// others read back whole (the last publish wins). SQLite, alone on its file, shares
/// nothing.
#[tokio::test]
async fn replicas_refresh_their_shared_login_in_turn_and_read_what_the_last_published() {
    use std::time::Duration;
    let Some(pg) = server() else { return };
    let a = PostgresStore::connect(&pg.url(), "login-a").await.unwrap();
    let b = std::sync::Arc::new(PostgresStore::connect(&pg.url(), "login-b").await.unwrap());
    assert_eq!(b.shared_login().await.unwrap(), None);
    let held = a.hold_login_refresh().await.unwrap();
    let waiter = {
        let b = std::sync::Arc::clone(&b);
        tokio::spawn(async move { b.hold_login_refresh().await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !waiter.is_finished(),
        "the second replica waits for the first's refresh"
    );
    // Another agent's conversation lock is not the login's.
    tokio::time::timeout(
        Duration::from_secs(10),
        b.hold_conversation("agent", "login"),
    )
    .await
    .expect("conversations do not wait for the login")
    .unwrap();
    a.publish_login(br#"{"tokens": "first"}"#).await.unwrap();
    a.publish_login(br#"{"tokens": "second"}"#).await.unwrap();
    drop(held);
    let _b_turn = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the waiting replica gets its turn")
        .unwrap()
        .unwrap();
    assert_eq!(
        b.shared_login().await.unwrap(),
        Some(br#"{"tokens": "second"}"#.to_vec())
    );

    let dir = tempfile::tempdir().unwrap();
    let sqlite = codex_mcp_store::SqliteStore::open(dir.path()).unwrap();
    sqlite.publish_login(b"{}").await.unwrap();
    assert_eq!(sqlite.shared_login().await.unwrap(), None);
}
