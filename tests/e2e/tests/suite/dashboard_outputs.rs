//! The dashboard's links to a finished call's full result and diff
//! (`GET /dashboard/calls/{id}/result` and `/diff`) with the real `mcpd`, the real Codex
//! CLI and the scripted model: the owner's token reads them; another token's call reads
//! exactly like an unknown one; no token, another site's `Origin` and a malformed id are
//! refused with a clear answer.

use codex_mcp_e2e::scripted::chat_answer;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::dashboard::{ALICE, BOB, start_alice_and_bob};

/// `GET {base}/dashboard/calls/{path}` with `token` (and `origin`): status, content
/// type and body.
async fn get(
    base: &str,
    path: &str,
    token: Option<&str>,
    origin: Option<&str>,
) -> (u16, String, String) {
    let mut request = reqwest::Client::new().get(format!("{base}/dashboard/calls/{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let mime = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, mime, response.text().await.unwrap())
}

fn error_of(body: &str) -> String {
    serde_json::from_str::<Value>(body).unwrap_or_else(|e| panic!("{e}: {body}"))["error"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_calls_result_link_works_for_its_token_only() {
    let Some((s, _tokens)) = start_alice_and_bob().await else {
        return;
    };
    let base = s.mcpd.base.clone();
    s.model.push(chat_answer("the whole answer for alice"));
    let result = s
        .mcpd
        .call_tool_as(ALICE, "chat", json!({"message": "alice asks"}))
        .await
        .unwrap();
    assert_eq!(result.get("isError"), None, "{result}");
    let id = result["_meta"]["io.codex-mcp/callId"]
        .as_str()
        .unwrap_or_else(|| panic!("no call id in {result}"))
        .to_string();

    // Her own call: the stored structured result, as JSON.
    let (status, mime, body) = get(&base, &format!("{id}/result"), Some(ALICE), None).await;
    assert_eq!(
        (status, mime.as_str()),
        (200, "application/json; charset=utf-8")
    );
    let stored: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(stored["reply"], json!("the whole answer for alice"));

    // Bob's token: the same 404 as for a call that does not exist.
    let unknown = "call-0-0000000000000000";
    let (status, _, theirs) = get(&base, &format!("{id}/result"), Some(BOB), None).await;
    assert_eq!(status, 404);
    let (status, _, none) = get(&base, &format!("{unknown}/result"), Some(ALICE), None).await;
    assert_eq!(status, 404);
    assert_eq!(
        error_of(&theirs).replace(&id, "ID"),
        error_of(&none).replace(unknown, "ID")
    );
    assert_eq!(
        error_of(&theirs),
        format!("no stored result for call {id:?} that this token may read")
    );
    // A chat produces no diff.
    let (status, _, body) = get(&base, &format!("{id}/diff"), Some(ALICE), None).await;
    assert_eq!(status, 404, "{body}");
    assert!(error_of(&body).contains("no stored diff"), "{body}");

    // No token, another site, a malformed id, an unknown part.
    let (status, _, _) = get(&base, &format!("{id}/result"), None, None).await;
    assert_eq!(status, 401);
    let evil = Some("https://evil.example");
    let (status, _, _) = get(&base, &format!("{id}/result"), Some(ALICE), evil).await;
    assert_eq!(status, 403);
    let (status, _, body) = get(&base, "not%20an%20id/result", Some(ALICE), None).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        error_of(&body).starts_with("malformed call id \"not an id\""),
        "{body}"
    );
    let (status, _, body) = get(&base, &format!("{id}/logs"), Some(ALICE), None).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        error_of(&body).contains("use /dashboard/calls/{id}/result or /diff"),
        "{body}"
    );
}
