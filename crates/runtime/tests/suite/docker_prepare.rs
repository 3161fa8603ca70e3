//! The preparation step before an agent's container: skipped for a new agent in mcpd's
//! own image (its new volumes take owner and mode from the image), run otherwise.

use super::docker_support;

use codex_mcp_runtime::{AgentRuntime, AgentSpec};
use docker_support::{AGENT_IMAGE, TestEnv, docker_cli, id, run};
use pretty_assertions::assert_eq;

/// Now, as `docker events --since` takes it (unix seconds with nanoseconds).
fn now() -> String {
    let t = chrono::Utc::now();
    format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos())
}

/// Names of the containers of this test created since `since` (see [`now`]).
fn created_since(t: &TestEnv, since: &str) -> Vec<String> {
    let until = chrono::Utc::now().timestamp() + 1;
    let label = t.label();
    let out = docker_cli(&[
        "events",
        "--since",
        since,
        "--until",
        &until.to_string(),
        "--filter",
        &label,
        "--filter",
        "type=container",
        "--filter",
        "event=create",
        "--format",
        "{{.Actor.Attributes.name}}",
    ])
    .expect("docker events");
    out.lines().map(str::to_owned).collect()
}

/// Owner, mode and name of the agent's volume folders, as the agent sees them (the
/// writable `/live/workspace` is the same volume, behind a folder the agent cannot open).
async fn folders(t: &TestEnv, agent: &codex_mcp_runtime::AgentId) -> Vec<String> {
    run(
        &t.rt,
        agent,
        &[
            "stat",
            "-c",
            "%n %u:%g %a",
            "/workspace",
            "/home/agent/.codex",
            "/scratch",
        ],
    )
    .await
    .stdout
}

#[tokio::test]
async fn a_new_agent_in_mcpds_image_gets_its_container_without_a_preparation_step() {
    let t = env_or_return!(AGENT_IMAGE);
    let expected = vec![
        "/workspace 1000:1000 755".to_string(),
        "/home/agent/.codex 1000:1000 700".to_string(),
        "/scratch 1000:1000 700".to_string(),
    ];
    // The first new agent of this server runs the step: it also fills (or finds filled)
    // the pinned Codex volume.
    let since = now();
    let first = id("prep-first");
    t.rt.ensure(&first, &AgentSpec::new()).await.unwrap();
    let created = created_since(&t, &since);
    assert_eq!(created.len(), 2, "the step and the agent: {created:?}");
    assert_eq!(folders(&t, &first).await, expected);

    // The next new agent: only its own container, the same owners and modes, and the
    // pinned Codex there.
    let since = now();
    let second = id("prep-second");
    t.rt.ensure(&second, &AgentSpec::new()).await.unwrap();
    let name = format!("cmt-{}-prep-second", t.run);
    assert_eq!(created_since(&t, &since), vec![name]);
    assert_eq!(folders(&t, &second).await, expected);
    let codex = run(
        &t.rt,
        &second,
        &["/opt/codex-mcp/codex/bin/codex", "--version"],
    )
    .await;
    assert_eq!(codex.code, Some(0), "{codex:?}");

    // Its data persists as before: removed and recreated, the volumes are kept (and,
    // no longer new, prepared by the step again).
    t.rt.write_file(&second, "/scratch/kept", b"yes", 0o600)
        .await
        .unwrap();
    t.rt.remove(&second, false).await.unwrap();
    let since = now();
    t.rt.ensure(&second, &AgentSpec::new()).await.unwrap();
    assert_eq!(created_since(&t, &since).len(), 2);
    assert_eq!(
        run(&t.rt, &second, &["cat", "/scratch/kept"]).await.stdout,
        vec!["yes"]
    );
    assert_eq!(folders(&t, &second).await, expected);
}
