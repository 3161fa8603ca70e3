//! A named run (how the turn service starts Codex) outlives the server that started it:
//! the server dies, and its connection to the engine with it, the run goes on and keeps
//! its output, and the next server keeps it at adoption and re-attaches to it.

use super::docker_support;

use codex_mcp_runtime::docker::DockerRuntime;
use codex_mcp_runtime::{
    AgentId, AgentRuntime, AgentSpec, ExecEvent, ExecOutput, ExecSpec, RuntimeError,
};
use docker_support::{BUSYBOX_IMAGE, TestEnv, id, run, top};
use pretty_assertions::assert_eq;

/// Waits in the container until `/tmp/go` exists, so the test decides when a run ends.
const HELD: &str = "echo up; while [ ! -e /tmp/go ]; do sleep 0.05; done; \
                    echo last; echo complaint >&2; exit 3";

/// Starts each spec from a server that then dies: once every run has printed its first
/// line, the server's Tokio runtime (its engine connection, the exec drivers) is dropped
/// without killing anything, as a SIGKILL of mcpd would.
fn start_and_die(t: &TestEnv, agent: &AgentId, specs: Vec<ExecSpec>) {
    let config = t.config_for(BUSYBOX_IMAGE);
    let agent = agent.clone();
    std::thread::spawn(move || {
        let server = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        server.block_on(async {
            let rt = DockerRuntime::connect(config).await.unwrap();
            for spec in specs {
                let mut h = rt.exec(&agent, spec).await.unwrap();
                assert_eq!(h.events.recv().await, Some(ExecEvent::Stdout("up".into())));
                // Dropping the handle would kill the run: a dead server never does.
                std::mem::forget(h);
            }
        });
        drop(server);
    })
    .join()
    .unwrap();
}

/// Runs the test `$name` twice: with processes under the run helper (`helper`), as in
/// mcpd's agent image, and under the shell scripts (`scripts`), as in any other. The two
/// keep the same files, so each reads the other's runs.
macro_rules! both_wrappings {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn helper() {
                super::$name(false).await;
            }
            #[tokio::test]
            async fn scripts() {
                super::$name(true).await;
            }
        }
    };
}

fn held(run_id: &str) -> ExecSpec {
    ExecSpec::new(["sh", "-c", HELD]).run_id(run_id)
}

/// The files runs keep in the container's `/tmp`, pid files (this `ls`'s own) apart.
async fn run_files(rt: &DockerRuntime, agent: &AgentId) -> Vec<String> {
    // Every run file but the pid files of anonymous runs (this `ls` is one).
    let ls =
        "cd /tmp && ls -a | grep codex-mcp-exec | grep -v -E -e '-[0-9a-f]{16}[.]pid$' || true";
    let out = run(rt, agent, &["sh", "-c", ls]).await;
    out.stdout
}

fn finished(stdout: &[&str], stderr: &[&str], code: i32) -> ExecOutput {
    ExecOutput {
        stdout: stdout.iter().map(|s| s.to_string()).collect(),
        stderr: stderr.iter().map(|s| s.to_string()).collect(),
        code: Some(code),
    }
}

both_wrappings!(a_named_run_survives_its_server_and_the_next_one_reattaches_to_it);
async fn a_named_run_survives_its_server_and_the_next_one_reattaches_to_it(scripted: bool) {
    let t = env_or_return!(BUSYBOX_IMAGE, scripted: scripted);
    let a = id("reattach");
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let baseline = top(&t.rt, &a).await;
    start_and_die(
        &t,
        &a,
        vec![
            held("call-kept"),
            held("call-dropped"),
            ExecSpec::new(["sh", "-c", "echo up; sleep 2001"]),
        ],
    );
    let next = t.restart(BUSYBOX_IMAGE).await;
    next.adopt_keeping(&["call-kept".to_string()])
        .await
        .unwrap();
    // Only the kept run is left; the others are stopped with their files.
    let left = top(&t.rt, &a).await;
    assert!(left.iter().any(|p| p.contains("call-kept")), "{left:?}");
    assert!(
        !left
            .iter()
            .any(|p| p.contains("call-dropped") || p.contains("sleep 2001")),
        "{left:?}"
    );
    let files = run_files(&next, &a).await;
    assert!(files.iter().all(|f| f.contains("call-kept")), "{files:?}");

    let mut h = next
        .reattach(&a, "call-kept")
        .await
        .unwrap()
        .expect("alive");
    run(&next, &a, &["touch", "/tmp/go"]).await;
    assert_eq!(
        h.collect().await,
        finished(&["up", "last"], &["complaint"], 3)
    );
    assert_eq!(top(&t.rt, &a).await, baseline);
    // Read once: its files are gone, and so is the run.
    assert_eq!(run_files(&next, &a).await, Vec::<String>::new());
    assert!(next.reattach(&a, "call-kept").await.unwrap().is_none());
}

both_wrappings!(a_run_that_ended_while_no_server_was_attached_keeps_its_output_and_status);
async fn a_run_that_ended_while_no_server_was_attached_keeps_its_output_and_status(scripted: bool) {
    let t = env_or_return!(BUSYBOX_IMAGE, scripted: scripted);
    let a = id("ended");
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    start_and_die(&t, &a, vec![held("call-ended")]);
    run(&t.rt, &a, &["touch", "/tmp/go"]).await;
    // Wait until the run has recorded its status.
    let wait = "while [ ! -e /tmp/.codex-mcp-exec-call-ended.rc ]; do sleep 0.05; done";
    run(&t.rt, &a, &["sh", "-c", wait]).await;
    let next = t.restart(BUSYBOX_IMAGE).await;
    next.adopt_keeping(&["call-ended".to_string()])
        .await
        .unwrap();
    let mut h = next
        .reattach(&a, "call-ended")
        .await
        .unwrap()
        .expect("kept");
    assert_eq!(
        h.collect().await,
        finished(&["up", "last"], &["complaint"], 3)
    );
}

both_wrappings!(
    a_run_killed_while_no_server_was_attached_is_gone_and_a_reattached_one_can_be_killed
);
async fn a_run_killed_while_no_server_was_attached_is_gone_and_a_reattached_one_can_be_killed(
    scripted: bool,
) {
    let t = env_or_return!(BUSYBOX_IMAGE, scripted: scripted);
    let a = id("killed");
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let baseline = top(&t.rt, &a).await;
    start_and_die(&t, &a, vec![held("call-killed"), held("call-cancelled")]);
    // Someone kills the first run's whole process group (its wrapper too).
    let kill = "read -r p < /tmp/.codex-mcp-exec-call-killed.pid && kill -KILL -$p";
    assert_eq!(run(&t.rt, &a, &["sh", "-c", kill]).await.code, Some(0));
    let next = t.restart(BUSYBOX_IMAGE).await;
    let keep = ["call-killed".to_string(), "call-cancelled".to_string()];
    next.adopt_keeping(&keep).await.unwrap();
    assert!(next.reattach(&a, "call-killed").await.unwrap().is_none());
    assert!(next.reattach(&a, "call-never").await.unwrap().is_none());

    let mut h = next
        .reattach(&a, "call-cancelled")
        .await
        .unwrap()
        .expect("alive");
    h.kill().await;
    assert_eq!(h.collect().await.code, None);
    assert_eq!(top(&t.rt, &a).await, baseline);
}

both_wrappings!(named_runs_clean_up_after_each_other_and_bad_run_ids_are_refused);
async fn named_runs_clean_up_after_each_other_and_bad_run_ids_are_refused(scripted: bool) {
    let t = env_or_return!(BUSYBOX_IMAGE, scripted: scripted);
    let a = id("names");
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let named = |id: &str| ExecSpec::new(["echo", "hi"]).run_id(id);
    let out =
        t.rt.exec(&a, named("call-1"))
            .await
            .unwrap()
            .collect()
            .await;
    assert_eq!(out, finished(&["hi"], &[], 0));
    // An ended run's files (its pid file emptied) stay until four runs have ended; the
    // next named run then removes them all with one `rm`.
    // The scripts also leave the status they passed out of their pipeline (`.code`).
    let kept: &[&str] = if scripted {
        &["code", "err", "out", "pid", "rc"]
    } else {
        &["err", "out", "pid", "rc"]
    };
    let files = |ids: &[&str]| {
        let mut files: Vec<String> = ids
            .iter()
            .flat_map(|id| {
                kept.iter()
                    .map(move |ext| format!(".codex-mcp-exec-{id}.{ext}"))
            })
            .collect();
        files.sort();
        files
    };
    assert_eq!(run_files(&t.rt, &a).await, files(&["call-1"]));
    let pid = run(&t.rt, &a, &["cat", "/tmp/.codex-mcp-exec-call-1.pid"]).await;
    assert_eq!(
        pid.stdout,
        Vec::<String>::new(),
        "an ended run is not running"
    );
    for id in ["call-2", "call-3", "call-4"] {
        t.rt.exec(&a, named(id)).await.unwrap().collect().await;
    }
    assert_eq!(
        run_files(&t.rt, &a).await,
        files(&["call-1", "call-2", "call-3", "call-4"])
    );
    t.rt.exec(&a, named("call-5"))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(run_files(&t.rt, &a).await, files(&["call-5"]));
    // Anonymous runs leave nothing.
    run(&t.rt, &a, &["true"]).await;
    assert_eq!(run_files(&t.rt, &a).await, files(&["call-5"]));

    for bad in ["", "a b", "../x", "x;rm"] {
        let err = t.rt.exec(&a, named(bad)).await.unwrap_err();
        assert!(
            matches!(&err, RuntimeError::InvalidExec(m) if m.contains("only letters, digits")),
            "{bad:?}: {err}"
        );
        let err = t.rt.reattach(&a, bad).await.unwrap_err();
        assert!(
            matches!(err, RuntimeError::InvalidExec(_)),
            "{bad:?}: {err}"
        );
    }
}

/// The run helper every turn starts under cannot be replaced from inside the container:
/// not by the agent's processes, not by a run as the workspace writer (`1000:2000`),
/// which would otherwise gain that user's write access through it on the next turn. It
/// lives in the read-only pinned Codex volume.
#[tokio::test]
async fn no_process_in_the_container_can_replace_the_run_helper() {
    let t = env_or_return!(BUSYBOX_IMAGE, scripted: false);
    let a = id("helper-attack");
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let helper = "/opt/codex-mcp/codex/bin/codex-mcp-run";
    let before = run(&t.rt, &a, &["sha256sum", helper]).await;
    assert_eq!(before.code, Some(0), "{before:?}");
    let attack = format!(
        "cp /bin/busybox {helper} || echo x > {helper} || rm -f {helper} || mv {helper} /tmp/x \
         || chmod 777 {helper}; exit 0"
    );
    for spec in [
        ExecSpec::new(["sh", "-c", &attack]),
        ExecSpec::new(["sh", "-c", &attack]).writing_workspace(),
    ] {
        let out = docker_support::run_spec(&t.rt, &a, spec).await;
        assert!(
            out.stderr
                .iter()
                .any(|l| l.contains("Read-only file system")),
            "{out:?}"
        );
    }
    assert_eq!(run(&t.rt, &a, &["sha256sum", helper]).await, before);
    // And the next named run still goes through it, intact.
    let out =
        t.rt.exec(&a, ExecSpec::new(["echo", "still"]).run_id("after-attack"))
            .await
            .unwrap()
            .collect()
            .await;
    assert_eq!(out, finished(&["still"], &[], 0));
    let kept = run(&t.rt, &a, &["ls", "/tmp/.codex-mcp-exec-after-attack.code"]).await;
    assert_ne!(
        kept.code,
        Some(0),
        "the helper writes no .code: it ran, not the scripts"
    );
    // A server with the helper turned off runs the scripts, in this container too.
    let off = DockerRuntime::connect(t.config_for(BUSYBOX_IMAGE).with_run_helper(false))
        .await
        .unwrap();
    off.ensure(&a, &AgentSpec::new()).await.unwrap();
    let out = off
        .exec(&a, ExecSpec::new(["echo", "off"]).run_id("helper-off"))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(out, finished(&["off"], &[], 0));
    let code = run(&off, &a, &["cat", "/tmp/.codex-mcp-exec-helper-off.code"]).await;
    assert_eq!(code.stdout, vec!["0".to_string()], "the scripts ran");
}
