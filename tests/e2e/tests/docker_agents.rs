//! Agent containers through `mcpd` on a real Docker engine: what one agent's Codex can see
//! of another (nothing), what `docker inspect` shows (hardening, no credentials), and
//! twenty agents at once. Codex is real and runs the commands the scripted model asks for.

use std::time::{Duration, Instant};

use codex_mcp_e2e::docker::docker_ok;
use codex_mcp_e2e::scripted::chat_answer;
use codex_mcp_e2e::{Runtime, Setup};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// A fake API key a leak would be easy to spot by.
const KEY: &str = "sk-e2e-FAKE-KEY-3b1f9c0d";

async fn docker_setup() -> Option<Setup> {
    Setup::start(
        Runtime::Docker,
        "auto",
        &[("OPENAI_API_KEY", KEY.to_string())],
    )
    .await
}

fn inspect(what: &[&str]) -> Value {
    let mut args = vec!["inspect"];
    args.extend_from_slice(what);
    serde_json::from_str(&docker_ok(&args).unwrap()).unwrap()
}

#[tokio::test]
async fn an_agent_sees_nothing_of_another_agents_files_or_processes() {
    let Some(s) = docker_setup().await else {
        return;
    };
    // B writes a secret into its workspace; its conversation lands in its Codex home.
    let b_out = s
        .run_through_codex(
            "bee",
            "printf 'B-SECRET-kumquat' > b-secret.txt && cat b-secret.txt",
        )
        .await;
    assert!(b_out.contains("B-SECRET-kumquat"), "{b_out}");
    let b_thread = s
        .model
        .responses_requests()
        .iter()
        .find_map(|r| r.thread_id().map(str::to_string))
        .unwrap();
    s.write_workspace("ant", "a-own.txt", "A-OWN").unwrap();

    let scope = s.scope();
    let b_volume = scope.volume("bee", "workspace");
    let probe = format!(
        "echo uid=$(id -u) gid=$(id -g); \
         echo ws:; ls -a /workspace; cat /workspace/b-secret.txt 2>&1; \
         echo home:; find /home/agent/.codex -name '*.jsonl' 2>&1; \
         echo search:; find / -xdev \\( -name b-secret.txt -o -name '*{b_thread}*' \\) 2>/dev/null; \
         ls /var/lib/docker/volumes/{b_volume}/_data 2>&1; \
         echo procs:; for p in /proc/[0-9]*; do \
           echo \"uid=$(stat -c %u $p) $(tr '\\0' ' ' < $p/cmdline 2>/dev/null)\"; done"
    );
    let a_out = s.run_through_codex("ant", &probe).await;

    assert!(
        a_out.contains("uid=1000 gid=1000"),
        "A runs as 1000: {a_out}"
    );
    assert!(
        a_out.contains("a-own.txt"),
        "A lists its own workspace: {a_out}"
    );
    assert!(
        a_out.contains("rollout-"),
        "A finds its own Codex home's conversation: {a_out}"
    );
    // The output is JSON text: a listed file shows as `name\n`; the failed `cat` names the
    // file but is followed by its error.
    // (The process list below shows this very probe, B's names included: only the
    // output before it counts.)
    let (found, procs) = a_out.split_once("procs:").unwrap_or((&a_out, ""));
    for leak in ["B-SECRET-kumquat", "b-secret.txt\\n", &b_thread] {
        assert!(!found.contains(leak), "A saw {leak:?} of B: {a_out}");
    }
    assert!(
        a_out.contains("No such file or directory"),
        "B's files do not exist for A: {a_out}"
    );
    assert_eq!(
        (
            procs.matches("docker-init").count(),
            procs.matches("uid=1000 sleep infinity").count()
        ),
        (1, 1),
        "A sees its own container's processes only: {procs}"
    );
    for host_process in ["dockerd", "containerd", "mcpd"] {
        assert!(
            !procs.contains(host_process),
            "A sees {host_process}: {procs}"
        );
    }
    assert!(
        procs.contains("uid=1000") && !procs.contains("uid=0"),
        "every process runs as 1000: {procs}"
    );
}

#[tokio::test]
async fn docker_inspect_shows_the_hardening_and_no_credential() {
    let Some(s) = docker_setup().await else {
        return;
    };
    s.model.push(chat_answer("hi"));
    let result = s
        .mcpd
        .call_tool("chat", json!({"message": "hi", "agent_id": "cat"}))
        .await
        .unwrap();
    assert_eq!(result.get("isError"), None, "{result}");
    assert_eq!(
        s.model.responses_requests()[0].bearer(),
        Some(KEY),
        "Codex got the key (as a file)"
    );
    let scope = s.scope();
    let container = inspect(&[&scope.container("cat")]);
    let c = &container[0];
    let host = &c["HostConfig"];
    assert_eq!(
        json!({
            "User": c["Config"]["User"],
            "CapDrop": host["CapDrop"],
            "SecurityOpt": host["SecurityOpt"],
            "ReadonlyRootfs": host["ReadonlyRootfs"],
            "Privileged": host["Privileged"],
            "PidsLimit": host["PidsLimit"],
            "NanoCpus": host["NanoCpus"],
            "Memory": host["Memory"],
            "MemorySwap": host["MemorySwap"],
            "NetworkMode": host["NetworkMode"],
            "Init": host["Init"],
        }),
        json!({
            "User": "1000:1000",
            "CapDrop": ["ALL"],
            "SecurityOpt": ["no-new-privileges:true"],
            "ReadonlyRootfs": true,
            "Privileged": false,
            "PidsLimit": 256,
            "NanoCpus": 1_000_000_000u64,
            "Memory": 1u64 << 30,
            "MemorySwap": 1u64 << 30,
            "NetworkMode": "host",
            "Init": true,
        })
    );
    let mounts = c["Mounts"].to_string();
    assert!(!mounts.contains("docker.sock"), "{mounts}");
    let top = docker_ok(&["top", &scope.container("cat"), "-eo", "pid,uid,args"]).unwrap();
    for line in top.lines().skip(1) {
        assert_eq!(line.split_whitespace().nth(1), Some("1000"), "{top}");
    }
    let mut everything = container.to_string();
    for v in scope.volumes() {
        everything.push_str(&inspect(&["--type", "volume", &v]).to_string());
    }
    assert!(
        !everything.contains("FAKE-KEY") && !everything.contains(KEY),
        "a credential shows in docker inspect"
    );
    let auth = docker_ok(&[
        "exec",
        &scope.container("cat"),
        "stat",
        "-c",
        "%a %u",
        "/home/agent/.codex/auth.json",
    ])
    .unwrap();
    assert_eq!(
        auth.trim(),
        "600 1000",
        "auth.json is a 0600 file of the agent user"
    );
}

#[tokio::test]
async fn twenty_agents_calling_at_once_all_succeed() {
    let Some(s) = docker_setup().await else {
        return;
    };
    s.model.set_fallback(chat_answer("done"));
    let started = Instant::now();
    let calls = (0..20).map(|i| {
        let agent = format!("crowd-{i:02}");
        let mcpd = &s.mcpd;
        async move {
            let r = mcpd
                .call_tool("chat", json!({"message": "hello", "agent_id": agent}))
                .await;
            (agent, r)
        }
    });
    let results = tokio::time::timeout(Duration::from_secs(240), futures::future::join_all(calls))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    eprintln!("twenty agents (new containers) answered in {elapsed:.1?}");
    let failures: Vec<String> = results
        .iter()
        .filter(|(_, r)| {
            r.as_ref().map_or(true, |v| {
                v.get("isError").is_some() || v["structuredContent"]["reply"] != "done"
            })
        })
        .map(|(a, r)| format!("{a}: {r:?}"))
        .collect();
    assert_eq!(failures, Vec::<String>::new(), "{}", s.mcpd.log());
    assert_eq!(s.scope().containers().len(), 20);
}
