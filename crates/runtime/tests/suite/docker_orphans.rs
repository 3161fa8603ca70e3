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
