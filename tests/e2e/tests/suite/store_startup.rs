//! `mcpd` refuses to start on a session store it cannot use, says which file and how to
//! fix it, and leaves the file exactly as it was.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use codex_mcp_e2e::{Mcpd, mcpd_bin, without_shell_settings};
use codex_mcp_testkit::temp_dir;
use pretty_assertions::assert_eq;

/// Runs `mcpd serve` on `data` and expects it to exit on its own; returns (code, stderr).
async fn failed_start(data: &Path, home: &Path) -> (Option<i32>, String) {
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        without_shell_settings(&mut tokio::process::Command::new(mcpd_bin()))
            .env("CODEX_MCP_DATA_DIR", data)
            .env("CODEX_MCP_RUNTIME", "local")
            .env("MCPD_LISTEN", "127.0.0.1:0")
            .env("HOME", home)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("mcpd should exit instead of serving")
    .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn db(data: &Path) -> std::path::PathBuf {
    data.join("codex-mcp.db")
}

#[tokio::test]
async fn a_corrupt_database_stops_startup_and_is_left_untouched() {
    let dir = temp_dir("e2e-store-corrupt").unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(db(&data), &garbage).unwrap();

    let (code, stderr) = failed_start(&data, dir.path()).await;
    assert_eq!(code, Some(1), "{stderr}");
    let path = db(&data).display().to_string();
    assert!(stderr.contains(&path), "{stderr}");
    assert!(stderr.contains("left untouched"), "{stderr}");
    assert!(stderr.contains("CODEX_MCP_DATA_DIR"), "{stderr}");
    assert_eq!(std::fs::read(db(&data)).unwrap(), garbage);
}

#[tokio::test]
async fn a_database_from_a_newer_mcpd_stops_startup() {
    let dir = temp_dir("e2e-store-newer").unwrap();
    let data = dir.path().join("data");
    // A real database, made and closed cleanly by mcpd itself...
    let env = [
        ("CODEX_MCP_DATA_DIR", data.display().to_string()),
        ("CODEX_MCP_RUNTIME", "local".to_string()),
    ];
    let mut mcpd = Mcpd::start(&env, dir.path()).await.unwrap();
    mcpd.terminate().await.unwrap();
    // ...whose schema version (the header's user_version, offset 60) is then raised.
    let mut bytes = std::fs::read(db(&data)).unwrap();
    bytes[60..64].copy_from_slice(&999u32.to_be_bytes());
    std::fs::write(db(&data), &bytes).unwrap();

    let (code, stderr) = failed_start(&data, dir.path()).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&db(&data).display().to_string()),
        "{stderr}"
    );
    assert!(stderr.contains("newer codex-mcp (schema 999"), "{stderr}");
    assert!(stderr.contains("upgrade mcpd"), "{stderr}");
    assert_eq!(std::fs::read(db(&data)).unwrap(), bytes);
}

#[tokio::test]
async fn a_second_mcpd_on_the_same_data_dir_is_refused() {
    let dir = temp_dir("e2e-store-twice").unwrap();
    let data = dir.path().join("data");
    let env = [
        ("CODEX_MCP_DATA_DIR", data.display().to_string()),
        ("CODEX_MCP_RUNTIME", "local".to_string()),
    ];
    let first = Mcpd::start(&env, dir.path()).await.unwrap();
    let (code, stderr) = failed_start(&data, dir.path()).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("in use by another mcpd"), "{stderr}");
    // The first one is unharmed.
    let health = reqwest::get(format!("{}/health", first.base))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[tokio::test]
async fn a_data_dir_that_is_a_file_stops_startup() {
    let dir = temp_dir("e2e-store-file").unwrap();
    let data = dir.path().join("data");
    std::fs::write(&data, b"not a directory").unwrap();
    let (code, stderr) = failed_start(&data, dir.path()).await;
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot use data dir {}", data.display())),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&data).unwrap(), b"not a directory");
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// The attack: another local user reads the data dir's database (session ids,
/// workspace paths, raw Codex errors). A new data dir is made 0700 and the database
/// files 0600; an existing open one (an older mcpd, a loose umask) is tightened at
/// startup, and the log says so.
#[tokio::test]
async fn the_data_dir_and_database_are_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp_dir("e2e-store-modes").unwrap();
    let data = dir.path().join("data");
    let env = [
        ("CODEX_MCP_DATA_DIR", data.display().to_string()),
        ("CODEX_MCP_RUNTIME", "local".to_string()),
    ];
    let mut mcpd = Mcpd::start(&env, dir.path()).await.unwrap();
    let files = ["codex-mcp.db", "codex-mcp.db-wal", "codex-mcp.db-shm"];
    let fresh: Vec<(String, u32)> = std::iter::once(("data".to_string(), mode(&data)))
        .chain(
            files
                .iter()
                .filter(|f| data.join(f).exists())
                .map(|f| (f.to_string(), mode(&data.join(f)))),
        )
        .collect();
    mcpd.terminate().await.unwrap();
    assert_eq!(fresh[0], ("data".to_string(), 0o700), "{fresh:?}");
    assert!(fresh.len() >= 2, "no database file: {fresh:?}");
    assert!(fresh[1..].iter().all(|(_, m)| *m == 0o600), "{fresh:?}");

    // Opened up as an older mcpd left them: tightened at the next start.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(db(&data), std::fs::Permissions::from_mode(0o644)).unwrap();
    let mcpd = Mcpd::start(&env, dir.path()).await.unwrap();
    assert_eq!((mode(&data), mode(&db(&data))), (0o700, 0o600));
    let log = mcpd.log();
    assert!(log.contains("data dir was mode 0755; set to 0700"), "{log}");
    assert!(
        log.contains("database file was mode 0644; set to 0600"),
        "{log}"
    );
}

/// Whether this start's "session store open" line says the full integrity check ran.
fn full_check(log: &str) -> Option<bool> {
    let line = log.lines().find(|l| l.contains("session store open"))?;
    // JSON lines (mcpd's default without a terminal) or text.
    let said = |value: &str| {
        line.contains(&format!("\"full_integrity_check\":{value}"))
            || line.contains(&format!("full_integrity_check={value}"))
    };
    match (said("true"), said("false")) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// The full check of every page (seconds on a big store) runs at the first start, after
/// a SIGKILL and after the file was replaced; after a SIGTERM it is skipped.
#[tokio::test]
async fn the_full_integrity_check_runs_after_a_crash_not_after_a_clean_stop() {
    let dir = temp_dir("e2e-store-clean-stop").unwrap();
    let data = dir.path().join("data");
    let env = [
        ("CODEX_MCP_DATA_DIR", data.display().to_string()),
        ("CODEX_MCP_RUNTIME", "local".to_string()),
    ];
    let mut checks = Vec::new();
    let mut mcpd = Mcpd::start(&env, dir.path()).await.unwrap();
    checks.push(("first start", full_check(&mcpd.log())));
    let stopped = mcpd.terminate().await.unwrap();
    assert_eq!(stopped.code(), Some(0), "{}", mcpd.log());

    let mut mcpd = Mcpd::start(&env, dir.path()).await.unwrap();
    checks.push(("after SIGTERM", full_check(&mcpd.log())));
    mcpd.kill().await.unwrap();

    let mut mcpd = Mcpd::start(&env, dir.path()).await.unwrap();
    checks.push(("after SIGKILL", full_check(&mcpd.log())));
    mcpd.terminate().await.unwrap();

    // The same bytes written back (a restore from a copy): not the file that was closed.
    let bytes = std::fs::read(db(&data)).unwrap();
    std::fs::write(db(&data), &bytes).unwrap();
    let mut mcpd = Mcpd::start(&env, dir.path()).await.unwrap();
    checks.push(("after the file was rewritten", full_check(&mcpd.log())));
    mcpd.terminate().await.unwrap();

    assert_eq!(
        checks,
        vec![
            ("first start", Some(true)),
            ("after SIGTERM", Some(false)),
            ("after SIGKILL", Some(true)),
            ("after the file was rewritten", Some(true)),
        ]
    );
}
