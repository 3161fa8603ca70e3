//! The Docker backend against a real engine (start one with scripts/docker-setup.sh).
//!
//! With `CI=true` a missing engine or image fails these tests; elsewhere they print a loud
//! notice and pass vacuously. Every test works under its own name prefix and label and
//! removes what it created, also when it fails.

use super::docker_support;

use std::time::Duration;

use bollard::query_parameters::ListContainersOptionsBuilder;
use codex_mcp_runtime::docker::{DockerConfig, DockerRuntime};
use codex_mcp_runtime::{
    AgentRuntime, AgentSpec, AgentState, ExecEvent, ExecSpec, FileToWrite, RuntimeError,
};
use docker_support::{AGENT_IMAGE, BUSYBOX_IMAGE, TestEnv, docker_cli, id, run, top};

#[tokio::test]
async fn ensure_creates_one_hardened_labelled_container() {
    let t = env_or_return!(BUSYBOX_IMAGE);
    let a = id("hard.en-1");
    let env = t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    assert_eq!(
        (
            env.workspace.as_str(),
            env.codex_home.as_str(),
            env.scratch_root.as_str()
        ),
        ("/workspace", "/home/agent/.codex", "/scratch")
    );
    let cid = env.container_id.clone().unwrap();

    let c = t.rt.client().inspect_container(&cid, None).await.unwrap();
    assert_eq!(
        c.name.as_deref(),
        Some(format!("/cmt-{}-hard.en-1", t.run).as_str())
    );
    let cfg = c.config.unwrap();
    let labels = cfg.labels.unwrap();
    assert_eq!(
        labels.get("codex-mcp.managed").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        labels.get("codex-mcp.agent").map(String::as_str),
        Some("hard.en-1")
    );
    assert_eq!(cfg.user.as_deref(), Some("1000:1000"));
    let hc = c.host_config.unwrap();
    assert_eq!(hc.cap_drop, Some(vec!["ALL".to_string()]));
    assert!(
        hc.security_opt
            .unwrap()
            .iter()
            .any(|s| s.starts_with("no-new-privileges"))
    );
    assert_eq!(hc.readonly_rootfs, Some(true));
    assert_eq!(hc.init, Some(true));
    assert_eq!(hc.pids_limit, Some(256));
    assert_eq!(hc.nano_cpus, Some(1_500_000_000));
    assert_eq!(hc.memory, Some(256 << 20));
    assert_eq!(hc.network_mode.as_deref(), Some("none"));
    assert!(hc.privileged != Some(true));
    let tmpfs = hc.tmpfs.unwrap();
    assert!(tmpfs.contains_key("/tmp") && tmpfs.contains_key("/home/agent"));
    let mounts = c.mounts.unwrap();
    let mut vols: Vec<(String, String)> = mounts
        .iter()
        .map(|m| {
            (
                m.destination.clone().unwrap(),
                m.name.clone().unwrap_or_default(),
            )
        })
        .collect();
    vols.sort();
    // mcpd's pinned Codex, read-only, for images without their own.
    let pinned = vols.iter().position(|(d, _)| d == "/opt/codex-mcp");
    let (_, name) = vols.remove(pinned.unwrap());
    assert!(
        name.starts_with(&format!("cmt-{}-pinned-codex-", t.run)),
        "{name}"
    );
    assert!(
        mounts
            .iter()
            .any(|m| m.destination.as_deref() == Some("/opt/codex-mcp") && m.rw == Some(false))
    );
    let p = format!("cmt-{}-hard.en-1", t.run);
    assert_eq!(
        vols,
        vec![
            ("/home/agent/.codex".into(), format!("{p}-codex-home")),
            ("/live/workspace".into(), format!("{p}-workspace")),
            ("/scratch".into(), format!("{p}-scratch")),
            ("/workspace".into(), format!("{p}-workspace")),
        ]
    );
    assert!(
        !mounts
            .iter()
            .any(|m| m.source.as_deref().unwrap_or("").contains("docker.sock"))
    );

    // Inside: the agent user, a read-only root, writable mounts.
    let out = run(&t.rt, &a, &["sh", "-c", "id -u; id -g; touch /etc/x 2>/dev/null || echo ro; touch /workspace/w 2>/dev/null || echo ws-ro; ls /live 2>/dev/null || echo live-closed; touch /home/agent/.codex/c /scratch/s /tmp/t /home/agent/.h && echo rw"]).await;
    assert_eq!(
        out.stdout,
        vec!["1000", "1000", "ro", "ws-ro", "live-closed", "rw"],
        "{out:?}"
    );
    // Only a process started to write the workspace reaches its writable view.
    let spec = ExecSpec::new([
        "sh",
        "-c",
        "id -g; touch /live/workspace/w && ls /workspace",
    ])
    .writing_workspace();
    let out = t.rt.exec(&a, spec).await.unwrap().collect().await;
    assert_eq!(out.stdout, vec!["2000", "w"], "{out:?}");

    // Idempotent, also concurrently: still one container, the same one.
    let again = t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    assert_eq!(again.container_id.as_deref(), Some(cid.as_str()));
    let spec = AgentSpec::new();
    let many = futures::future::join_all((0..5).map(|_| t.rt.ensure(&a, &spec))).await;
    assert!(
        many.into_iter()
            .all(|e| e.unwrap().container_id.as_deref() == Some(cid.as_str()))
    );
    assert_eq!(t.containers().len(), 1);

    let st = t.rt.status(&a).await.unwrap().unwrap();
    assert_eq!(st.state, AgentState::Running);
    assert_eq!(st.container_id.as_deref(), Some(cid.as_str()));
    assert!(st.created_at.is_some() && st.started_at.is_some());
    assert!(st.cpu_percent.is_some(), "{st:?}");
    assert!(st.memory_bytes.is_some_and(|m| m > 0), "{st:?}");
    assert_eq!(st.memory_limit_bytes, Some(256 << 20));

    // A busy process shows up in the CPU figure.
    let mut busy =
        t.rt.exec(
            &a,
            ExecSpec::new(["sh", "-c", "echo go; while :; do :; done"]),
        )
        .await
        .unwrap();
    assert_eq!(
        busy.events.recv().await,
        Some(ExecEvent::Stdout("go".into()))
    );
    let st = t.rt.status(&a).await.unwrap().unwrap();
    assert!(st.cpu_percent.is_some_and(|c| c > 5.0), "{st:?}");
    busy.kill().await;
}

#[tokio::test]
async fn exec_streams_lines_stdin_and_exit_code() {
    let t = env_or_return!(BUSYBOX_IMAGE);
    let a = id("exec");
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let script = "for i in $(seq 1 500); do echo line-$i; done; echo oops >&2; printf tail; exit 7";
    let mut h =
        t.rt.exec(&a, ExecSpec::new(["sh", "-c", script]))
            .await
            .unwrap();
    let (mut out, mut err, mut last) = (Vec::new(), Vec::new(), None);
    while let Some(ev) = h.events.recv().await {
        assert!(last.is_none(), "nothing after Exited");
        match ev {
            ExecEvent::Stdout(l) => out.push(l),
            ExecEvent::Stderr(l) => err.push(l),
            ExecEvent::Exited(c) => last = Some(c),
        }
    }
    let want: Vec<String> = (1..=500)
        .map(|i| format!("line-{i}"))
        .chain(["tail".into()])
        .collect();
    assert_eq!(out, want);
    assert_eq!(err, vec!["oops"]);
    assert_eq!(last, Some(Some(7)));

    let big: String = (0..20_000).map(|i| format!("{i}\n")).collect();
    let o =
        t.rt.exec(&a, ExecSpec::new(["cat"]).stdin(big))
            .await
            .unwrap()
            .collect()
            .await;
    assert_eq!(
        (o.stdout.len(), o.stdout.last().cloned(), o.code),
        (20_000, Some("19999".into()), Some(0))
    );
    let o = tokio::time::timeout(Duration::from_secs(10), async {
        t.rt.exec(&a, ExecSpec::new(["cat"]))
            .await
            .unwrap()
            .collect()
            .await
    })
    .await
    .expect("cat must see EOF when no stdin is given");
    assert_eq!((o.stdout.len(), o.code), (0, Some(0)));

    let o =
        t.rt.exec(
            &a,
            ExecSpec::new(["sh", "-c", "pwd; echo $V; echo $HOME $CODEX_HOME"])
                .cwd("/scratch")
                .env("V", "x y"),
        )
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(
        o.stdout,
        vec!["/scratch", "x y", "/home/agent /home/agent/.codex"]
    );
    assert_eq!(run(&t.rt, &a, &["no-such-program"]).await.code, Some(127));
    assert!(matches!(
        t.rt.exec(&a, ExecSpec::default()).await,
        Err(RuntimeError::InvalidExec(_))
    ));
}

#[tokio::test]
async fn kill_and_drop_leave_no_process() {
    let t = env_or_return!(BUSYBOX_IMAGE);
    let a = id("killer");
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let baseline = top(&t.rt, &a).await;
    assert_eq!(baseline.len(), 2, "docker-init and sleep: {baseline:?}");
    let script = "sleep 1001 & setsid sleep 1002 & sh -c 'trap \"\" TERM; while :; do sleep 1; done' & echo started; wait";
    let mut h =
        t.rt.exec(&a, ExecSpec::new(["sh", "-c", script]))
            .await
            .unwrap();
    assert_eq!(
        h.events.recv().await,
        Some(ExecEvent::Stdout("started".into()))
    );
    let during = top(&t.rt, &a).await;
    assert!(
        during.iter().any(|p| p.contains("sleep 1002")),
        "{during:?}"
    );
    h.kill().await;
    assert_eq!(
        top(&t.rt, &a).await.len(),
        2,
        "left behind: {:?}",
        top(&t.rt, &a).await
    );
    assert_eq!(h.collect().await.code, None);

    let mut h =
        t.rt.exec(
            &a,
            ExecSpec::new(["sh", "-c", "sleep 1003 & echo go; wait"]),
        )
        .await
        .unwrap();
    assert_eq!(h.events.recv().await, Some(ExecEvent::Stdout("go".into())));
    drop(h);
    let mut left = Vec::new();
    for _ in 0..100 {
        left = top(&t.rt, &a).await;
        if left.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(left.len(), 2, "dropping the handle must kill: {left:?}");
}

#[tokio::test]
async fn write_file_is_private_and_leaves_no_trace_in_inspect() {
    let t = env_or_return!(BUSYBOX_IMAGE);
    let a = id("files");
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let secret = format!("sk-test-{}", rand::random::<u64>());
    t.rt.write_file(&a, "/home/agent/.codex/auth.json", secret.as_bytes(), 0o600)
        .await
        .unwrap();
    t.rt.write_file(&a, "/workspace/deep/er/notes.md", b"line1\nline2\n", 0o644)
        .await
        .unwrap();
    // Overwrite keeps working.
    t.rt.write_file(&a, "/home/agent/.codex/auth.json", secret.as_bytes(), 0o600)
        .await
        .unwrap();
    let o = run(&t.rt, &a, &["sh", "-c", "stat -c '%a %u %g' /home/agent/.codex/auth.json /workspace/deep /workspace/deep/er/notes.md; cat /home/agent/.codex/auth.json; echo; cat /workspace/deep/er/notes.md"]).await;
    assert_eq!(
        o.stdout,
        vec![
            "600 1000 1000".to_string(),
            "700 1000 1000".into(),
            "644 1000 1000".into(),
            secret.clone(),
            "line1".into(),
            "line2".into()
        ]
    );
    let inspect =
        t.rt.client()
            .inspect_container(&t.rt.container_name(&a), None)
            .await
            .unwrap();
    let json = serde_json::to_string(&inspect).unwrap();
    assert!(!json.contains(&secret), "secret visible in docker inspect");
    for bad in [
        "/etc/passwd",
        "/tmp/x",
        "/workspace/../etc/x",
        "relative",
        "/workspace",
    ] {
        let e = t.rt.write_file(&a, bad, b"x", 0o600).await.unwrap_err();
        assert!(
            matches!(e, RuntimeError::PathNotAllowed { .. }),
            "{bad}: {e}"
        );
    }
    let e =
        t.rt.write_file(&id("nobody"), "/workspace/x", b"x", 0o600)
            .await
            .unwrap_err();
    assert!(matches!(e, RuntimeError::NotFound { .. }), "{e}");
}

#[tokio::test]
async fn write_files_writes_every_file_in_one_root_or_one_by_one() {
    let t = env_or_return!(BUSYBOX_IMAGE);
    let a = id("many-files");
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let file = |path, bytes, mode| FileToWrite { path, bytes, mode };
    // Same mount root: one archive upload.
    t.rt.write_files(
        &a,
        &[
            file("/home/agent/.codex/auth.json", b"{\"a\":1}", 0o600),
            file("/home/agent/.codex/config.toml", b"model = \"m\"\n", 0o640),
        ],
    )
    .await
    .unwrap();
    // Mixed roots and a nested folder: falls back to one upload each.
    t.rt.write_files(
        &a,
        &[
            file("/home/agent/.codex/auth.json", b"{\"a\":2}", 0o600),
            file("/workspace/n/e/x.txt", b"x\n", 0o644),
        ],
    )
    .await
    .unwrap();
    let o = run(&t.rt, &a, &["sh", "-c", "stat -c '%a %u %g' /home/agent/.codex/auth.json /home/agent/.codex/config.toml /workspace/n/e/x.txt; cat /home/agent/.codex/auth.json; echo; cat /home/agent/.codex/config.toml /workspace/n/e/x.txt"]).await;
    assert_eq!(
        o.stdout,
        vec![
            "600 1000 1000".to_string(),
            "640 1000 1000".into(),
            "644 1000 1000".into(),
            "{\"a\":2}".into(),
            "model = \"m\"".into(),
            "x".into(),
        ]
    );
    let e =
        t.rt.write_files(&a, &[file("/etc/passwd", b"x", 0o600)])
            .await
            .unwrap_err();
    assert!(matches!(e, RuntimeError::PathNotAllowed { .. }), "{e}");
    let e =
        t.rt.write_files(
            &id("nobody"),
            &[file("/home/agent/.codex/auth.json", b"x", 0o600)],
        )
        .await
        .unwrap_err();
    assert!(matches!(e, RuntimeError::NotFound { .. }), "{e}");
}

#[tokio::test]
async fn removed_container_is_recreated_with_its_data() {
    let t = env_or_return!(BUSYBOX_IMAGE);
    let a = id("phoenix");
    let first =
        t.rt.ensure(&a, &AgentSpec::new())
            .await
            .unwrap()
            .container_id
            .unwrap();
    t.rt.write_file(&a, "/workspace/keep.txt", b"survives\n", 0o644)
        .await
        .unwrap();
    let o = run(
        &t.rt,
        &a,
        &["sh", "-c", "echo history > /home/agent/.codex/h.jsonl"],
    )
    .await;
    assert_eq!(o.code, Some(0));
    docker_cli(&["rm", "-f", &first]).unwrap();
    assert_eq!(
        t.rt.status(&a).await.unwrap().unwrap().state,
        AgentState::Missing
    );
    // This runtime left it running and trusts it (no inspect per `ensure`): the exec
    // finds it gone, recreates it on the same volumes and runs.
    let o = run(
        &t.rt,
        &a,
        &["cat", "/workspace/keep.txt", "/home/agent/.codex/h.jsonl"],
    )
    .await;
    assert_eq!(o.stdout, vec!["survives", "history"]);
    let second =
        t.rt.ensure(&a, &AgentSpec::new())
            .await
            .unwrap()
            .container_id
            .unwrap();
    assert_ne!(first, second);

    // A container that died (killed from outside) is started again, the same one.
    docker_cli(&["kill", &second]).unwrap();
    assert_eq!(
        run(&t.rt, &a, &["cat", "/workspace/keep.txt"]).await.stdout,
        vec!["survives"]
    );
    let third =
        t.rt.ensure(&a, &AgentSpec::new())
            .await
            .unwrap()
            .container_id
            .unwrap();
    assert_eq!(third, second);
    assert_eq!(
        t.rt.status(&a).await.unwrap().unwrap().state,
        AgentState::Running
    );

    // Removed through the runtime, it is forgotten: an exec fails, `ensure` recreates.
    t.rt.remove(&a, false).await.unwrap();
    assert!(matches!(
        t.rt.exec(&a, ExecSpec::new(["true"])).await,
        Err(RuntimeError::NotFound { .. })
    ));
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    assert_eq!(
        run(&t.rt, &a, &["cat", "/workspace/keep.txt"]).await.stdout,
        vec!["survives"]
    );
}

#[tokio::test]
async fn restart_adopts_existing_agents_without_duplicates() {
    let t = env_or_return!(BUSYBOX_IMAGE);
    let (x, y) = (id("x"), id("y"));
    let cx =
        t.rt.ensure(&x, &AgentSpec::new())
            .await
            .unwrap()
            .container_id
            .unwrap();
    t.rt.ensure(&y, &AgentSpec::new()).await.unwrap();
    t.rt.stop(&y).await.unwrap();
    assert_eq!(
        t.rt.status(&y).await.unwrap().unwrap().state,
        AgentState::Stopped
    );
    assert!(matches!(
        t.rt.exec(&y, ExecSpec::new(["true"])).await,
        Err(RuntimeError::NotRunning { .. })
    ));

    let rt2 = t.restart(BUSYBOX_IMAGE).await;
    let adopted = rt2.adopt().await.unwrap();
    let got: Vec<(String, AgentState)> = adopted
        .iter()
        .map(|s| (s.agent.to_string(), s.state))
        .collect();
    assert_eq!(
        got,
        vec![
            ("x".into(), AgentState::Running),
            ("y".into(), AgentState::Stopped)
        ]
    );
    assert_eq!(
        rt2.ensure(&x, &AgentSpec::new())
            .await
            .unwrap()
            .container_id
            .as_deref(),
        Some(cx.as_str())
    );
    rt2.ensure(&y, &AgentSpec::new()).await.unwrap();
    assert_eq!(t.containers().len(), 2);
    let list = rt2.list().await.unwrap();
    assert_eq!(
        list.iter()
            .map(|s| (s.agent.as_str(), s.state))
            .collect::<Vec<_>>(),
        vec![("x", AgentState::Running), ("y", AgentState::Running)]
    );

    // Remove without purge keeps the data (Missing); purge removes it all.
    rt2.remove(&y, false).await.unwrap();
    assert_eq!(
        rt2.status(&y).await.unwrap().unwrap().state,
        AgentState::Missing
    );
    assert!(
        rt2.list()
            .await
            .unwrap()
            .iter()
            .any(|s| s.agent == y && s.state == AgentState::Missing)
    );
    rt2.remove(&y, true).await.unwrap();
    assert!(rt2.status(&y).await.unwrap().is_none());
    // Another server's (or test run's) agents are invisible.
    let opts = ListContainersOptionsBuilder::new().all(true).build();
    let all = rt2.client().list_containers(Some(opts)).await.unwrap();
    assert!(rt2.list().await.unwrap().len() <= all.len());
    assert_eq!(rt2.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn changed_settings_recreate_an_idle_container_but_never_a_busy_one() {
    let t = env_or_return!(BUSYBOX_IMAGE);
    let a = id("tight");
    let first =
        t.rt.ensure(&a, &AgentSpec::new())
            .await
            .unwrap()
            .container_id
            .unwrap();
    t.rt.write_file(&a, "/workspace/keep.txt", b"survives\n", 0o644)
        .await
        .unwrap();
    let tighter = |mem: u64| {
        TestEnv::config(&t.run, BUSYBOX_IMAGE).with_limits(Some(1_000_000_000), Some(mem))
    };
    // A server with a lower memory limit, while a call still runs in the container: kept.
    let mut busy =
        t.rt.exec(&a, ExecSpec::new(["sh", "-c", "echo up; sleep 30"]))
            .await
            .unwrap();
    assert_eq!(
        busy.events.recv().await,
        Some(ExecEvent::Stdout("up".into()))
    );
    let rt2 = DockerRuntime::connect(tighter(128 << 20)).await.unwrap();
    let same = rt2
        .ensure(&a, &AgentSpec::new())
        .await
        .unwrap()
        .container_id;
    assert_eq!(
        same.as_deref(),
        Some(first.as_str()),
        "never while a call runs"
    );
    busy.kill().await;
    busy.collect().await;
    // Idle now: recreated with the new limits, the data kept.
    let second = rt2
        .ensure(&a, &AgentSpec::new())
        .await
        .unwrap()
        .container_id
        .unwrap();
    assert_ne!(first, second);
    let c = rt2.client().inspect_container(&second, None).await.unwrap();
    let hc = c.host_config.unwrap();
    assert_eq!(
        (hc.memory, hc.nano_cpus),
        (Some(128 << 20), Some(1_000_000_000))
    );
    assert_eq!(
        run(&rt2, &a, &["cat", "/workspace/keep.txt"]).await.stdout,
        vec!["survives"]
    );
    // The same settings again: the same container.
    let rt3 = DockerRuntime::connect(tighter(128 << 20)).await.unwrap();
    let third = rt3
        .ensure(&a, &AgentSpec::new())
        .await
        .unwrap()
        .container_id;
    assert_eq!(third.as_deref(), Some(second.as_str()));
}

#[tokio::test]
async fn agents_cannot_see_each_other() {
    let t = env_or_return!(BUSYBOX_IMAGE);
    let (a, b) = (id("iso-a"), id("iso-b"));
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    t.rt.ensure(&b, &AgentSpec::new()).await.unwrap();
    t.rt.write_file(&a, "/workspace/a-only.txt", b"a", 0o600)
        .await
        .unwrap();
    let mut long =
        t.rt.exec(&a, ExecSpec::new(["sh", "-c", "echo up; exec sleep 777"]))
            .await
            .unwrap();
    assert_eq!(
        long.events.recv().await,
        Some(ExecEvent::Stdout("up".into()))
    );
    let ps = run(&t.rt, &b, &["ps", "-o", "args"])
        .await
        .stdout
        .join("\n");
    assert!(!ps.contains("sleep 777"), "b sees a's process:\n{ps}");
    let ps_a = run(&t.rt, &a, &["ps", "-o", "args"])
        .await
        .stdout
        .join("\n");
    assert!(ps_a.contains("sleep 777"), "{ps_a}");
    assert_eq!(
        run(&t.rt, &b, &["ls", "-A", "/workspace"]).await.stdout,
        Vec::<String>::new()
    );
    // No network in tests: only loopback exists.
    let ifs = run(&t.rt, &a, &["ls", "/sys/class/net"]).await.stdout;
    assert_eq!(ifs, vec!["lo"]);
    long.kill().await;
}

#[tokio::test]
async fn host_workspace_binds_only_under_allowed_roots() {
    let Some(mut t) = TestEnv::new(BUSYBOX_IMAGE).await else {
        return;
    };
    let roots = tempfile::tempdir().unwrap();
    let project = roots.path().join("proj");
    std::fs::create_dir(&project).unwrap();
    std::os::unix::fs::chown(&project, Some(1000), Some(1000)).ok();
    std::fs::set_permissions(
        &project,
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    let cfg = TestEnv::config(&t.run, BUSYBOX_IMAGE)
        .with_workspace_roots(vec![roots.path().to_path_buf()]);
    t.rt = DockerRuntime::connect(cfg).await.unwrap();
    let a = id("binder");
    let spec = AgentSpec::new().with_workspace_host_path(&project);
    let first = t.rt.ensure(&a, &spec).await.unwrap().container_id.unwrap();
    let o = run(
        &t.rt,
        &a,
        &["sh", "-c", "echo from-agent > /workspace/out.txt"],
    )
    .await;
    assert_ne!(o.code, Some(0), "the workspace is read-only: {o:?}");
    let spec = ExecSpec::new(["sh", "-c", "echo from-agent > /live/workspace/out.txt"])
        .writing_workspace();
    let o = t.rt.exec(&a, spec).await.unwrap().collect().await;
    assert_eq!(o.code, Some(0), "{o:?}");
    assert_eq!(
        std::fs::read_to_string(project.join("out.txt")).unwrap(),
        "from-agent\n"
    );

    let outside = tempfile::tempdir().unwrap();
    let e =
        t.rt.ensure(
            &a,
            &AgentSpec::new().with_workspace_host_path(outside.path()),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, RuntimeError::WorkspaceOutsideRoots { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("CODEX_MCP_WORKSPACE_ROOTS"));
    std::os::unix::fs::symlink(outside.path(), roots.path().join("sneaky")).unwrap();
    let e =
        t.rt.ensure(
            &a,
            &AgentSpec::new().with_workspace_host_path(roots.path().join("sneaky")),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, RuntimeError::WorkspaceOutsideRoots { .. }),
        "{e}"
    );

    // Back to the agent's own volume: the container is recreated around it.
    let second =
        t.rt.ensure(&a, &AgentSpec::new())
            .await
            .unwrap()
            .container_id
            .unwrap();
    assert_ne!(first, second);
    assert_eq!(
        run(&t.rt, &a, &["ls", "-A", "/workspace"]).await.stdout,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn missing_image_and_unreachable_engine_say_how_to_fix() {
    // No engine needed for this half.
    let bogus = DockerConfig::default().with_endpoint("unix:///nonexistent/codex-mcp/docker.sock");
    let e = DockerRuntime::connect(bogus).await.unwrap_err();
    assert!(matches!(e, RuntimeError::EngineUnreachable { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("unix:///nonexistent/codex-mcp/docker.sock")
            && msg.contains("start dockerd")
            && msg.contains("CODEX_MCP_RUNTIME=local"),
        "{msg}"
    );

    let t = env_or_return!(BUSYBOX_IMAGE);
    let cfg = TestEnv::config(&t.run, "codex-mcp-test-no-such-image:none");
    let rt = DockerRuntime::connect(cfg).await.unwrap();
    let e = rt.probe().await.unwrap_err();
    assert!(matches!(e, RuntimeError::ImageMissing { .. }), "{e}");
    let e = rt
        .ensure(&id("noimg"), &AgentSpec::new())
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("scripts/build-agent-image.sh"),
        "{e}"
    );
    assert!(
        t.containers().is_empty(),
        "nothing created without an image"
    );
    assert!(t.rt.probe().await.is_ok());
}

#[tokio::test]
async fn agent_image_runs_codex() {
    let t = env_or_return!(AGENT_IMAGE);
    let a = id("codex");
    t.rt.probe().await.unwrap();
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let o = run(&t.rt, &a, &["codex", "--version"]).await;
    assert_eq!(o.code, Some(0), "{o:?}");
    assert!(
        o.stdout.iter().any(|l| l.starts_with("codex-cli ")),
        "{o:?}"
    );
    let o = run(&t.rt, &a, &["sh", "-c", "id -un; git --version >/dev/null && echo git; test -s /etc/ssl/certs/ca-certificates.crt && echo certs; test -x /opt/codex/codex-resources/bwrap && echo bwrap"]).await;
    assert_eq!(o.stdout, vec!["agent", "git", "certs", "bwrap"], "{o:?}");
    t.rt.write_file(
        &a,
        "/home/agent/.codex/config.toml",
        b"model = \"x\"\n",
        0o600,
    )
    .await
    .unwrap();
    assert_eq!(
        run(&t.rt, &a, &["cat", "/home/agent/.codex/config.toml"])
            .await
            .stdout,
        vec!["model = \"x\""]
    );
    // The killer script works with Debian's dash and coreutils too (the image has no ps,
    // so the check is from outside).
    let mut h =
        t.rt.exec(
            &a,
            ExecSpec::new(["sh", "-c", "sleep 1000 & setsid sleep 1001 & echo up; wait"]),
        )
        .await
        .unwrap();
    assert_eq!(h.events.recv().await, Some(ExecEvent::Stdout("up".into())));
    h.kill().await;
    let left = top(&t.rt, &a).await;
    assert_eq!(left.len(), 2, "left behind: {left:?}");
}

#[tokio::test]
async fn cpu_limit_is_capped_at_the_host() {
    let t = env_or_return!(BUSYBOX_IMAGE);
    let cfg = TestEnv::config(&t.run, BUSYBOX_IMAGE).with_limits(Some(512_000_000_000), None);
    let rt = DockerRuntime::connect(cfg).await.unwrap();
    let ncpu = rt.client().info().await.unwrap().ncpu.unwrap();
    assert_eq!(rt.effective_nano_cpus(), Some(ncpu * 1_000_000_000));
    let a = id("greedy");
    let cid = rt
        .ensure(&a, &AgentSpec::new())
        .await
        .unwrap()
        .container_id
        .unwrap();
    let hc = rt
        .client()
        .inspect_container(&cid, None)
        .await
        .unwrap()
        .host_config
        .unwrap();
    assert_eq!(hc.nano_cpus, Some(ncpu * 1_000_000_000));
    assert_eq!(hc.memory, Some(0), "no memory limit configured");
}
