//! Unit tests that reach inside the SQLite backend (the writer connection, batching).

use super::*;
use crate::model::{AgentStatus, AgentUsage};
use pretty_assertions::assert_eq;

fn new_agent(id: &str) -> NewAgent {
    NewAgent {
        id: id.into(),
        runtime: "local".into(),
        container: None,
        workspace: None,
        status: AgentStatus::Running,
        at: crate::now(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_write_in_a_batch_does_not_undo_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(dir.path()).unwrap());
    store.ensure_agent(new_agent("a")).await.unwrap();
    // Many writes queued at once land in the same batches; every second one fails.
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let store = Arc::clone(&store);
        tasks.spawn(async move {
            let agent = if i % 2 == 0 { "a" } else { "missing" };
            let result = store
                .start_call(CallStart {
                    id: format!("c{i}"),
                    agent_id: agent.into(),
                    session_id: None,
                    tool: "chat".into(),
                    arguments_digest: "d".into(),
                    thread_id: None,
                    started_at: crate::now(),
                })
                .await;
            (i, result)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        let (i, result) = joined.unwrap();
        if i % 2 == 0 {
            assert_eq!(result, Ok(()));
        } else {
            assert_eq!(result, Err(StoreError::not_found("agent", "missing")));
        }
    }
    let agent = store.get_agent("a").await.unwrap().unwrap();
    assert_eq!(
        agent.usage,
        AgentUsage {
            calls_made: 100,
            calls_running: 100,
            tokens_in: 0,
            tokens_out: 0
        }
    );
}

#[tokio::test]
async fn a_full_disk_is_a_typed_error_and_the_store_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let path = store.path().to_path_buf();
    // Cap the file at its current size: SQLite then reports SQLITE_FULL as a full disk would.
    store
        .writer
        .run(|conn| {
            let pages: i64 = conn.pragma_query_value(None, "page_count", |r| r.get(0))?;
            conn.pragma_update(None, "max_page_count", pages)?;
            Ok(())
        })
        .await
        .unwrap();
    let mut full = None;
    for i in 0..10_000 {
        let mut agent = new_agent(&format!("agent-{i}"));
        agent.workspace = Some("w".repeat(500));
        if let Err(e) = store.ensure_agent(agent).await {
            full = Some(e);
            break;
        }
    }
    assert_eq!(full, Some(StoreError::DiskFull { path }));
    // Reads still work, and writes work again once there is room.
    store.list_agents().await.unwrap();
    store
        .writer
        .run(|conn| Ok(conn.pragma_update(None, "max_page_count", 1_000_000)?))
        .await
        .unwrap();
    store.ensure_agent(new_agent("after")).await.unwrap();
}

#[tokio::test]
async fn a_panicking_job_is_rolled_back_and_the_writer_survives() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let result: Result<(), StoreError> = store
        .writer
        .run(|conn| {
            conn.execute(
                "INSERT INTO agents (id, created_at, last_active_at, runtime, status) \
                 VALUES ('ghost', 0, 0, 'local', 'running')",
                [],
            )?;
            panic!("boom");
        })
        .await;
    assert!(
        matches!(result, Err(StoreError::Database { .. })),
        "{result:?}"
    );
    assert_eq!(store.get_agent("ghost").await.unwrap(), None);
    store.ensure_agent(new_agent("alive")).await.unwrap();
}

#[tokio::test]
async fn checkpoints_happen_off_the_writer_and_close_removes_the_wal() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let db = store.path().to_path_buf();
    let wal = dir.path().join(format!("{DB_FILE}-wal"));
    let initial = std::fs::metadata(&db).unwrap().len();
    store.ensure_agent(new_agent("a")).await.unwrap();
    // Each sequential write commits on its own, appending a few pages to the WAL, so
    // this crosses the checkpoint threshold several times.
    for i in 0..1500 {
        let id = format!("c{i}");
        store
            .start_call(CallStart {
                id: id.clone(),
                agent_id: "a".into(),
                session_id: None,
                tool: "chat".into(),
                arguments_digest: "d".repeat(64),
                thread_id: None,
                started_at: crate::now(),
            })
            .await
            .unwrap();
    }
    let mut grown = false;
    for _ in 0..100 {
        if std::fs::metadata(&db).unwrap().len() > initial {
            grown = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        grown,
        "the checkpointer copied WAL pages into the main file"
    );
    assert!(wal.exists());
    store.close().await;
    assert!(
        !wal.exists(),
        "the last connection to close folds in and removes the WAL"
    );
    let store = SqliteStore::open(dir.path()).unwrap();
    assert_eq!(store.recovered_at_open().calls, 1500);
}

#[tokio::test]
async fn a_lone_write_reaches_the_main_file_within_the_checkpoint_interval() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    let marker = "idle-checkpoint-marker-agent";
    store.ensure_agent(new_agent(marker)).await.unwrap();
    let in_main_file = || {
        let bytes = std::fs::read(store.path()).unwrap();
        bytes.windows(marker.len()).any(|w| w == marker.as_bytes())
    };
    let deadline = std::time::Instant::now() + 3 * checkpointer::CHECKPOINT_INTERVAL;
    while !in_main_file() {
        assert!(
            std::time::Instant::now() < deadline,
            "an idle store checkpoints (and so fsyncs) its WAL within the interval"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn cached_statements_run_again_without_being_planned_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    for id in ["a", "b", "c"] {
        store.ensure_agent(new_agent(id)).await.unwrap();
    }
    // A read as the store makes them: a cached statement, rebound on every run. Both
    // an id (looked at for the partial index on running calls) and a LIMIT used to
    // make SQLite plan the statement again on each run.
    let sql = "SELECT id FROM calls WHERE agent_id = ?1 AND status = 'running' \
               ORDER BY started_at DESC, seq DESC LIMIT ?2";
    let reader = open::open_reader(store.path()).unwrap();
    for (id, limit) in [("a", 10), ("b", 5), ("c", 1), ("a", 10)] {
        let mut stmt = reader.prepare_cached(sql).unwrap();
        let rows = stmt.query_map(rusqlite::params![id, limit], |_| Ok(()));
        assert_eq!(rows.unwrap().count(), 0);
    }
    let stmt = reader.prepare_cached(sql).unwrap();
    assert_eq!(stmt.get_status(rusqlite::StatementStatus::RePrepare), 0);
}
