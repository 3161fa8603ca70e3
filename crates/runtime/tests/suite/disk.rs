//! `disk_usage` on both backends: a file of known size written into an agent's
//! workspace or Codex home shows up in the figure, within what the file system adds for
//! folders and block rounding.

use std::ops::Range;
use std::time::{Duration, Instant};

use codex_mcp_runtime::{AgentRuntime, AgentSpec, DiskUsage};

use super::docker_support::{AGENT_IMAGE, TestEnv, id};
use super::local::runtime_with_project;

/// Three MiB of bytes that no file system compresses away.
fn payload() -> Vec<u8> {
    (0..3u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// What a 3 MiB file (plus at most two new folders) may add to the figure.
const GROWTH: Range<u64> = (3 << 20)..(3 << 20) + (64 << 10);

fn grown(before: DiskUsage, after: DiskUsage) -> u64 {
    assert!(before.complete && after.complete, "{before:?} {after:?}");
    after.bytes - before.bytes
}

#[tokio::test]
async fn local_disk_use_counts_the_agents_folders_and_its_host_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let (rt, _roots, project) = runtime_with_project(&dir);
    let (own, bound) = (id("disk-own"), id("disk-bound"));
    assert_eq!(rt.disk_usage(&own).await.unwrap(), None, "unknown agent");

    let env = rt.ensure(&own, &AgentSpec::new()).await.unwrap();
    let before = rt.disk_usage(&own).await.unwrap().unwrap();
    let path = format!("{}/sub/big.bin", env.workspace);
    rt.write_file(&own, &path, &payload(), 0o600).await.unwrap();
    let started = Instant::now();
    let after = rt.disk_usage(&own).await.unwrap().unwrap();
    eprintln!(
        "local disk_usage: {after:?} in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let growth = grown(before, after);
    assert!(
        GROWTH.contains(&growth),
        "a 3 MiB file added {growth} bytes"
    );
    // A stopped agent's folders still take room.
    rt.stop(&own).await.unwrap();
    assert_eq!(rt.disk_usage(&own).await.unwrap(), Some(after));

    // A host folder used as the workspace counts too.
    rt.ensure(&bound, &AgentSpec::new().with_workspace_host_path(&project))
        .await
        .unwrap();
    let before = rt.disk_usage(&bound).await.unwrap().unwrap();
    std::fs::write(project.join("big.bin"), payload()).unwrap();
    let after = rt.disk_usage(&bound).await.unwrap().unwrap();
    let growth = grown(before, after);
    assert!(
        GROWTH.contains(&growth),
        "a 3 MiB file added {growth} bytes"
    );
}

#[tokio::test]
async fn docker_disk_use_counts_the_agents_volumes_while_it_runs() {
    let t = env_or_return!(AGENT_IMAGE);
    let a = id("disk");
    assert_eq!(t.rt.disk_usage(&a).await.unwrap(), None, "unknown agent");
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let before = t.rt.disk_usage(&a).await.unwrap().unwrap();
    t.rt.write_file(&a, "/workspace/sub/big.bin", &payload(), 0o644)
        .await
        .unwrap();
    let started = Instant::now();
    let after = t.rt.disk_usage(&a).await.unwrap().unwrap();
    eprintln!(
        "docker disk_usage: {after:?} in {:.1} ms",
        started.elapsed().as_secs_f64() * 1e3
    );
    let growth = grown(before, after);
    assert!(
        GROWTH.contains(&growth),
        "a 3 MiB file added {growth} bytes"
    );
    // The Codex home counts too.
    t.rt.write_file(
        &a,
        "/home/agent/.codex/sessions/big.jsonl",
        &payload(),
        0o600,
    )
    .await
    .unwrap();
    let more = t.rt.disk_usage(&a).await.unwrap().unwrap();
    let growth = grown(after, more);
    assert!(
        GROWTH.contains(&growth),
        "a 3 MiB file added {growth} bytes"
    );
    // A stopped container cannot be asked: no figure, no error.
    t.rt.stop(&a).await.unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(30), t.rt.disk_usage(&a))
        .await
        .unwrap();
    assert_eq!(stopped.unwrap(), None);
}
