//! What agents receive, how it is written, and how a change at the source is noticed.

use super::common;

use std::os::unix::fs::PermissionsExt;

use codex_mcp_auth::{
    AgentAuthFile, BrokerKey, DetectInputs, Secret, detect_at, jwt, write_agent_auth,
};
use common::{Login, codex_file, fixed_now, read_json, write_json};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

fn key() -> BrokerKey {
    BrokerKey::from_bytes([42; 32])
}

fn home_inputs(home: &std::path::Path) -> DetectInputs {
    DetectInputs {
        home: Some(home.to_path_buf()),
        ..Default::default()
    }
}

#[test]
fn api_key_agents_get_the_key_form() {
    let inputs = DetectInputs {
        openai_api_key: Some(Secret::new("sk-test-123")),
        ..Default::default()
    };
    let creds = detect_at(&inputs, fixed_now()).credentials.unwrap();
    let file = creds.agent_auth_file(&key().ticket("a1"));
    let value: Value = serde_json::from_slice(file.bytes()).unwrap();
    assert_eq!(value, json!({"OPENAI_API_KEY": "sk-test-123"}));
}

#[test]
fn chatgpt_agents_get_the_login_with_their_ticket_instead_of_the_refresh_token() {
    let t = tempfile::tempdir().unwrap();
    let login = Login::expiring_at(fixed_now().timestamp() + 3600);
    let mut source = login.auth_json();
    source["OPENAI_API_KEY"] = json!("sk-also-here");
    write_json(&codex_file(t.path()), &source);
    let creds = detect_at(&home_inputs(t.path()), fixed_now())
        .credentials
        .unwrap();
    let file = creds.agent_auth_file(&key().ticket("agent-7"));
    let value: Value = serde_json::from_slice(file.bytes()).unwrap();
    assert_eq!(
        value,
        json!({
            // The chosen method only: a key here would make Codex use it instead.
            "OPENAI_API_KEY": null,
            "tokens": {
                "id_token": login.id_token(),
                "access_token": login.access_token(),
                "refresh_token": key().ticket("agent-7").expose(),
                "account_id": "acc-123",
            },
            "last_refresh": "2026-01-01T00:00:00.000000Z",
        })
    );
    assert!(!String::from_utf8_lossy(file.bytes()).contains(&login.refresh_token()));
    assert_eq!(AgentAuthFile::MODE, 0o600);
}

#[test]
fn env_token_agents_get_a_loadable_id_token() {
    let login = Login::expiring_at(fixed_now().timestamp() + 3600);
    let inputs = DetectInputs {
        chatgpt_oauth_token: Some(Secret::new(login.access_token())),
        ..Default::default()
    };
    let creds = detect_at(&inputs, fixed_now()).credentials.unwrap();
    let file = creds.agent_auth_file(&key().ticket("a1"));
    let value: Value = serde_json::from_slice(file.bytes()).unwrap();
    assert_eq!(value["tokens"]["access_token"], json!(login.access_token()));
    assert_eq!(value["tokens"]["account_id"], json!("acc-123"));
    let claims = jwt::decode_claims(value["tokens"]["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims.plan.as_deref(), Some("plus"));
    assert_eq!(claims.chatgpt_account_id.as_deref(), Some("acc-123"));
    assert_eq!(claims.expires_at, Some(login.exp));
}

#[test]
fn fingerprints_follow_content() {
    let t = tempfile::tempdir().unwrap();
    write_json(
        &codex_file(t.path()),
        &Login::expiring_at(fixed_now().timestamp() + 3600).auth_json(),
    );
    let a = detect_at(&home_inputs(t.path()), fixed_now())
        .credentials
        .unwrap();
    let b = detect_at(&home_inputs(t.path()), fixed_now())
        .credentials
        .unwrap();
    assert_eq!(a.fingerprint(), b.fingerprint());
    let (fa, fb) = (
        a.agent_auth_file(&key().ticket("x")),
        b.agent_auth_file(&key().ticket("x")),
    );
    assert_eq!(fa.fingerprint(), fb.fingerprint());
    assert_ne!(
        fa.fingerprint(),
        a.agent_auth_file(&key().ticket("y")).fingerprint()
    );
    assert_eq!(fa.fingerprint().to_hex().len(), 64);
}

#[test]
fn source_changes_are_noticed_but_a_touch_is_not() {
    let t = tempfile::tempdir().unwrap();
    let path = codex_file(t.path());
    let first = Login::expiring_at(fixed_now().timestamp() + 3600);
    write_json(&path, &first.auth_json());
    let creds = detect_at(&home_inputs(t.path()), fixed_now())
        .credentials
        .unwrap();
    assert!(!creds.source_changed());

    // Same bytes, new mtime.
    let bytes = std::fs::read(&path).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&path, &bytes).unwrap();
    assert!(!creds.source_changed());

    let mut second = first.clone();
    second.tag = "gen2".into();
    write_json(&path, &second.auth_json());
    assert!(creds.source_changed());

    std::fs::remove_file(&path).unwrap();
    assert!(creds.source_changed());
}

#[test]
fn writes_are_atomic_private_and_never_follow_links() {
    let t = tempfile::tempdir().unwrap();
    let home = t.path().join("agents/a1/codex-home");
    let inputs = DetectInputs {
        openai_api_key: Some(Secret::new("sk-test-123")),
        ..Default::default()
    };
    let creds = detect_at(&inputs, fixed_now()).credentials.unwrap();
    let file = creds.agent_auth_file(&key().ticket("a1"));
    write_agent_auth(&home, &file).unwrap();
    let path = home.join("auth.json");
    assert_eq!(std::fs::read(&path).unwrap(), file.bytes());
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // An agent plants a symlink to a host file: the write replaces the link instead.
    let victim = t.path().join("victim.txt");
    std::fs::write(&victim, b"host data").unwrap();
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(&victim, &path).unwrap();
    write_agent_auth(&home, &file).unwrap();
    assert_eq!(std::fs::read(&victim).unwrap(), b"host data");
    assert!(
        std::fs::symlink_metadata(&path)
            .unwrap()
            .file_type()
            .is_file()
    );
    assert_eq!(read_json(&path), json!({"OPENAI_API_KEY": "sk-test-123"}));

    let leftovers: Vec<_> = std::fs::read_dir(&home)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(leftovers, vec!["auth.json".to_string()]);
}
