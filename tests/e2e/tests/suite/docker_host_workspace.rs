//! CODEX_MCP_AGENT_WORKSPACES on Docker: the named host folder is the agent's /workspace
//! (a bind mount), while other agents keep their own volume.

use codex_mcp_e2e::{Runtime, Setup};
use codex_mcp_testkit::temp_dir;
use pretty_assertions::assert_eq;
use serde_json::json;

#[tokio::test]
async fn the_named_host_folder_is_the_agents_workspace_in_its_container() {
    let projects = temp_dir("e2e-docker-host-ws").unwrap();
    let shop = projects.path().join("shop");
    std::fs::create_dir_all(&shop).unwrap();
    std::fs::write(shop.join("notes.txt"), "written on the host\n").unwrap();
    let Some(s) = Setup::start(
        Runtime::Docker,
        "suggest",
        &[
            (
                "CODEX_MCP_WORKSPACE_ROOTS",
                projects.path().display().to_string(),
            ),
            (
                "CODEX_MCP_AGENT_WORKSPACES",
                format!("alice={}", shop.display()),
            ),
        ],
    )
    .await
    else {
        return;
    };
    let seen = s
        .run_through_codex("alice", "cat /workspace/notes.txt")
        .await;
    assert!(seen.contains("written on the host"), "{seen}");
    let other = s
        .run_through_codex("bob", "cat /workspace/notes.txt || echo no-such-file")
        .await;
    assert!(other.contains("no-such-file"), "{other}");
    let mine = s
        .mcpd
        .call_tool("get_my_session_info", json!({"agent_id": "alice"}))
        .await
        .unwrap();
    assert_eq!(mine["structuredContent"]["workspace"], json!("/workspace"));
    let binds = codex_mcp_e2e::docker::docker_ok(&[
        "inspect",
        "-f",
        "{{range .Mounts}}{{.Type}}:{{.Source}} {{end}}",
        &s.scope().container("alice"),
    ])
    .unwrap();
    let real = shop.canonicalize().unwrap();
    assert!(
        binds.contains(&format!("bind:{}", real.display())),
        "{binds}"
    );
}
