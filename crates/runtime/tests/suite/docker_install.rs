//! Files installed into an agent's Codex home while another process of the agent reads
//! them (two replicas, or two conversations, serving one agent): the reader always finds
//! the whole file, readable by the agent's user. A plain archive upload recreates each
//! file as root before handing it over, so a reader then saw "Permission denied", a
//! missing or an empty file.

use super::docker_support;

use codex_mcp_runtime::{AgentRuntime, AgentSpec, ExecEvent, ExecSpec, FileToWrite};
use docker_support::{BUSYBOX_IMAGE, TestEnv, id, run, run_spec};
use pretty_assertions::assert_eq;

const CONFIG: &str = "/home/agent/.codex/config.toml";
const SCHEMA: &str = "/home/agent/.codex/codex-mcp/schemas/chat.json";

/// Reads both files in a tight loop until `/tmp/stop` appears; prints how many reads
/// failed or saw anything but the one line each file holds.
const READER: &str = r#"bad=0; n=0
echo reading
while [ ! -e /tmp/stop ]; do
  for f in "$1" "$2"; do
    l=; { read -r l < "$f"; } 2>/dev/null
    [ "$l" = "$3" ] || bad=$((bad+1))
  done
  n=$((n+1))
done
echo "reads=$n bad=$bad""#;

#[tokio::test]
async fn files_staged_for_a_run_replace_their_targets_in_one_step() {
    let t = env_or_return!(BUSYBOX_IMAGE);
    let a = id("installs");
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let line = "model = \"m\"";
    let text = format!("{line}\n");
    let files = [
        FileToWrite {
            path: CONFIG,
            bytes: text.as_bytes(),
            mode: 0o600,
        },
        FileToWrite {
            path: SCHEMA,
            bytes: text.as_bytes(),
            mode: 0o600,
        },
    ];
    // The first install: the schema's folder does not exist yet.
    let staged = t.rt.stage_files(&a, "run-0", &files).await.unwrap();
    assert!(staged.is_some(), "Docker stages files in the Codex home");
    let out = run_spec(
        &t.rt,
        &a,
        ExecSpec::new(["cat", CONFIG, SCHEMA]).staged(staged),
    )
    .await;
    assert_eq!(
        (out.stdout, out.code),
        (vec![line.to_string(), line.to_string()], Some(0))
    );

    let mut reader =
        t.rt.exec(
            &a,
            ExecSpec::new(["sh", "-c", READER, "reader", CONFIG, SCHEMA, line]),
        )
        .await
        .unwrap();
    assert_eq!(
        reader.events.recv().await,
        Some(ExecEvent::Stdout("reading".into()))
    );
    // Runs installing the same files again and again, as turns of other replicas do.
    for i in 1..=40 {
        let run_id = format!("run-{i}");
        let staged = t.rt.stage_files(&a, &run_id, &files).await.unwrap();
        let spec = ExecSpec::new(["true"]).run_id(run_id).staged(staged);
        let out = run_spec(&t.rt, &a, spec).await;
        assert_eq!(out.code, Some(0), "run {i}: {:?}", out.stderr);
    }
    assert_eq!(run(&t.rt, &a, &["touch", "/tmp/stop"]).await.code, Some(0));
    let mut report = String::new();
    while let Some(event) = reader.events.recv().await {
        if let ExecEvent::Stdout(l) = event {
            report = l;
        }
    }
    assert!(report.ends_with(" bad=0"), "{report}");
    // Nothing staged is left behind, and the files belong to the agent.
    let o = run(
        &t.rt,
        &a,
        &[
            "sh",
            "-c",
            "find /home/agent/.codex -name '*codex-mcp-[0-9]*' -o -name 'f[0-9]*'; stat -c '%a %u' \"$0\" \"$1\"",
            CONFIG,
            SCHEMA,
        ],
    )
    .await;
    assert_eq!(o.stdout, vec!["600 1000", "600 1000"]);
}

/// Files the run cannot carry in (here: not of mode 0600) are uploaded beside their
/// targets instead and moved into place by the run, with the same guarantees.
#[tokio::test]
async fn files_a_run_cannot_carry_are_uploaded_and_moved_into_place() {
    let t = env_or_return!(BUSYBOX_IMAGE);
    let a = id("uploads");
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let files = [FileToWrite {
        path: SCHEMA,
        bytes: b"{}",
        mode: 0o640,
    }];
    let staged = t.rt.stage_files(&a, "run-1", &files).await.unwrap();
    let script =
        "cat \"$0\"; echo; stat -c '%a %u' \"$0\"; ls -A /home/agent/.codex/codex-mcp/staged";
    let out = run_spec(
        &t.rt,
        &a,
        ExecSpec::new(["sh", "-c", script, SCHEMA])
            .run_id("run-1")
            .staged(staged),
    )
    .await;
    assert_eq!(
        (out.stdout, out.code),
        (vec!["{}".to_string(), "640 1000".to_string()], Some(0))
    );
}
