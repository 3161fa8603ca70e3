//! No secret reaches a status document, a Debug or Display of any type, or an error.

use super::common;

use std::time::Duration;

use codex_mcp_auth::{
    BrokerKey, DetectInputs, RefreshConfig, Secret, TokenRefresher, authfile, detect,
};
use common::{Login, Script, codex_file, endpoint, unix_now, write_json};
use serde_json::json;

const API_KEY: &str = "sk-proj-SECRETKEY0123456789";
const ENV_TOKEN_TAG: &str = "envtoken";

/// Every secret of the synthetic credential set, as substrings that must never appear.
/// For JWTs the payload part is what identifies the token (the header is a constant).
fn secrets(login: &Login, env_login: &Login) -> Vec<String> {
    let payload = |jwt: &str| jwt.split('.').nth(1).unwrap().to_string();
    vec![
        API_KEY.to_string(),
        login.refresh_token(),
        payload(&login.access_token()),
        payload(&login.id_token()),
        payload(&env_login.access_token()),
        BrokerKey::from_bytes([3; 32])
            .ticket("agent-1")
            .expose()
            .to_string(),
    ]
}

fn assert_clean(what: &str, text: &str, secrets: &[String]) {
    let text = text.to_ascii_lowercase();
    for s in secrets {
        let s = s.to_ascii_lowercase();
        assert!(!text.contains(s.as_str()), "{what} leaks a secret: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_printable_holds_a_secret() {
    let t = tempfile::tempdir().unwrap();
    let login = Login::expiring_at(unix_now() - 60);
    let mut file = login.auth_json();
    file["OPENAI_API_KEY"] = json!(API_KEY);
    write_json(&codex_file(t.path()), &file);
    let mut env_login = Login::expiring_at(unix_now() + 3600);
    env_login.tag = ENV_TOKEN_TAG.into();
    let secrets = secrets(&login, &env_login);

    let inputs = DetectInputs {
        home: Some(t.path().to_path_buf()),
        chatgpt_oauth_token: Some(Secret::new(env_login.access_token())),
        openai_api_key: Some(Secret::new(API_KEY)),
        ..Default::default()
    };
    assert_clean("DetectInputs", &format!("{inputs:?}"), &secrets);

    for method in ["auto", "api_key", "oauth"] {
        for prefer in ["true", "false"] {
            let inputs = DetectInputs {
                auth_method: Some(method.into()),
                prefer_oauth: Some(prefer.into()),
                ..inputs.clone()
            };
            let detection = detect(&inputs);
            let status = detection.status();
            let creds = detection.credentials.clone().unwrap();
            let agent = creds.agent_auth_file(&BrokerKey::from_bytes([3; 32]).ticket("agent-1"));
            let printed = [
                serde_json::to_string(&status).unwrap(),
                status.to_string(),
                format!("{status:?}"),
                format!("{detection:?}"),
                format!("{creds:?} {:?} {:?}", creds.login(), creds.fingerprint()),
                format!("{agent:?}"),
            ];
            for text in printed {
                assert_clean(&format!("{method}/{prefer}"), &text, &secrets);
            }
        }
    }

    // Errors: a parse error over a token of the wrong type, and a failed refresh whose
    // endpoint echoes the refresh token back.
    let err = authfile::parse(json!({"OPENAI_API_KEY": [API_KEY]}).to_string().as_bytes());
    assert_clean(
        "parse error",
        &format!("{err:?} {}", err.clone().unwrap_err()),
        &secrets,
    );
    let parsed = authfile::parse(serde_json::to_vec(&file).unwrap().as_slice()).unwrap();
    assert_clean("AuthFile", &format!("{parsed:?}"), &secrets);

    let endpoint = endpoint(Script::Fail {
        status: 400,
        body: json!({"error": {"code": login.refresh_token(), "message": login.refresh_token()}}),
    })
    .await;
    let config = RefreshConfig {
        token_url: endpoint.url.clone(),
        request_timeout: Duration::from_secs(5),
        ..RefreshConfig::default()
    };
    let inputs = DetectInputs {
        home: Some(t.path().to_path_buf()),
        ..Default::default()
    };
    let refresher = TokenRefresher::new(inputs, config, BrokerKey::from_bytes([3; 32])).unwrap();
    let err = refresher.prepare_agent("agent-1").await.unwrap_err();
    assert_eq!(endpoint.hits(), 1);
    assert_clean("refresh error", &format!("{err} {err:?}"), &secrets);
    let status = refresher.status();
    assert_clean(
        "refresher status",
        &serde_json::to_string(&status).unwrap(),
        &secrets,
    );
    assert_clean("refresher", &format!("{refresher:?}"), &secrets);

    let ticket = BrokerKey::from_bytes([3; 32]).ticket("agent-1");
    let body =
        json!({"client_id": "x", "grant_type": "refresh_token", "refresh_token": ticket.expose()});
    let reply = refresher
        .handle_agent_refresh(body.to_string().as_bytes())
        .await;
    assert_clean("broker reply", &format!("{reply:?}"), &secrets);
    assert_clean(
        "broker key",
        &format!("{:?}", BrokerKey::from_bytes([3; 32])),
        &secrets,
    );
}
