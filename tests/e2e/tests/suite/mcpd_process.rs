//! The `mcpd` process itself: configuration errors, signals, stdin EOF, and several
//! mcpd processes on one data dir.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use codex_mcp_e2e::scripted::chat_answer;
use codex_mcp_e2e::setup::{Runtime, Setup};
use codex_mcp_e2e::stdio_client::StdioMcpd;
use codex_mcp_e2e::{is_shell_setting, listening_at, mcpd_bin, without_shell_settings};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, Command};

/// `mcpd` with a clean environment of its own: inherited settings are removed and
/// the data directory and home point into `dir`.
fn mcpd(dir: &Path) -> Command {
    let mut cmd = Command::new(mcpd_bin());
    without_shell_settings(&mut cmd)
        .env("CODEX_MCP_DATA_DIR", dir.join("data"))
        .env("CODEX_MCP_RUNTIME", "local")
        .env("HOME", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

/// Waits until mcpd, listening on port 0 with stderr going to `log`, says where it listens
/// and answers `/health` there; returns `http://127.0.0.1:PORT`.
async fn wait_healthy(log: &Path, child: &mut Child) -> String {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let base = loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(base) = listening_at(&text) {
            break base;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("mcpd exited early with {status}: {text}");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "mcpd never said where it listens: {text}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    loop {
        let probe = tokio::time::timeout(
            Duration::from_secs(2),
            http.get(format!("{base}/health")).send(),
        )
        .await;
        if matches!(&probe, Ok(Ok(r)) if r.status().is_success()) {
            return base;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("mcpd exited early with {status}");
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "mcpd never answered GET {base}/health"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn sigterm(child: &Child) {
    let pid = child.id().expect("mcpd is running");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -TERM {pid} failed");
}

#[tokio::test]
async fn an_invalid_setting_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::time::timeout(
        Duration::from_secs(20),
        mcpd(dir.path())
            .env("MAX_CONCURRENT_SESSIONS", "lots")
            .output(),
    )
    .await
    .expect("mcpd exits promptly")
    .expect("mcpd runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains("MAX_CONCURRENT_SESSIONS"),
        "stderr does not name the setting: {stderr}"
    );
    assert!(
        stderr.contains("lots"),
        "stderr does not quote the value: {stderr}"
    );
}

#[tokio::test]
async fn an_unknown_mcpd_variable_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::time::timeout(
        Duration::from_secs(20),
        mcpd(dir.path()).env("MCPD_LISTNE", "127.0.0.1:1").output(),
    )
    .await
    .expect("mcpd exits promptly")
    .expect("mcpd runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("MCPD_LISTNE"), "{stderr}");
}

#[tokio::test]
async fn sigterm_stops_a_serving_mcpd_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mcpd.log");
    let mut child = mcpd(dir.path())
        .env("MCPD_LISTEN", "127.0.0.1:0")
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("spawn mcpd");
    let base = wait_healthy(&log, &mut child).await;

    // A client holding a legacy session with an open GET stream must not delay exit.
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let init = http
        .post(format!("{base}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .json(&json!({
            "jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                       "clientInfo": {"name": "e2e", "version": "0"}}
        }))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("initialize");
    assert_eq!(init.status(), 200);
    let session = init.headers()["mcp-session-id"]
        .to_str()
        .unwrap()
        .to_string();
    let stream = http
        .get(format!("{base}/mcp"))
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .send()
        .await
        .expect("GET stream");
    assert_eq!(stream.status(), 200);

    sigterm(&child);
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("mcpd exits within 5 s of SIGTERM")
        .expect("wait");
    assert_eq!(status.code(), Some(0), "{status}");
    // The open stream was ended by the server, not left hanging.
    let rest = tokio::time::timeout(Duration::from_secs(5), stream.bytes()).await;
    assert!(rest.is_ok(), "the GET stream did not end after shutdown");
}

#[tokio::test]
async fn stdio_answers_and_exits_0_at_eof() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = mcpd(dir.path())
        .args(["serve", "--stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn mcpd serve --stdio");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();

    let request = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "e2e", "version": "0"}}
    });
    stdin
        .write_all(format!("{request}\n").as_bytes())
        .await
        .unwrap();
    stdin.write_all(b"{oops\n").await.unwrap();
    stdin.flush().await.unwrap();
    let mut next = async || -> Value {
        let line = tokio::time::timeout(Duration::from_secs(20), stdout.next_line())
            .await
            .expect("a line on stdout")
            .expect("read stdout")
            .expect("stdout open");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON on stdout: {line:?}: {e}"))
    };
    let response = next().await;
    assert_eq!(response["id"], json!(1));
    assert_eq!(response["result"]["protocolVersion"], json!("2025-11-25"));
    assert_eq!(response["result"]["serverInfo"]["name"], json!("mcpd"));
    let error = next().await;
    assert_eq!(error["error"]["code"], json!(-32700));

    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .expect("mcpd exits within 5 s of stdin EOF")
        .expect("wait");
    assert_eq!(status.code(), Some(0), "{status}");
}

#[tokio::test]
async fn every_setting_mcpd_lists_is_kept_from_a_tests_shell() {
    // The harness drops inherited settings by name; a setting added to mcpd but not to
    // that list would leak from the developer's shell into every test's mcpd.
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::time::timeout(
        Duration::from_secs(20),
        mcpd(dir.path())
            .args(["config", "--list"])
            .stdout(Stdio::piped())
            .output(),
    )
    .await
    .expect("mcpd exits promptly")
    .expect("mcpd runs");
    assert_eq!(output.status.code(), Some(0));
    let listed: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    assert!(listed.len() > 20, "{listed:?}");
    let leaking: Vec<&String> = listed.iter().filter(|n| !is_shell_setting(n)).collect();
    assert_eq!(
        leaking,
        Vec::<&String>::new(),
        "add them to tests/e2e/src/lib.rs"
    );
}

/// The attack: `MCPD_LISTEN=0.0.0.0:8210` without tokens lets anyone on the network run
/// Codex on this machine. mcpd refuses to start (exit 2, before binding), naming both
/// settings and the opt-in.
#[tokio::test]
async fn listening_beyond_loopback_without_tokens_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::time::timeout(
        Duration::from_secs(20),
        mcpd(dir.path()).env("MCPD_LISTEN", "0.0.0.0:0").output(),
    )
    .await
    .expect("mcpd refuses instead of serving")
    .expect("mcpd runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
    for named in [
        "MCPD_LISTEN=0.0.0.0:0",
        "MCPD_TOKENS_FILE",
        "MCPD_ALLOW_UNAUTHENTICATED=1",
    ] {
        assert!(stderr.contains(named), "{named}: {stderr}");
    }
}

#[tokio::test]
async fn http_mcpd_and_two_stdio_mcpd_share_one_agent_and_conversation() {
    http_and_two_stdio_share_one_agent(Runtime::Local).await;
}

#[tokio::test]
async fn http_mcpd_and_two_stdio_mcpd_share_one_agent_container() {
    http_and_two_stdio_share_one_agent(Runtime::Docker).await;
}

/// An HTTP mcpd on `runtime` and two `mcpd serve --stdio` on its data dir, all calling
/// `chat` for one agent, the stdio ones at the same time: every call succeeds, in one
/// environment, on one conversation.
async fn http_and_two_stdio_share_one_agent(runtime: Runtime) {
    let Some(s) = Setup::start(runtime, "suggest", &[]).await else {
        return;
    };
    for n in 0..7 {
        s.model.push(chat_answer(&format!("answer {n}")));
    }
    let mut clients = Vec::new();
    for name in ["one", "two"] {
        clients.push(StdioMcpd::start(&s.env, s.home.join(format!("stdio-{name}.log"))).await);
    }
    let turns = clients.iter_mut().enumerate().map(|(c, client)| async move {
        for turn in 0..3 {
            let message = format!("message {turn} from stdio client {c}");
            let response = client
                .request(
                    "tools/call",
                    json!({"name": "chat", "arguments": {"message": message, "agent_id": "shared"}}),
                )
                .await;
            assert_eq!(
                response["result"].get("isError"),
                None,
                "{response}\n{}",
                client.log()
            );
            assert!(
                response["result"]["structuredContent"]["reply"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("answer")),
                "{response}"
            );
        }
    });
    futures::future::join_all(turns).await;
    let last = s
        .mcpd
        .call_tool(
            "chat",
            json!({"message": "message from http", "agent_id": "shared"}),
        )
        .await
        .unwrap();
    assert_eq!(last.get("isError"), None, "{last}\n{}", s.mcpd.log());

    // One conversation: the last turn the model saw carries every earlier message.
    let requests = s.model.responses_requests();
    assert_eq!(requests.len(), 7);
    let seen = requests[6].user_texts().join("\n");
    for c in 0..2 {
        for turn in 0..3 {
            let message = format!("message {turn} from stdio client {c}");
            assert!(seen.contains(&message), "{message:?} missing from {seen}");
        }
    }
    // One agent environment, made by the owner.
    match runtime {
        Runtime::Local => {
            assert_eq!(agent_folders(&s.data), vec!["shared".to_string()]);
        }
        Runtime::Docker => assert_eq!(
            s.scope().containers().len(),
            1,
            "one container for the agent"
        ),
        Runtime::Kubernetes => assert_eq!(
            s.kube().ns.names("pods"),
            vec![s.kube().pod("shared")],
            "one pod for the agent"
        ),
    }
    for client in &clients {
        assert!(
            client.log().contains("another mcpd owns the data dir"),
            "{}",
            client.log()
        );
    }
}

#[tokio::test]
async fn a_bridged_stdio_mcpd_keeps_its_agent_id_flag() {
    let Some(s) = Setup::start(Runtime::Local, "suggest", &[]).await else {
        return;
    };
    s.model.push(chat_answer("pinned answer"));
    let mut client = StdioMcpd::start_with(
        &s.env,
        s.home.join("stdio-pinned.log"),
        &["--agent-id", "pinned"],
    )
    .await;
    let response = client
        .request(
            "tools/call",
            json!({"name": "chat", "arguments": {"message": "no agent_id here"}}),
        )
        .await;
    assert_eq!(
        response["result"].get("isError"),
        None,
        "{response}\n{}",
        client.log()
    );
    assert!(client.log().contains("another mcpd owns the data dir"));
    // The owner ran the call as the bridge's --agent-id, as a local stdio mcpd would.
    assert_eq!(agent_folders(&s.data), vec!["pinned".to_string()]);
}

/// The agents with a folder in the local runtime's data dir.
fn agent_folders(data: &Path) -> Vec<String> {
    std::fs::read_dir(data.join("agents"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test]
async fn two_stdio_mcpd_starting_at_once_on_a_fresh_data_dir_both_serve() {
    let dir = tempfile::tempdir().unwrap();
    let env = bare_env(dir.path());
    let (mut one, two) = tokio::join!(
        StdioMcpd::start(&env, dir.path().join("one.log")),
        StdioMcpd::start(&env, dir.path().join("two.log")),
    );
    let bridged = [&one, &two]
        .iter()
        .filter(|c| c.log().contains("another mcpd owns the data dir"))
        .count();
    assert_eq!(bridged, 1, "{}\n{}", one.log(), two.log());
    let listed = one.request("tools/list", json!({})).await;
    assert!(
        listed["result"]["tools"]
            .as_array()
            .is_some_and(|t| !t.is_empty())
    );
}

#[tokio::test]
async fn stdio_mcpd_takes_over_a_stale_socket() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    // A socket nobody listens on any more, as a killed owner leaves it.
    drop(std::os::unix::net::UnixListener::bind(data.join("mcpd.sock")).unwrap());
    let client = StdioMcpd::start(&bare_env(dir.path()), dir.path().join("stdio.log")).await;
    assert!(
        !client.log().contains("another mcpd owns the data dir"),
        "{}",
        client.log()
    );
    // It became the owner: the socket is its own now, and live.
    std::os::unix::net::UnixStream::connect(data.join("mcpd.sock"))
        .expect("the new owner listens on the socket");
    let StdioMcpd {
        mut child, stdin, ..
    } = client;
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("exits at stdin EOF")
        .unwrap();
    assert_eq!(status.code(), Some(0), "{status}");
    assert!(
        !data.join("mcpd.sock").exists(),
        "the owner removes its socket on exit"
    );
}

/// The settings [`mcpd`] gives, for [`StdioMcpd::start`].
fn bare_env(dir: &Path) -> [(&'static str, String); 3] {
    [
        ("CODEX_MCP_DATA_DIR", dir.join("data").display().to_string()),
        ("CODEX_MCP_RUNTIME", "local".to_string()),
        ("HOME", dir.display().to_string()),
    ]
}

/// An HTTP mcpd owning a fresh data dir under `dir`, and its stderr file.
async fn http_owner(dir: &Path) -> (Child, std::path::PathBuf) {
    let log = dir.join("owner.log");
    let mut owner = mcpd(dir)
        .env("MCPD_LISTEN", "127.0.0.1:0")
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
        .spawn()
        .expect("spawn mcpd");
    wait_healthy(&log, &mut owner).await;
    (owner, log)
}

#[tokio::test]
async fn stdio_mcpd_refuses_a_socket_others_can_use() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let (_owner, _) = http_owner(dir.path()).await;
    let socket = dir.path().join("data").join("mcpd.sock");
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        mcpd(dir.path()).args(["serve", "--stdio"]).output(),
    )
    .await
    .expect("mcpd exits")
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("has mode 0666, which lets other users connect")
            && stderr.contains("refusing"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[tokio::test]
async fn bridged_stdio_mcpd_says_when_the_owner_exits() {
    let dir = tempfile::tempdir().unwrap();
    let (mut owner, _) = http_owner(dir.path()).await;
    let mut client = StdioMcpd::start(&bare_env(dir.path()), dir.path().join("bridge.log")).await;
    sigterm(&owner);
    owner.wait().await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), client.child.wait())
        .await
        .expect("the bridge exits when the owner does")
        .unwrap();
    assert_eq!(status.code(), Some(1), "{}", client.log());
    assert!(
        client
            .log()
            .contains("the mcpd that owns the data dir (reached through"),
        "{}",
        client.log()
    );
}
