//! Files and directories the store cannot use: typed errors naming the path and the
//! fix, and the file left exactly as it was.

use super::common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use codex_mcp_store::sqlite::{DB_FILE, LOCK_FILE};
use codex_mcp_store::{SessionStore, SqliteStore, StoreError};
use pretty_assertions::assert_eq;

/// Opens `dir`, expecting failure; prints the message (what an operator would see).
fn open_err(dir: &Path) -> StoreError {
    let err = SqliteStore::open(dir).expect_err("open should fail");
    eprintln!("{err}");
    err
}

#[test]
fn garbage_file_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(DB_FILE);
    let garbage: Vec<u8> = (0..64 * 1024u32).map(|i| (i * 7 + 3) as u8).collect();
    fs::write(&db, &garbage).unwrap();

    let err = open_err(dir.path());
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&db.display().to_string()), "{message}");
    assert!(message.contains("left untouched"), "{message}");
    assert!(message.contains("CODEX_MCP_DATA_DIR"), "{message}");
    assert_eq!(fs::read(&db).unwrap(), garbage);
    // Still refused, still untouched, on a second try.
    assert!(matches!(open_err(dir.path()), StoreError::Corrupt { .. }));
    assert_eq!(fs::read(&db).unwrap(), garbage);
}

#[tokio::test]
async fn damaged_pages_are_found_at_open_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    store.ensure_agent(common::agent("a1", 0)).await.unwrap();
    for i in 0..200 {
        store
            .start_call(common::call(&format!("c{i}"), "a1", None, 0))
            .await
            .unwrap();
    }
    store.close().await;
    let db = dir.path().join(DB_FILE);
    let mut bytes = fs::read(&db).unwrap();
    assert!(bytes.len() > 3 * 4096, "expected several pages");
    // Overwrite page 2 and 3 (after the valid header page) with a pattern.
    for b in &mut bytes[4096..3 * 4096] {
        *b = 0xA5;
    }
    fs::write(&db, &bytes).unwrap();

    let err = open_err(dir.path());
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains(&db.display().to_string()));
    assert_eq!(fs::read(&db).unwrap(), bytes);
}

/// The full check reads every page (seconds on a big store), so it is skipped when the
/// previous store closed the file cleanly and nothing touched it since; damage after a
/// clean close is still found (`damaged_pages_are_found_at_open_and_left_untouched`).
#[tokio::test]
async fn the_full_check_is_skipped_only_after_a_clean_close_of_an_unchanged_file() {
    let dir = tempfile::tempdir().unwrap();
    let lock = dir.path().join(LOCK_FILE);
    let db = dir.path().join(DB_FILE);
    let store = SqliteStore::open(dir.path()).unwrap();
    let mut checked = vec![("new file", store.checked_at_open())];
    store.ensure_agent(common::agent("a1", 0)).await.unwrap();
    store.close().await;
    assert!(
        !fs::read(&lock).unwrap().is_empty(),
        "no mark after a clean close"
    );

    let store = SqliteStore::open(dir.path()).unwrap();
    checked.push(("closed cleanly", store.checked_at_open()));
    // While open there is no mark: a crash from here on means a full check.
    assert_eq!(fs::read(&lock).unwrap(), b"");
    store.close().await;

    // What a killed process leaves: the mark its open cleared.
    fs::write(&lock, b"").unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    checked.push(("no mark", store.checked_at_open()));
    store.close().await;

    // The same bytes written back (a restore from a copy): not the file that was closed.
    let bytes = fs::read(&db).unwrap();
    fs::write(&db, &bytes).unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    checked.push(("file rewritten", store.checked_at_open()));
    store.close().await;

    fs::write(&lock, b"not a mark").unwrap();
    let store = SqliteStore::open(dir.path()).unwrap();
    checked.push(("foreign mark", store.checked_at_open()));
    assert_eq!(
        store.get_agent("a1").await.unwrap().map(|a| a.id),
        Some("a1".into())
    );
    store.close().await;

    assert_eq!(
        checked,
        vec![
            ("new file", true),
            ("closed cleanly", false),
            ("no mark", true),
            ("file rewritten", true),
            ("foreign mark", true),
        ]
    );
}

#[test]
fn newer_schema_is_refused_with_the_upgrade_hint() {
    let dir = tempfile::tempdir().unwrap();
    drop(SqliteStore::open(dir.path()).unwrap());
    let db = dir.path().join(DB_FILE);
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.pragma_update(None, "user_version", 9).unwrap();
    }
    let before = fs::read(&db).unwrap();
    let err = open_err(dir.path());
    assert_eq!(
        err,
        StoreError::NewerSchema {
            path: db.clone(),
            found: 9,
            known: SqliteStore::schema_version()
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "codex-mcp.db at {} is from a newer codex-mcp (schema 9, this build knows {}): \
             upgrade mcpd or point CODEX_MCP_DATA_DIR elsewhere",
            db.display(),
            SqliteStore::schema_version()
        )
    );
    assert_eq!(fs::read(&db).unwrap(), before);
}

#[test]
fn another_programs_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(DB_FILE);
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('mine');")
            .unwrap();
    }
    let before = fs::read(&db).unwrap();
    let err = open_err(dir.path());
    assert!(matches!(err, StoreError::Foreign { .. }), "{err:?}");
    assert_eq!(fs::read(&db).unwrap(), before);
}

#[test]
fn data_dir_that_cannot_be_created_names_the_dir() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    fs::write(&file, b"x").unwrap();
    let data_dir = file.join("data");
    let err = open_err(&data_dir);
    assert!(matches!(err, StoreError::DataDir { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains(&data_dir.display().to_string()),
        "{message}"
    );
    assert!(message.contains("CODEX_MCP_DATA_DIR"), "{message}");
    // And a data dir that is itself a regular file.
    let err = open_err(&file);
    assert!(matches!(err, StoreError::DataDir { .. }), "{err:?}");
    assert_eq!(fs::read(&file).unwrap(), b"x");
}

/// Whether this process can write where permissions say it cannot (root does).
fn permissions_are_bypassed(dir: &Path) -> bool {
    let probe = dir.join("probe");
    let bypassed = fs::write(&probe, b"").is_ok();
    let _ = fs::remove_file(&probe);
    bypassed
}

#[test]
fn read_only_data_dir_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("ro");
    fs::create_dir(&data_dir).unwrap();
    fs::set_permissions(&data_dir, fs::Permissions::from_mode(0o555)).unwrap();
    if permissions_are_bypassed(&data_dir) {
        // Running as root: mode bits do not bind. A directory the kernel refuses to
        // create entries in regardless of privilege stands in (sysfs answers EPERM).
        eprintln!("permission bits bypassed (root); using /sys for the read-only case");
        let sys_dir = Path::new("/sys/codex-mcp-store-test");
        match fs::create_dir(sys_dir) {
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                let err = open_err(sys_dir);
                assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
                assert!(
                    err.to_string()
                        .contains("/sys/codex-mcp-store-test is read-only")
                );
            }
            other => eprintln!("skipping the /sys case: {other:?}"),
        }
    } else {
        let err = open_err(&data_dir);
        assert!(matches!(err, StoreError::ReadOnly { .. }), "{err:?}");
        assert!(err.to_string().contains("CODEX_MCP_DATA_DIR"));
    }
    fs::set_permissions(&data_dir, fs::Permissions::from_mode(0o755)).unwrap();
}

#[tokio::test]
async fn a_second_store_on_the_same_dir_is_refused_while_the_first_is_open() {
    let dir = tempfile::tempdir().unwrap();
    let first = SqliteStore::open(dir.path()).unwrap();
    first.ensure_agent(common::agent("a1", 0)).await.unwrap();
    first
        .start_call(common::call("c1", "a1", None, 0))
        .await
        .unwrap();
    let err = open_err(dir.path());
    assert_eq!(
        err,
        StoreError::InUse {
            path: dir.path().join(DB_FILE)
        }
    );
    // The refused open did not mark the first store's running call interrupted.
    assert_eq!(
        first.get_call("c1").await.unwrap().unwrap().status,
        codex_mcp_store::CallStatus::Running
    );
}
