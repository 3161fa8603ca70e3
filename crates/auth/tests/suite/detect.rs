//! Detection: every source in the documented order, and every override.

use super::common;

use codex_mcp_auth::{
    AuthMethod, AuthStatus, DetectInputs, NO_CREDENTIALS_MESSAGE, Secret, detect_at,
};
use common::{Login, codex_file, fixed_now, write_json};
use pretty_assertions::assert_eq;
use serde_json::json;

const FIVE_DAYS: i64 = 5 * 24 * 3600;

fn login() -> Login {
    Login::expiring_at(fixed_now().timestamp() + FIVE_DAYS)
}

/// The status of a healthy synthetic ChatGPT login found at `source`.
fn chatgpt_status(source: String) -> AuthStatus {
    AuthStatus {
        method: AuthMethod::Chatgpt,
        source: Some(source),
        ready: true,
        expires_in_secs: Some(FIVE_DAYS),
        expires_at: Some("2026-01-06T00:00:00.000000Z".into()),
        last_refresh: Some("2025-12-31T12:00:00.000000Z".into()),
        refreshable: true,
        plan: Some("plus".into()),
        account: Some("jo***@example.com".into()),
        problems: vec![],
    }
}

fn key_status(source: String) -> AuthStatus {
    AuthStatus {
        method: AuthMethod::ApiKey,
        source: Some(source),
        ready: true,
        expires_in_secs: None,
        expires_at: None,
        last_refresh: None,
        refreshable: false,
        plan: None,
        account: None,
        problems: vec![],
    }
}

fn status(inputs: &DetectInputs) -> AuthStatus {
    detect_at(inputs, fixed_now()).status_at(fixed_now())
}

#[test]
fn codex_auth_dir_is_searched_first() {
    let t = tempfile::tempdir().unwrap();
    let custom = t.path().join("custom");
    write_json(&custom.join("auth.json"), &login().auth_json());
    let home = t.path().join("home");
    write_json(&codex_file(&home), &json!({"OPENAI_API_KEY": "sk-home"}));
    let inputs = DetectInputs {
        codex_auth_dir: Some(custom.clone()),
        home_dir: Some(home.clone()),
        home: Some(home),
        ..Default::default()
    };
    assert_eq!(
        status(&inputs),
        chatgpt_status(custom.join("auth.json").display().to_string())
    );
}

#[test]
fn os_home_holds_an_api_key_file() {
    let t = tempfile::tempdir().unwrap();
    write_json(
        &codex_file(t.path()),
        &json!({"OPENAI_API_KEY": "sk-test-123"}),
    );
    let inputs = DetectInputs {
        home_dir: Some(t.path().to_path_buf()),
        ..Default::default()
    };
    assert_eq!(
        status(&inputs),
        key_status(codex_file(t.path()).display().to_string())
    );
}

#[test]
fn userprofile_then_home() {
    let t = tempfile::tempdir().unwrap();
    let profile = t.path().join("profile");
    let home = t.path().join("home");
    write_json(&codex_file(&profile), &login().auth_json());
    write_json(&codex_file(&home), &login().auth_json());
    let both = DetectInputs {
        userprofile: Some(profile.clone()),
        home: Some(home.clone()),
        ..Default::default()
    };
    assert_eq!(
        status(&both),
        chatgpt_status(codex_file(&profile).display().to_string())
    );
    let home_only = DetectInputs {
        home: Some(home.clone()),
        ..Default::default()
    };
    assert_eq!(
        status(&home_only),
        chatgpt_status(codex_file(&home).display().to_string())
    );
}

#[test]
fn same_directory_is_searched_once() {
    let t = tempfile::tempdir().unwrap();
    let inputs = DetectInputs {
        home_dir: Some(t.path().to_path_buf()),
        home: Some(t.path().to_path_buf()),
        userprofile: Some(t.path().join(".").to_path_buf()),
        ..Default::default()
    };
    write_json(&codex_file(t.path()), &login().auth_json());
    assert_eq!(inputs.candidate_files().len(), 1);
}

#[test]
fn environment_variables_are_the_fallback() {
    let l = login();
    let oauth_only = DetectInputs {
        chatgpt_oauth_token: Some(Secret::new(l.access_token())),
        ..Default::default()
    };
    assert_eq!(
        status(&oauth_only),
        AuthStatus {
            refreshable: false,
            last_refresh: None,
            // The access token carries no email; the plan comes from its auth claim.
            account: None,
            ..chatgpt_status("env:CHATGPT_OAUTH_TOKEN".into())
        }
    );
    let key_only = DetectInputs {
        openai_api_key: Some(Secret::new("sk-env-1")),
        ..Default::default()
    };
    assert_eq!(status(&key_only), key_status("env:OPENAI_API_KEY".into()));
}

#[test]
fn oauth_is_preferred_unless_told_otherwise() {
    let t = tempfile::tempdir().unwrap();
    write_json(&codex_file(t.path()), &login().auth_json());
    let mut inputs = DetectInputs {
        home: Some(t.path().to_path_buf()),
        openai_api_key: Some(Secret::new("sk-env-1")),
        ..Default::default()
    };
    let file = codex_file(t.path()).display().to_string();
    assert_eq!(status(&inputs), chatgpt_status(file.clone()));

    inputs.prefer_oauth = Some("false".into());
    assert_eq!(status(&inputs), key_status("env:OPENAI_API_KEY".into()));

    inputs.prefer_oauth = None;
    inputs.auth_method = Some("api_key".into());
    assert_eq!(status(&inputs), key_status("env:OPENAI_API_KEY".into()));

    inputs.auth_method = Some("oauth".into());
    inputs.prefer_oauth = Some("false".into());
    assert_eq!(status(&inputs), chatgpt_status(file));
}

#[test]
fn a_file_with_both_forms_serves_either_method() {
    let t = tempfile::tempdir().unwrap();
    let mut both = login().auth_json();
    both["OPENAI_API_KEY"] = json!("sk-in-file");
    write_json(&codex_file(t.path()), &both);
    let file = codex_file(t.path()).display().to_string();
    let mut inputs = DetectInputs {
        home: Some(t.path().to_path_buf()),
        ..Default::default()
    };
    assert_eq!(status(&inputs), chatgpt_status(file.clone()));
    inputs.auth_method = Some("API_KEY".into());
    assert_eq!(status(&inputs), key_status(file));
}

#[test]
fn api_key_method_without_a_key_names_the_oauth_login() {
    let t = tempfile::tempdir().unwrap();
    write_json(&codex_file(t.path()), &login().auth_json());
    let inputs = DetectInputs {
        home: Some(t.path().to_path_buf()),
        auth_method: Some("api_key".into()),
        ..Default::default()
    };
    let file = codex_file(t.path()).display().to_string();
    assert_eq!(
        status(&inputs),
        AuthStatus::none(vec![format!(
            "CODEX_AUTH_METHOD=api_key, but no API key was found (OPENAI_API_KEY is not set and no auth.json holds a key). A ChatGPT login exists at {file}: set CODEX_AUTH_METHOD=auto (or oauth) to use it."
        )])
    );
}

#[test]
fn oauth_method_without_a_login_names_the_key() {
    let inputs = DetectInputs {
        openai_api_key: Some(Secret::new("sk-env-1")),
        auth_method: Some("oauth".into()),
        ..Default::default()
    };
    assert_eq!(
        status(&inputs),
        AuthStatus::none(vec![
            "CODEX_AUTH_METHOD=oauth, but no ChatGPT login was found (run `codex login` on the host). An API key exists at env:OPENAI_API_KEY: set CODEX_AUTH_METHOD=auto (or api_key) to use it.".into()
        ])
    );
}

#[test]
fn bogus_settings_fall_back_to_defaults_with_a_problem() {
    let inputs = DetectInputs {
        openai_api_key: Some(Secret::new("sk-env-1")),
        auth_method: Some("bogus".into()),
        prefer_oauth: Some("perhaps".into()),
        ..Default::default()
    };
    assert_eq!(
        status(&inputs),
        AuthStatus {
            problems: vec![
                "CODEX_AUTH_METHOD is `bogus`, which is not one of auto, api_key or oauth; using `auto`.".into(),
                "CODEX_PREFER_OAUTH is `perhaps`, which is not one of true or false; using `true`.".into(),
            ],
            ..key_status("env:OPENAI_API_KEY".into())
        }
    );
}

#[test]
fn nothing_found_says_how_to_fix_it() {
    let t = tempfile::tempdir().unwrap();
    let inputs = DetectInputs {
        home: Some(t.path().to_path_buf()),
        ..Default::default()
    };
    let s = status(&inputs);
    assert_eq!(
        s,
        AuthStatus::none(vec![
            NO_CREDENTIALS_MESSAGE.into(),
            format!(
                "Searched: {}; and the environment variables CHATGPT_OAUTH_TOKEN and OPENAI_API_KEY.",
                codex_file(t.path()).display()
            ),
        ])
    );
    assert_eq!(s.unusable_reason().as_deref(), Some(NO_CREDENTIALS_MESSAGE));
    assert!(NO_CREDENTIALS_MESSAGE.contains("codex login"));
    assert!(NO_CREDENTIALS_MESSAGE.contains("OPENAI_API_KEY"));
}

#[test]
fn a_dead_env_token_gives_way_to_a_key() {
    let expired = Login::expiring_at(fixed_now().timestamp() - 60);
    let inputs = DetectInputs {
        chatgpt_oauth_token: Some(Secret::new(expired.access_token())),
        openai_api_key: Some(Secret::new("sk-env-1")),
        ..Default::default()
    };
    assert_eq!(
        status(&inputs),
        AuthStatus {
            problems: vec!["The ChatGPT token from env:CHATGPT_OAUTH_TOKEN has expired and cannot be refreshed; using the API key from env:OPENAI_API_KEY instead.".into()],
            ..key_status("env:OPENAI_API_KEY".into())
        }
    );
}

#[test]
fn status_json_shape() {
    let value = serde_json::to_value(chatgpt_status("/h/.codex/auth.json".into())).unwrap();
    assert_eq!(
        value,
        json!({
            "method": "chatgpt", "source": "/h/.codex/auth.json", "ready": true,
            "expires_in_secs": FIVE_DAYS, "expires_at": "2026-01-06T00:00:00.000000Z",
            "last_refresh": "2025-12-31T12:00:00.000000Z", "refreshable": true,
            "plan": "plus", "account": "jo***@example.com", "problems": []
        })
    );
    let text = chatgpt_status("/h/.codex/auth.json".into()).to_string();
    assert_eq!(
        text,
        "method:  ChatGPT login (plan plus, account jo***@example.com)\n\
         source:  /h/.codex/auth.json\n\
         expires: in 5 d 0 h (2026-01-06T00:00:00.000000Z)\n\
         refresh: by this server (single refresher for all agents and the host)\n\
         ready:   yes\n"
    );
}

#[test]
fn login_command_targets_the_searched_directory() {
    let inputs = DetectInputs {
        codex_auth_dir: Some("/srv/codex".into()),
        ..Default::default()
    };
    let cmd = codex_mcp_auth::login_command(std::path::Path::new("/usr/bin/codex"), &inputs);
    assert_eq!(
        cmd,
        codex_mcp_auth::LoginCommand {
            program: "/usr/bin/codex".into(),
            args: vec!["login".into(), "--device-auth".into()],
            env: vec![("CODEX_HOME".into(), "/srv/codex".into())],
        }
    );
    let default =
        codex_mcp_auth::login_command(std::path::Path::new("codex"), &DetectInputs::default());
    assert!(default.env.is_empty());
}

#[test]
fn parsed_settings_are_used_as_they_are() {
    // A program that parsed CODEX_AUTH_METHOD itself hands the value over typed; the
    // text fields are then not read (nor reported as bogus).
    let inputs = DetectInputs {
        openai_api_key: Some(Secret::new("sk-env-1")),
        auth_method: Some("bogus".into()),
        settings: Some(codex_mcp_auth::Settings {
            method: codex_mcp_auth::MethodSetting::OAuth,
            prefer_oauth: true,
        }),
        ..Default::default()
    };
    assert_eq!(
        status(&inputs),
        AuthStatus::none(vec![
            "CODEX_AUTH_METHOD=oauth, but no ChatGPT login was found (run `codex login` on the host). An API key exists at env:OPENAI_API_KEY: set CODEX_AUTH_METHOD=auto (or api_key) to use it.".into()
        ])
    );
}
