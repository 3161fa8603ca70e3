//! A server killed mid-call leaves its exec running in the agent's container; the next
//! server stops it when it adopts the container, and touches nothing else.

use super::docker_support;

use codex_mcp_runtime::{AgentRuntime, AgentSpec, ExecEvent, ExecSpec};
use docker_support::{BUSYBOX_IMAGE, TestEnv, id, top};

#[tokio::test]
async fn adopting_a_container_stops_runs_a_dead_server_left_behind() {
    let t = env_or_return!(BUSYBOX_IMAGE);
    let a = id("orphans");
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let baseline = top(&t.rt, &a).await;
    let mut h =
        t.rt.exec(
            &a,
            ExecSpec::new(["sh", "-c", "sleep 2001 & echo up; wait"]),
        )
        .await
        .unwrap();
    assert_eq!(h.events.recv().await, Some(ExecEvent::Stdout("up".into())));
    // What a SIGKILLed server leaves: nobody will ever kill or drop this handle.
    std::mem::forget(h);
    assert!(
        top(&t.rt, &a)
            .await
            .iter()
            .any(|p| p.contains("sleep 2001"))
    );

    let next = t.restart(BUSYBOX_IMAGE).await;
    next.adopt().await.unwrap();
    assert_eq!(top(&t.rt, &a).await, baseline);
    // A second adoption finds nothing to stop, and the agent still works.
    next.adopt().await.unwrap();
    let out = next
        .exec(&a, ExecSpec::new(["echo", "still here"]))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(
        (out.stdout, out.code),
        (vec!["still here".to_string()], Some(0))
    );
}

#[tokio::test]
async fn another_server_stops_a_named_run_a_dead_server_left_behind() {
    let t = env_or_return!(BUSYBOX_IMAGE);
    let a = id("left-run");
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let baseline = top(&t.rt, &a).await;
    let mut h =
        t.rt.exec(
            &a,
            ExecSpec::new(["sh", "-c", "sleep 2002 & echo up; wait"]).run_id("call-left"),
        )
        .await
        .unwrap();
    assert_eq!(h.events.recv().await, Some(ExecEvent::Stdout("up".into())));
    std::mem::forget(h);
    let other =
        t.rt.exec(&a, ExecSpec::new(["sleep", "2003"]).run_id("call-other"))
            .await
            .unwrap();

    // Another server (a replica), with no handle on the run, stops it by its id.
    let replica = t.restart(BUSYBOX_IMAGE).await;
    replica.stop_run(&a, "call-left").await.unwrap();
    let procs = top(&t.rt, &a).await;
    // Each line starts with a pid: match the command, never a bare number (pid 20025
    // contains "2002").
    assert!(
        !procs.iter().any(|p| p.contains("sleep 2002"))
            && procs.iter().any(|p| p.contains("sleep 2003")),
        "only the other run is left: {procs:?}"
    );
    // A run that is gone, or never was, is nothing to stop; a bad id is refused.
    replica.stop_run(&a, "call-left").await.unwrap();
    replica.stop_run(&a, "never-ran").await.unwrap();
    replica.stop_run(&id("no-such-agent"), "x").await.unwrap();
    let e = replica.stop_run(&a, "../x").await.unwrap_err();
    assert!(e.to_string().contains("only letters"), "{e}");
    other.kill().await;
    assert_eq!(top(&t.rt, &a).await, baseline);
}
