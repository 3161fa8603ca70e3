//! CODEX_MCP_AGENT_WORKSPACES: an agent's Codex works in the host folder the operator
//! named for it, and folders outside CODEX_MCP_WORKSPACE_ROOTS stop startup. Local
//! runtime with a stand-in Codex that reports its working folder.

use codex_mcp_e2e::{Mcpd, local_env, mcpd_bin, without_shell_settings};
use codex_mcp_testkit::temp_dir;
use pretty_assertions::assert_eq;
use serde_json::json;

/// Answers `chat` with the folder it runs in.
const PWD_CODEX: &str = r#"#!/bin/sh
cat >/dev/null
echo '{"type":"thread.started","thread_id":"pwd-thread"}'
printf '{"type":"item.completed","item":{"id":"i","type":"agent_message","text":"{\\"reply\\":\\"%s\\",\\"follow_up_suggestions\\":[],\\"referenced_files\\":[]}"}}\n' "$(pwd -P)"
echo '{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"output_tokens":1}}'
"#;

#[tokio::test]
async fn an_agent_works_in_its_host_folder_and_others_in_their_own() {
    let dir = temp_dir("e2e-host-ws").unwrap();
    let codex = dir.path().join("codex");
    std::fs::write(&codex, PWD_CODEX).unwrap();
    std::fs::set_permissions(&codex, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let roots = dir.path().join("projects");
    let shop = roots.join("shop");
    std::fs::create_dir_all(&shop).unwrap();
    let data = dir.path().join("data");
    let env = local_env(
        &codex,
        &data,
        &[
            ("CODEX_MCP_WORKSPACE_ROOTS", roots.display().to_string()),
            (
                "CODEX_MCP_AGENT_WORKSPACES",
                format!("alice={}", shop.display()),
            ),
        ],
    );
    let mcpd = Mcpd::start(&env, dir.path()).await.unwrap();
    let shop_real = shop.canonicalize().unwrap().display().to_string();
    let own = data.join("agents/bob/workspace").display().to_string();
    for (agent, folder) in [("alice", &shop_real), ("bob", &own)] {
        let reply = mcpd
            .call_tool(
                "chat",
                json!({"message": "where are you?", "agent_id": agent}),
            )
            .await
            .unwrap();
        assert_eq!(
            reply["structuredContent"]["reply"],
            json!(folder),
            "{reply}"
        );
        let mine = mcpd
            .call_tool("get_my_session_info", json!({"agent_id": agent}))
            .await
            .unwrap();
        assert_eq!(mine["structuredContent"]["workspace"], json!(folder));
    }
}

#[tokio::test]
async fn folders_outside_the_roots_stop_startup_naming_the_setting() {
    let dir = temp_dir("e2e-host-ws-bad").unwrap();
    let roots = dir.path().join("projects");
    let outside = dir.path().join("elsewhere");
    std::fs::create_dir_all(&roots).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, roots.join("sneaky")).unwrap();
    let cases = [
        (format!("alice={}", outside.display()), "agent alice:"),
        (
            format!("alice={}", roots.join("sneaky").display()),
            "agent alice:",
        ),
        (
            format!("alice={}", roots.join("missing").display()),
            "agent alice:",
        ),
        ("not an id=/srv".to_string(), "CODEX_MCP_AGENT_WORKSPACES"),
    ];
    for (value, names) in cases {
        let out = without_shell_settings(&mut tokio::process::Command::new(mcpd_bin()))
            .env("CODEX_MCP_DATA_DIR", dir.path().join("data"))
            .env("CODEX_MCP_RUNTIME", "local")
            .env("MCPD_LISTEN", "127.0.0.1:0")
            .env("CODEX_MCP_WORKSPACE_ROOTS", &roots)
            .env("CODEX_MCP_AGENT_WORKSPACES", &value)
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{value}: {stderr}");
        assert!(
            stderr.contains("CODEX_MCP_AGENT_WORKSPACES") && stderr.contains(names),
            "{value}: {stderr}"
        );
    }
}

/// Answers `--version` (mcpd asks at startup, in its own folder) like the pinned Codex;
/// answers `implement` after writing `big.txt` (about 30 MB) in its working folder, or
/// `small.txt` when the prompt says SMALL.
const WRITING_CODEX: &str = r#"#!/bin/sh
if [ "$1" = "--version" ]; then echo 'codex-cli 0.169.0'; exit 0; fi
prompt=$(cat)
case "$prompt" in
  *SMALL*) echo small > small.txt ;;
  *) head -c 30000000 /dev/zero | tr '\0' x | fold -w 100 > big.txt ;;
esac
echo '{"type":"thread.started","thread_id":"writer-thread"}'
echo '{"type":"item.completed","item":{"id":"i","type":"agent_message","text":"{\"diff\":\"\",\"files_changed\":[],\"explanation\":\"wrote\",\"integration_notes\":[]}"}}'
echo '{"type":"turn.completed","usage":{"input_tokens":1,"cached_input_tokens":0,"output_tokens":1}}'
"#;

/// Peak resident memory of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn a_huge_suggest_mode_diff_is_refused_without_growing_mcpd() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = temp_dir("e2e-big-diff").unwrap();
    let codex = dir.path().join("codex");
    std::fs::write(&codex, WRITING_CODEX).unwrap();
    std::fs::set_permissions(&codex, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env = local_env(
        &codex,
        &dir.path().join("data"),
        &[("CODEX_MCP_MAX_DIFF_BYTES", "1m".into())],
    );
    let mcpd = Mcpd::start(&env, dir.path()).await.unwrap();
    let implement =
        |task: &str| json!({"task": task, "target_files": ["a.txt"], "agent_id": "writer"});
    let small = mcpd
        .call_tool("implement", implement("SMALL"))
        .await
        .unwrap();
    assert_eq!(small.get("isError"), None, "{small}");
    assert_eq!(
        small["structuredContent"]["diff"]
            .as_str()
            .unwrap_or_default()
            .lines()
            .last(),
        Some("+small")
    );
    let before = peak_rss_kib(mcpd.pid().unwrap());
    let big = mcpd
        .call_tool("implement", implement("write a lot"))
        .await
        .unwrap();
    let text = codex_mcp_e2e::error_text(&big);
    assert!(text.contains("CODEX_MCP_MAX_DIFF_BYTES=1048576"), "{text}");
    let grown = peak_rss_kib(mcpd.pid().unwrap()) - before;
    assert!(
        grown < 16 << 10,
        "mcpd's peak memory grew by {grown} KiB for a 30 MB diff"
    );
    // Suggest mode: the workspace was never touched, and the scratch copy is gone.
    let data = dir.path().join("data/agents/writer");
    assert!(!data.join("workspace/big.txt").exists());
    // Nothing was written outside the agent's folders (mcpd runs in the test's folder).
    assert!(!std::path::Path::new("big.txt").exists());
    let scratch = std::fs::read_dir(data.join("scratch"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(scratch, 0, "scratch copies left behind");
}
