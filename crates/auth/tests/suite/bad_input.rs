//! Bad input of every kind yields a status naming the problem, never a panic or a hang.
//!
//! The tests run as root, for whom `chmod 000` does not make a file unreadable. The
//! unreadable cases are therefore built from things root cannot read as a file either: a
//! FIFO (opening it would block forever without O_NONBLOCK), a directory, a symlink loop
//! (ELOOP) and a dangling symlink.

use super::common;

use std::path::Path;

use codex_mcp_auth::{AuthMethod, AuthStatus, DetectInputs, NO_CREDENTIALS_MESSAGE, detect_at};
use common::{Login, codex_file, fixed_now, write_json};
use pretty_assertions::assert_eq;
use serde_json::json;

fn home_inputs(home: &Path) -> DetectInputs {
    DetectInputs {
        home: Some(home.to_path_buf()),
        ..Default::default()
    }
}

/// Status for a home whose auth.json is unusable: the problem, then the way out.
fn skipped(home: &Path, problem: &str) -> AuthStatus {
    let file = codex_file(home).display().to_string();
    AuthStatus::none(vec![
        format!("{file} {problem}; it was skipped."),
        NO_CREDENTIALS_MESSAGE.into(),
        format!(
            "Searched: {file}; and the environment variables CHATGPT_OAUTH_TOKEN and OPENAI_API_KEY."
        ),
    ])
}

fn status_of(home: &Path) -> AuthStatus {
    detect_at(&home_inputs(home), fixed_now()).status_at(fixed_now())
}

fn write_raw(home: &Path, bytes: &[u8]) {
    let path = codex_file(home);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn malformed_json() {
    let t = tempfile::tempdir().unwrap();
    write_raw(t.path(), b"{\"OPENAI_API_KEY\": \"sk-cut-off");
    assert_eq!(
        status_of(t.path()),
        skipped(t.path(), "is not valid JSON (error at line 1, column 30)")
    );
}

#[test]
fn wrong_types_and_empty_files() {
    let t = tempfile::tempdir().unwrap();
    write_raw(
        t.path(),
        br#"{"OPENAI_API_KEY": null, "tokens": "sk-oops"}"#,
    );
    assert_eq!(
        status_of(t.path()),
        skipped(t.path(), "has `tokens` that is not an object")
    );
    write_raw(t.path(), br#"{"OPENAI_API_KEY": null}"#);
    assert_eq!(
        status_of(t.path()),
        skipped(t.path(), "holds neither an API key nor ChatGPT tokens")
    );
    let mut no_access = Login::expiring_at(0).auth_json();
    no_access["tokens"]
        .as_object_mut()
        .unwrap()
        .remove("access_token");
    write_json(&codex_file(t.path()), &no_access);
    assert_eq!(
        status_of(t.path()),
        skipped(t.path(), "has no `tokens.access_token`")
    );
    let mut bad_time = Login::expiring_at(0).auth_json();
    bad_time["last_refresh"] = json!("yesterday");
    write_json(&codex_file(t.path()), &bad_time);
    assert_eq!(
        status_of(t.path()),
        skipped(t.path(), "has `last_refresh` that is not an RFC 3339 time")
    );
}

#[test]
fn truncated_id_token() {
    let t = tempfile::tempdir().unwrap();
    let mut file = Login::expiring_at(fixed_now().timestamp() + 3600).auth_json();
    let id = file["tokens"]["id_token"].as_str().unwrap().to_string();
    file["tokens"]["id_token"] = json!(id[..id.find('.').unwrap() + 5].to_string());
    write_json(&codex_file(t.path()), &file);
    assert_eq!(
        status_of(t.path()),
        skipped(
            t.path(),
            "has `tokens.id_token` that is not a JWT (expected three dot-separated parts)"
        )
    );
}

#[test]
fn truncated_access_token_leaves_expiry_unknown() {
    let t = tempfile::tempdir().unwrap();
    let mut file = Login::expiring_at(fixed_now().timestamp() + 3600).auth_json();
    let access = file["tokens"]["access_token"].as_str().unwrap().to_string();
    file["tokens"]["access_token"] = json!(access[..access.len() / 2].to_string());
    write_json(&codex_file(t.path()), &file);
    let s = status_of(t.path());
    assert_eq!(
        s,
        AuthStatus {
            method: AuthMethod::Chatgpt,
            source: Some(codex_file(t.path()).display().to_string()),
            ready: true,
            expires_in_secs: None,
            expires_at: None,
            last_refresh: Some("2025-12-31T12:00:00.000000Z".into()),
            refreshable: true,
            plan: Some("plus".into()),
            account: Some("jo***@example.com".into()),
            problems: vec![format!(
                "The access token from {} is not a JWT (expected three dot-separated parts); its expiry is unknown.",
                codex_file(t.path()).display()
            )],
        }
    );
}

#[test]
fn expired_token_with_and_without_refresh_token() {
    let t = tempfile::tempdir().unwrap();
    let two_hours_ago = fixed_now().timestamp() - 2 * 3600 - 300;
    let file = Login::expiring_at(two_hours_ago).auth_json();
    write_json(&codex_file(t.path()), &file);
    let source = codex_file(t.path()).display().to_string();
    let expected = AuthStatus {
        method: AuthMethod::Chatgpt,
        source: Some(source.clone()),
        ready: true,
        expires_in_secs: Some(-(2 * 3600 + 300)),
        expires_at: Some("2025-12-31T21:55:00.000000Z".into()),
        last_refresh: Some("2025-12-31T12:00:00.000000Z".into()),
        refreshable: true,
        plan: Some("plus".into()),
        account: Some("jo***@example.com".into()),
        problems: vec![format!(
            "The ChatGPT access token from {source} expired 2 h 5 min ago; the server refreshes it before the next call."
        )],
    };
    assert_eq!(status_of(t.path()), expected);

    let mut no_refresh = file.clone();
    no_refresh["tokens"]
        .as_object_mut()
        .unwrap()
        .remove("refresh_token");
    write_json(&codex_file(t.path()), &no_refresh);
    assert_eq!(
        status_of(t.path()),
        AuthStatus {
            ready: false,
            refreshable: false,
            problems: vec![format!(
                "The ChatGPT access token from {source} expired 2 h 5 min ago and cannot be refreshed; run `codex login` on the host to sign in again."
            )],
            ..expected
        }
    );
}

#[test]
fn fifo_where_the_file_should_be_does_not_hang() {
    let t = tempfile::tempdir().unwrap();
    let path = codex_file(t.path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let ok = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(ok.success());
    assert_eq!(
        status_of(t.path()),
        skipped(t.path(), "is a named pipe (FIFO), not a regular file")
    );
}

#[test]
fn directory_where_the_file_should_be() {
    let t = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(codex_file(t.path())).unwrap();
    assert_eq!(
        status_of(t.path()),
        skipped(t.path(), "is a directory, not a regular file")
    );
}

#[test]
fn symlink_loop_is_unreadable() {
    let t = tempfile::tempdir().unwrap();
    let path = codex_file(t.path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&path, &path).unwrap();
    let s = status_of(t.path());
    let expected_prefix = format!("{} cannot be read: ", path.display());
    assert!(
        s.problems[0].starts_with(&expected_prefix),
        "{:?}",
        s.problems
    );
    assert!(s.problems[0].contains("os error 40"), "{:?}", s.problems);
    assert_eq!(s.method, AuthMethod::None);
}

#[test]
fn dangling_symlink() {
    let t = tempfile::tempdir().unwrap();
    let path = codex_file(t.path());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(t.path().join("gone.json"), &path).unwrap();
    assert_eq!(
        status_of(t.path()),
        skipped(t.path(), "is a symbolic link to a file that does not exist")
    );
}

#[test]
fn codex_auth_dir_problems_are_named() {
    let t = tempfile::tempdir().unwrap();
    let missing_dir = t.path().join("nowhere");
    let inputs = DetectInputs {
        codex_auth_dir: Some(missing_dir.clone()),
        openai_api_key: Some(codex_mcp_auth::Secret::new("sk-env-1")),
        ..Default::default()
    };
    let s = detect_at(&inputs, fixed_now()).status_at(fixed_now());
    assert_eq!(s.method, AuthMethod::ApiKey);
    assert_eq!(
        s.problems,
        vec![format!(
            "CODEX_AUTH_DIR is set, but {} does not exist.",
            missing_dir.join("auth.json").display()
        )]
    );

    // CODEX_AUTH_DIR pointing at a file: its "auth.json" cannot exist.
    let file = t.path().join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    let inputs = DetectInputs {
        codex_auth_dir: Some(file.clone()),
        ..Default::default()
    };
    let s = detect_at(&inputs, fixed_now()).status_at(fixed_now());
    assert_eq!(s.method, AuthMethod::None);
    assert_eq!(
        s.problems[0],
        format!(
            "CODEX_AUTH_DIR is set, but {} does not exist.",
            file.join("auth.json").display()
        )
    );
}

#[test]
fn a_bad_file_does_not_hide_a_good_one() {
    let t = tempfile::tempdir().unwrap();
    let custom = t.path().join("custom");
    std::fs::create_dir_all(&custom).unwrap();
    std::fs::write(custom.join("auth.json"), b"not json").unwrap();
    write_json(&codex_file(t.path()), &json!({"OPENAI_API_KEY": "sk-home"}));
    let inputs = DetectInputs {
        codex_auth_dir: Some(custom.clone()),
        home: Some(t.path().to_path_buf()),
        ..Default::default()
    };
    let s = detect_at(&inputs, fixed_now()).status_at(fixed_now());
    assert_eq!(s.method, AuthMethod::ApiKey);
    assert_eq!(
        s.problems,
        vec![format!(
            "{} is not valid JSON (error at line 1, column 2); it was skipped.",
            custom.join("auth.json").display()
        )]
    );
}
