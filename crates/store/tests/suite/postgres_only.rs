//! What only the PostgreSQL backend has: a connection string, a server that can be
//! unreachable, one mcpd per database, and a schema version kept in the database.

use codex_mcp_store::{PostgresStore, SessionStore, StoreError};
use codex_mcp_testkit::PgServer;
use pretty_assertions::assert_eq;

use super::common::agent;

fn server() -> Option<PgServer> {
    PgServer::start_or_skip()
}

#[tokio::test]
async fn a_second_mcpd_on_one_database_is_refused_until_the_first_goes() {
    let Some(pg) = server() else { return };
    let first = PostgresStore::connect(&pg.url()).await.unwrap();
    first.ensure_agent(agent("a1", 0)).await.unwrap();
    let location = format!("postgres://127.0.0.1:{}/codex_mcp", pg.port());
    assert_eq!(
        PostgresStore::connect(&pg.url()).await.unwrap_err(),
        StoreError::DatabaseInUse {
            location: location.clone()
        }
    );
    // The refused attempt changed nothing.
    assert_eq!(first.list_agents().await.unwrap().len(), 1);
    drop(first);
    let second = PostgresStore::connect(&pg.url()).await.unwrap();
    assert_eq!(second.location(), location);
    assert_eq!(second.list_agents().await.unwrap().len(), 1);
}

#[tokio::test]
async fn an_unreachable_server_is_named_without_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://alice:hunter2@127.0.0.1:{port}/codex");
    let err = PostgresStore::connect(&url).await.unwrap_err();
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
    let err = PostgresStore::connect("postgres://[::1:5432/x")
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
    let err = PostgresStore::connect(&pg.url_of("no_such_db"))
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
    drop(PostgresStore::connect(&pg.url()).await.unwrap());
    pg.psql("codex_mcp", "UPDATE codex_mcp_schema SET version = 99")
        .unwrap();
    let err = PostgresStore::connect(&pg.url()).await.unwrap_err();
    assert_eq!(
        err,
        StoreError::DatabaseNewerSchema {
            location: format!("postgres://127.0.0.1:{}/codex_mcp", pg.port()),
            found: 99,
            known: 1,
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
    let store = PostgresStore::connect(&pg.url()).await.unwrap();
    store.ensure_agent(agent("a1", 0)).await.unwrap();
    // PostgreSQL TEXT cannot hold NUL; the start must fail whole (no counted call).
    let mut bad = super::common::call("c1", "a1", None, 1);
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
