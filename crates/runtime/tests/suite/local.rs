//! The local backend against the real host: processes, folders, kill.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use codex_mcp_runtime::local::{LocalConfig, LocalRuntime};
use codex_mcp_runtime::{
    AgentId, AgentRuntime, AgentSpec, AgentState, ExecEvent, ExecSpec, RuntimeError, RuntimeKind,
};

fn runtime(dir: &tempfile::TempDir) -> LocalRuntime {
    LocalRuntime::new(LocalConfig::new(dir.path()).with_kill_grace(Duration::from_millis(500)))
}

/// A runtime over `dir` whose one workspace root holds the folder `proj`: the runtime,
/// the root (keep it) and the folder.
pub(super) fn runtime_with_project(
    dir: &tempfile::TempDir,
) -> (LocalRuntime, tempfile::TempDir, std::path::PathBuf) {
    let roots = tempfile::tempdir().unwrap();
    let project = roots.path().join("proj");
    std::fs::create_dir(&project).unwrap();
    let rt = LocalRuntime::new(
        LocalConfig::new(dir.path()).with_workspace_roots(vec![roots.path().to_path_buf()]),
    );
    (rt, roots, project)
}

fn id(s: &str) -> AgentId {
    AgentId::new(s).unwrap()
}

/// Running (not gone, not a zombie).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let state = s[s.rfind(')').unwrap() + 2..]
                .split(' ')
                .next()
                .unwrap()
                .to_string();
            state != "Z" && state != "X"
        }
        Err(_) => false,
    }
}

async fn gone_within(pids: &[i32], limit: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if pids.iter().all(|p| !alive(*p)) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[tokio::test]
async fn ensure_creates_private_folders_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    assert_eq!(rt.kind(), RuntimeKind::Local);
    let a = id("alice");
    assert!(rt.status(&a).await.unwrap().is_none());
    let env = rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let base = dir.path().join("agents/alice");
    assert_eq!(env.workspace, base.join("workspace").to_str().unwrap());
    assert_eq!(env.codex_home, base.join("codex-home").to_str().unwrap());
    assert_eq!(env.scratch_root, base.join("scratch").to_str().unwrap());
    assert_eq!(env.container_id, None);
    for sub in ["workspace", "codex-home", "scratch"] {
        let mode = std::fs::metadata(base.join(sub))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700, "{sub}");
    }
    // Concurrent ensures of one agent agree.
    let spec = AgentSpec::new();
    let envs = futures::future::join_all((0..8).map(|_| rt.ensure(&a, &spec))).await;
    assert!(envs.into_iter().all(|e| e.unwrap() == env));
    let st = rt.status(&a).await.unwrap().unwrap();
    assert_eq!(st.state, AgentState::Running);
    assert!(st.created_at.is_some() && st.started_at.is_some());
}

#[tokio::test]
async fn exec_streams_lines_in_order_with_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let a = id("a1");
    let env = rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let script = "for i in $(seq 1 200); do echo line-$i; done; echo oops >&2; printf tail; exit 7";
    let mut h = rt
        .exec(&a, ExecSpec::new(["sh", "-c", script]))
        .await
        .unwrap();
    let mut stdout = Vec::new();
    let mut last = None;
    while let Some(ev) = h.events.recv().await {
        match ev {
            ExecEvent::Stdout(l) => stdout.push(l),
            ExecEvent::Stderr(l) => assert_eq!(l, "oops"),
            ExecEvent::Exited(c) => last = Some(c),
        }
    }
    let want: Vec<String> = (1..=200)
        .map(|i| format!("line-{i}"))
        .chain(["tail".into()])
        .collect();
    assert_eq!(stdout, want);
    assert_eq!(last, Some(Some(7)), "Exited is last and carries the code");

    // cwd defaults to the workspace; env is passed; the host's environment is not.
    let out = rt
        .exec(
            &a,
            ExecSpec::new([
                "sh",
                "-c",
                "pwd; echo $MY_VAR; env | grep -c '^CARGO' || true",
            ])
            .env("MY_VAR", "v1"),
        )
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(
        out.stdout,
        vec![env.workspace.clone(), "v1".into(), "0".into()]
    );
    assert_eq!(out.code, Some(0));

    let out = rt
        .exec(&a, ExecSpec::new(["pwd"]).cwd(env.scratch_root.clone()))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(out.stdout, vec![env.scratch_root]);
}

#[tokio::test]
async fn stdin_is_delivered_then_closed() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let a = id("a2");
    rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let big: String = (0..20_000).map(|i| format!("{i}\n")).collect();
    let out = rt
        .exec(&a, ExecSpec::new(["cat"]).stdin(big.clone()))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(out.stdout.len(), 20_000);
    assert_eq!(out.stdout.last().map(String::as_str), Some("19999"));
    assert_eq!(out.code, Some(0));
    // No stdin: closed at once, so cat ends instead of waiting.
    let out = tokio::time::timeout(Duration::from_secs(5), async {
        rt.exec(&a, ExecSpec::new(["cat"]))
            .await
            .unwrap()
            .collect()
            .await
    })
    .await
    .expect("cat with closed stdin must end");
    assert_eq!(
        out,
        codex_mcp_runtime::ExecOutput {
            stdout: vec![],
            stderr: vec![],
            code: Some(0)
        }
    );
}

#[tokio::test]
async fn kill_takes_the_whole_tree() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let a = id("a3");
    rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    // A child in the group, a child in a new session (as Codex's commands may be), and one
    // that ignores SIGTERM.
    let script = "echo $$; sleep 1000 & echo $!; setsid sleep 1001 & echo $!; \
                  sh -c 'trap \"\" TERM; echo $$; while :; do sleep 1; done' & wait";
    let mut h = rt
        .exec(&a, ExecSpec::new(["sh", "-c", script]))
        .await
        .unwrap();
    let mut pids = Vec::new();
    while pids.len() < 4 {
        match h.events.recv().await.unwrap() {
            ExecEvent::Stdout(l) => pids.push(l.trim().parse::<i32>().unwrap()),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(pids.iter().all(|p| alive(*p)), "all started: {pids:?}");
    h.kill().await;
    assert!(
        gone_within(&pids, Duration::from_secs(2)).await,
        "left behind: {pids:?}"
    );
    let rest = h.collect().await;
    assert_eq!(rest.code, None, "killed processes report no exit code");
}

#[tokio::test]
async fn dropping_the_handle_kills() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let a = id("a4");
    rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let mut h = rt
        .exec(
            &a,
            ExecSpec::new(["sh", "-c", "sleep 1000 & echo $!; wait"]),
        )
        .await
        .unwrap();
    let Some(ExecEvent::Stdout(l)) = h.events.recv().await else {
        panic!()
    };
    let pid: i32 = l.parse().unwrap();
    drop(h);
    assert!(gone_within(&[pid], Duration::from_secs(3)).await);
}

#[tokio::test]
async fn agents_are_isolated_by_folder() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let (a, b) = (id("iso-a"), id("iso-b"));
    let ea = rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let eb = rt.ensure(&b, &AgentSpec::new()).await.unwrap();
    assert_ne!(ea.workspace, eb.workspace);
    let path = format!("{}/sub/secret.txt", ea.codex_home);
    rt.write_file(&a, &path, b"for a only", 0o600)
        .await
        .unwrap();
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read(&path).unwrap(), b"for a only");
    // b may not write into a's folders, nor anywhere outside its own.
    for bad in [path.as_str(), "/etc/x", "relative/x"] {
        let e = rt.write_file(&b, bad, b"x", 0o600).await.unwrap_err();
        assert!(
            matches!(e, RuntimeError::PathNotAllowed { .. }),
            "{bad}: {e}"
        );
    }
    let dotdot = format!("{}/../codex-home/x", eb.workspace);
    assert!(matches!(
        rt.write_file(&b, &dotdot, b"x", 0o600).await,
        Err(RuntimeError::PathNotAllowed { .. })
    ));
    // A symlink inside b's workspace pointing at a's folder does not redirect a write.
    std::os::unix::fs::symlink(&ea.codex_home, format!("{}/link", eb.workspace)).unwrap();
    let via_link = format!("{}/link/evil", eb.workspace);
    assert!(matches!(
        rt.write_file(&b, &via_link, b"x", 0o600).await,
        Err(RuntimeError::PathNotAllowed { .. })
    ));
    // Not even the folders on the way are created through the link.
    let deeper = format!("{}/link/new-dir/evil", eb.workspace);
    assert!(matches!(
        rt.write_file(&b, &deeper, b"x", 0o600).await,
        Err(RuntimeError::PathNotAllowed { .. })
    ));
    assert!(!std::path::Path::new(&format!("{}/new-dir", ea.codex_home)).exists());
    let out = rt
        .exec(&b, ExecSpec::new(["ls", "-A"]))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(out.stdout, vec!["link"]);
}

#[tokio::test]
async fn lifecycle_status_list_stop_remove() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let (a, b) = (id("life-a"), id("life-b"));
    assert!(rt.list().await.unwrap().is_empty());
    assert!(matches!(
        rt.exec(&a, ExecSpec::new(["true"])).await,
        Err(RuntimeError::NotFound { .. })
    ));
    rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    rt.ensure(&b, &AgentSpec::new()).await.unwrap();
    let mut h = rt
        .exec(&a, ExecSpec::new(["sh", "-c", "echo go; sleep 1000"]))
        .await
        .unwrap();
    assert_eq!(h.events.recv().await, Some(ExecEvent::Stdout("go".into())));

    rt.stop(&a).await.unwrap();
    assert_eq!(h.collect().await.code, None, "stop kills running processes");
    let list = rt.list().await.unwrap();
    let states: Vec<_> = list.iter().map(|s| (s.agent.as_str(), s.state)).collect();
    assert_eq!(
        states,
        vec![
            ("life-a", AgentState::Stopped),
            ("life-b", AgentState::Running)
        ]
    );
    assert!(matches!(
        rt.exec(&a, ExecSpec::new(["true"])).await,
        Err(RuntimeError::NotRunning { .. })
    ));

    // A restart of the server (a new runtime) sees the folders as stopped agents.
    let rt2 = runtime(&dir);
    assert_eq!(
        rt2.status(&b).await.unwrap().unwrap().state,
        AgentState::Stopped
    );

    rt.remove(&a, false).await.unwrap();
    assert!(
        rt.status(&a).await.unwrap().is_some(),
        "data kept without purge"
    );
    rt.remove(&a, true).await.unwrap();
    assert!(rt.status(&a).await.unwrap().is_none());
    assert!(!dir.path().join("agents/life-a").exists());
}

#[tokio::test]
async fn host_workspace_must_be_under_a_root() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, _roots, project) = runtime_with_project(&dir);
    let a = id("ws");
    let env = rt
        .ensure(&a, &AgentSpec::new().with_workspace_host_path(&project))
        .await
        .unwrap();
    assert_eq!(
        env.workspace,
        std::fs::canonicalize(&project).unwrap().to_str().unwrap()
    );
    let e = rt
        .ensure(&a, &AgentSpec::new().with_workspace_host_path(dir.path()))
        .await
        .unwrap_err();
    assert!(
        matches!(e, RuntimeError::WorkspaceOutsideRoots { .. }),
        "{e}"
    );
    let e = rt
        .ensure(
            &a,
            &AgentSpec::new().with_workspace_host_path(project.join("../proj")),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, RuntimeError::InvalidWorkspace { .. }), "{e}");
}

#[tokio::test]
async fn empty_argv_and_missing_program_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let a = id("err");
    rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    assert!(matches!(
        rt.exec(&a, ExecSpec::default()).await,
        Err(RuntimeError::InvalidExec(_))
    ));
    assert!(matches!(
        rt.exec(&a, ExecSpec::new(["/no/such/program"])).await,
        Err(RuntimeError::Io { .. })
    ));
}

#[tokio::test]
async fn processes_left_by_a_dead_server_are_reaped_and_no_others() {
    let dir = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    let rt = runtime(&dir);
    let agent = id("orphaned");
    rt.ensure(&agent, &AgentSpec::new()).await.unwrap();
    // What a killed server leaves: a marked process (with a child) nobody waits for.
    let mark = dir.path().join("agents").display().to_string();
    let spawn = |owner: &str| {
        std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30"])
            .env(codex_mcp_runtime::local::OWNER_ENV, owner)
            .process_group(0)
            .spawn()
            .unwrap()
    };
    use std::os::unix::process::CommandExt as _;
    let mut orphan = spawn(&mark);
    let mut foreign = spawn(&other.path().join("agents").display().to_string());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let orphan_pid = orphan.id() as i32;
    let foreign_pid = foreign.id() as i32;

    let orphan_tree = group(orphan_pid);
    assert!(orphan_tree.len() >= 2, "{orphan_tree:?}");

    assert_eq!(rt.reap_orphans().await, 1);
    let _ = orphan.wait();
    assert!(gone_within(&orphan_tree, Duration::from_secs(5)).await);
    assert!(
        alive(foreign_pid),
        "a process of another data folder was killed"
    );
    // A second sweep finds nothing.
    assert_eq!(rt.reap_orphans().await, 0);
    let foreign_tree = group(foreign_pid);
    std::process::Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{foreign_pid}")])
        .status()
        .unwrap();
    let _ = foreign.wait();
    assert!(gone_within(&foreign_tree, Duration::from_secs(5)).await);
}

/// Live members of a process group.
fn group(pgid: i32) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
                s[s.rfind(')').unwrap() + 2..].split(' ').nth(2) == Some(&pgid.to_string())
            })
        })
        .filter(|pid| alive(*pid))
        .collect()
}
