//! Every call's full result is an MCP resource (`codex-mcp://calls/{id}/result`); a
//! result over `CODEX_MCP_INLINE_RESULT_BYTES` is cut inline, still valid against the
//! tool's outputSchema, and links to the resource, which holds all of it. Resources are
//! scoped per bearer token like the server tools. Real mcpd, real Codex, scripted model.

use codex_mcp_e2e::scripted::chat_answer;
use codex_mcp_e2e::tokens::{ALICE, BOB, alice_and_bob_env};
use codex_mcp_e2e::{Runtime, Setup};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

fn error_of(answer: &Value) -> (i64, String) {
    (
        answer["error"]["code"].as_i64().unwrap_or_default(),
        answer["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

#[tokio::test]
async fn a_2mb_answer_is_cut_inline_and_read_whole_as_a_resource_by_its_token_only() {
    let dir = codex_mcp_testkit::temp_dir("e2e-results").unwrap();
    let mut env = alice_and_bob_env(dir.path());
    env.push(("CODEX_MCP_INLINE_RESULT_BYTES", "64k".into()));
    let Some(s) = Setup::start(Runtime::Local, "suggest", &env).await else {
        return;
    };
    let reply = format!("{}THE-END", "0123456789abcdef".repeat(2 << 16));
    assert!(reply.len() > 2 << 20);
    s.model.push(chat_answer(&reply));
    let result = s
        .mcpd
        .call_tool_as(ALICE, "chat", json!({"message": "say a lot"}))
        .await
        .unwrap();
    assert_eq!(result["isError"], Value::Null, "{result:.2000}");
    let call_id = result["_meta"]["io.codex-mcp/callId"]
        .as_str()
        .unwrap_or_else(|| panic!("no call id in {:.2000}", result.to_string()))
        .to_string();
    let uri = format!("codex-mcp://calls/{call_id}/result");

    // Inline: under the limit, valid against chat's outputSchema, and saying where the rest is.
    let structured = &result["structuredContent"];
    let inline_bytes = serde_json::to_vec(structured).unwrap().len();
    assert!(inline_bytes <= 64 << 10, "{inline_bytes} bytes inline");
    let inline_reply = structured["reply"].as_str().unwrap();
    assert!(inline_reply.starts_with("0123456789abcdef"));
    assert!(
        inline_reply.contains(&uri),
        "{:.300}",
        &inline_reply[inline_reply.len() - 300..]
    );
    let tools = s
        .mcpd
        .rpc("tools/list", json!({}), Some(ALICE))
        .await
        .unwrap();
    let chat = tools["result"]["tools"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["name"] == "chat"))
        .unwrap_or_else(|| panic!("no chat in {tools:.500}"));
    let validator = jsonschema::validator_for(&chat["outputSchema"]).unwrap();
    assert!(
        validator.is_valid(structured),
        "inline result fails chat's outputSchema"
    );
    let content = result["content"].as_array().unwrap();
    let link = content
        .iter()
        .find(|c| c["type"] == "resource_link")
        .unwrap();
    assert_eq!(link["uri"], json!(uri));
    assert_eq!(
        result["_meta"]["io.codex-mcp/truncated"]["resource"],
        json!(uri)
    );

    // The resource holds all of it.
    let read = s
        .mcpd
        .rpc("resources/read", json!({"uri": uri}), Some(ALICE))
        .await
        .unwrap();
    let text = read["result"]["contents"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{:.2000}", read.to_string()));
    let full: Value = serde_json::from_str(text).unwrap();
    assert_eq!(full["reply"].as_str().map(str::len), Some(reply.len()));
    assert!(full["reply"].as_str().unwrap().ends_with("THE-END"));
    assert_eq!(
        read["result"]["contents"][0]["mimeType"],
        json!("application/json")
    );
    assert_eq!(read["result"]["cacheScope"], json!("private"));
    assert!(read["result"]["ttlMs"].is_u64());

    // Listed for alice, newest first, with caching hints; no diff for a chat.
    let listed = s
        .mcpd
        .rpc("resources/list", json!({}), Some(ALICE))
        .await
        .unwrap();
    let uris: Vec<&str> = listed["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["uri"].as_str())
        .collect();
    assert_eq!(uris, vec!["codex-mcp://guide", uri.as_str()]);
    assert_eq!(listed["result"]["cacheScope"], json!("private"));
    assert_eq!(listed["result"]["ttlMs"], json!(0));
    let templates = s
        .mcpd
        .rpc("resources/templates/list", json!({}), Some(ALICE))
        .await
        .unwrap();
    let templates: Vec<&str> = templates["result"]["resourceTemplates"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["uriTemplate"].as_str())
        .collect();
    assert_eq!(
        templates,
        vec![
            "codex-mcp://calls/{call_id}/result",
            "codex-mcp://calls/{call_id}/diff"
        ]
    );

    // Bob sees nothing of alice's call: not listed, and it reads like an unknown one.
    let bobs = s
        .mcpd
        .rpc("resources/list", json!({}), Some(BOB))
        .await
        .unwrap();
    let bobs_uris: Vec<&str> = bobs["result"]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["uri"].as_str())
        .collect();
    assert_eq!(bobs_uris, vec!["codex-mcp://guide"], "{bobs}");
    // The guide is the same for everyone, so it may be cached and shared.
    let guide = s
        .mcpd
        .rpc(
            "resources/read",
            json!({"uri": "codex-mcp://guide"}),
            Some(BOB),
        )
        .await
        .unwrap();
    let text = guide["result"]["contents"][0]["text"]
        .as_str()
        .expect("guide text");
    assert!(text.starts_with("# Using this codex-mcp server"), "{guide}");
    assert!(text.contains("- `implement`: "), "{text}");
    assert_eq!(guide["result"]["cacheScope"], json!("public"), "{guide}");
    let theirs = s
        .mcpd
        .rpc("resources/read", json!({"uri": uri}), Some(BOB))
        .await
        .unwrap();
    let unknown = s
        .mcpd
        .rpc(
            "resources/read",
            json!({"uri": "codex-mcp://calls/call-0-0000000000000000/result"}),
            Some(ALICE),
        )
        .await
        .unwrap();
    let (code, message) = error_of(&theirs);
    assert_eq!(code, -32602, "{theirs}");
    assert!(message.contains("Resource not found"), "{message}");
    assert_eq!(
        error_of(&unknown).0,
        code,
        "another token's call must read like an unknown one"
    );
    assert_eq!(
        theirs["error"]["message"]
            .as_str()
            .map(|m| m.replace(&call_id, "ID")),
        unknown["error"]["message"]
            .as_str()
            .map(|m| m.replace("call-0-0000000000000000", "ID"))
    );

    // Bad input: no diff for a chat, a malformed URI, a bad cursor.
    let no_diff = s
        .mcpd
        .rpc(
            "resources/read",
            json!({"uri": format!("codex-mcp://calls/{call_id}/diff")}),
            Some(ALICE),
        )
        .await
        .unwrap();
    assert!(
        error_of(&no_diff).1.contains("Resource not found"),
        "{no_diff}"
    );
    let malformed = s
        .mcpd
        .rpc(
            "resources/read",
            json!({"uri": format!("codex-mcp://calls/{call_id}/everything")}),
            Some(ALICE),
        )
        .await
        .unwrap();
    let (code, message) = error_of(&malformed);
    assert_eq!(code, -32602, "{malformed}");
    assert!(message.contains("malformed call resource URI"), "{message}");
    assert!(message.contains("{call_id}/result"), "{message}");
    let cursor = s
        .mcpd
        .rpc(
            "resources/list",
            json!({"cursor": "not-a-cursor"}),
            Some(ALICE),
        )
        .await
        .unwrap();
    assert_eq!(error_of(&cursor).0, -32602, "{cursor}");
}
