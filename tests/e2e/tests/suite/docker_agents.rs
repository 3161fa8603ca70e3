//! Agent containers through `mcpd` on a real Docker engine: what one agent's Codex can see
//! of another (nothing), what `docker inspect` shows (hardening, no credentials), and
//! twenty agents at once. Codex is real and runs the commands the scripted model asks for.

use std::time::{Duration, Instant};

use codex_mcp_e2e::docker::{DockerScope, docker_ok, docker_ready_or_skip, plain_image};
use codex_mcp_e2e::scripted::chat_answer;
use codex_mcp_e2e::{Runtime, Setup};
use codex_mcp_testkit::Reply;
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
    // B has a secret in its workspace; its conversation lands in its Codex home.
    s.write_workspace("bee", "b-secret.txt", "B-SECRET-kumquat")
        .unwrap();
    let b_out = s.run_through_codex("bee", "cat b-secret.txt").await;
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

/// What a prompt injection tries against the live workspace: a direct write, a write after
/// `cd`, and a new file through a relative path from the workspace.
const ATTACK: &str = "echo pwned > /workspace/pwned; cd /workspace && echo pwned > pwned-too; \
     touch /workspace/notes.txt; ls /live/workspace; echo attack-done";

/// Builds a tool's arguments around the tag that must reach its prompt.
type ArgsFor = fn(&str) -> Value;

fn review_answer() -> Reply {
    Reply::json(json!({
        "summary": "Fine.", "verdict": "approve", "comments": [],
        "scores": [], "recommendations": []
    }))
}

fn audit_answer() -> Reply {
    Reply::json(json!({"summary": "Nothing.", "overall_risk": "low", "findings": []}))
}

fn implement_answer() -> Reply {
    Reply::json(
        json!({"diff": "", "explanation": "done", "files_changed": [], "integration_notes": []}),
    )
}

/// The agent's workspace files (names only), from a fresh container of the image.
fn workspace_files(s: &Setup, agent: &str) -> String {
    s.scope().in_workspace(agent, "ls -A /workspace").unwrap()
}

#[tokio::test]
async fn read_only_tools_cannot_change_the_live_workspace_even_in_auto_mode() {
    let Some(s) = Setup::start(Runtime::Docker, "auto", &[]).await else {
        return;
    };
    s.write_workspace("rev", "notes.txt", "original\n").unwrap();
    let tools: [(&str, ArgsFor, Reply); 3] = [
        ("review", |tag| json!({"content": tag}), review_answer()),
        ("audit", |tag| json!({"code": tag}), audit_answer()),
        ("chat", |tag| json!({"message": tag}), chat_answer("ok")),
    ];
    for (tool, args, answer) in tools {
        let (result, printed) = s.run_in_tool("rev", tool, args, answer, ATTACK).await;
        assert_eq!(result.get("isError"), None, "{tool}: {result}");
        // What Codex reports back to the model says why the writes failed.
        assert!(
            printed.contains("Read-only file system") && printed.contains("attack-done"),
            "{tool}: {printed}"
        );
        assert!(printed.contains("Permission denied"), "{tool}: {printed}");
    }
    assert_eq!(workspace_files(&s, "rev").trim(), "notes.txt");
    assert_eq!(s.read_workspace("rev", "notes.txt").unwrap(), "original\n");
}

#[tokio::test]
async fn suggest_mode_writes_only_its_scratch_copy() {
    let Some(s) = Setup::start(Runtime::Docker, "suggest", &[]).await else {
        return;
    };
    s.write_workspace("sug", "notes.txt", "old line\n").unwrap();
    let cmd = format!("printf 'new line\\n' > notes.txt; {ATTACK}");
    let (result, printed) = s
        .run_in_tool(
            "sug",
            "implement",
            |tag| json!({"task": tag, "target_files": ["notes.txt"]}),
            implement_answer(),
            &cmd,
        )
        .await;
    assert_eq!(result.get("isError"), None, "{result}");
    assert!(printed.contains("Read-only file system"), "{printed}");
    let diff = result["structuredContent"]["diff"].as_str().unwrap();
    assert!(
        diff.contains("+new line") && !diff.contains("pwned"),
        "only the scratch copy's change is in the diff: {diff}"
    );
    assert_eq!(workspace_files(&s, "sug").trim(), "notes.txt");
    assert_eq!(s.read_workspace("sug", "notes.txt").unwrap(), "old line\n");
}

#[tokio::test]
async fn auto_mode_implement_writes_the_workspace_and_leaves_nothing_with_write_access() {
    let Some(s) = Setup::start(Runtime::Docker, "auto", &[]).await else {
        return;
    };
    s.write_workspace("aut", "notes.txt", "old line\n").unwrap();
    // A process left behind by the writing run must not keep write access afterwards.
    let cmd = "printf 'new line\\n' > notes.txt; \
               (setsid sh -c 'sleep 3; echo late > late.txt' >/dev/null 2>&1 &); echo started";
    let (result, _) = s
        .run_in_tool(
            "aut",
            "implement",
            |tag| json!({"task": tag, "target_files": ["notes.txt"]}),
            implement_answer(),
            cmd,
        )
        .await;
    assert_eq!(result.get("isError"), None, "{result}");
    let diff = result["structuredContent"]["diff"].as_str().unwrap();
    assert!(diff.contains("+new line"), "{diff}");
    assert_eq!(s.read_workspace("aut", "notes.txt").unwrap(), "new line\n");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(workspace_files(&s, "aut").trim(), "notes.txt");
}

#[tokio::test]
async fn a_rewritten_codex_config_does_not_reach_the_next_turn() {
    let Some(s) = docker_setup().await else {
        return;
    };
    // The injected command points the provider at another port (and adds a notifier).
    let printed = s
        .run_through_codex(
            "cfg",
            "sed -i 's#127.0.0.1:[0-9]*#127.0.0.1:9#' $CODEX_HOME/config.toml && \
             echo 'notify = [\"sh\", \"-c\", \"echo leaked > /tmp/leak\"]' >> $CODEX_HOME/config.toml && \
             grep -c 127.0.0.1:9 $CODEX_HOME/config.toml",
        )
        .await;
    assert!(printed.contains('1'), "the config was rewritten: {printed}");
    let before = s.model.responses_requests().len();
    s.model.push(chat_answer("still here"));
    let next = s
        .mcpd
        .call_tool("chat", json!({"message": "again", "agent_id": "cfg"}))
        .await
        .unwrap();
    assert_eq!(next.get("isError"), None, "{next}\n{}", s.mcpd.log());
    assert_eq!(next["structuredContent"]["reply"], json!("still here"));
    assert!(s.model.responses_requests().len() > before);
}

#[tokio::test]
async fn changed_limits_and_network_mode_recreate_the_container_keeping_its_data() {
    let Some(mut s) = docker_setup().await else {
        return;
    };
    s.write_workspace("lim", "keep.txt", "kept\n").unwrap();
    s.model.push(chat_answer("first"));
    let first = s
        .mcpd
        .call_tool(
            "chat",
            json!({"message": "remember kumquat", "agent_id": "lim"}),
        )
        .await
        .unwrap();
    assert_eq!(first.get("isError"), None, "{first}");
    let container = s.scope().container("lim");
    let old_id = inspect(&[&container])[0]["Id"].clone();

    s.env.retain(|(k, _)| *k != "CONTAINER_MEMORY_LIMIT");
    s.env.push(("CONTAINER_MEMORY_LIMIT", "768m".into()));
    s.restart_after_crash().await.unwrap();
    let printed = s.run_through_codex("lim", "cat /workspace/keep.txt").await;
    assert!(printed.contains("kept"), "{printed}");
    let c = inspect(&[&container]);
    assert_ne!(c[0]["Id"], old_id, "the container was recreated");
    assert_eq!(c[0]["HostConfig"]["Memory"], json!(768u64 << 20));
    let resumed = s.model.responses_requests();
    assert!(
        resumed
            .last()
            .is_some_and(|r| r.user_texts().join("\n").contains("remember kumquat")),
        "the conversation went on in the recreated container"
    );
    assert!(
        s.mcpd.log().contains("CONTAINER_MEMORY_LIMIT"),
        "the log names the setting: {}",
        s.mcpd.log()
    );

    s.env.retain(|(k, _)| *k != "CONTAINER_NETWORK_MODE");
    s.env.push(("CONTAINER_NETWORK_MODE", "none".into()));
    s.restart_after_crash().await.unwrap();
    // Without a network Codex cannot reach the model: the call fails, but only after the
    // container was recreated with the tighter mode.
    let _ = s
        .mcpd
        .call_tool(
            "chat",
            json!({"message": "offline", "agent_id": "lim", "timeout_seconds": 3}),
        )
        .await;
    assert_eq!(
        inspect(&[&container])[0]["HostConfig"]["NetworkMode"],
        json!("none")
    );
    assert_eq!(s.read_workspace("lim", "keep.txt").unwrap(), "kept\n");
}

/// Issue 13: the compose deployment. Both images built locally (scripts/compose-up.sh),
/// `up -d` with the host's network, /health healthy (the image's HEALTHCHECK), the Python
/// SDK calls `chat` over /mcp and /sse, the agent's container runs beside the server's on
/// the host's engine with its volumes there, and `down` then `up` keeps the conversation.
/// Its JSON log carries the call's correlation id on every line of the call.
// Multi-threaded: the clients and compose run as blocking processes while the scripted
// model answers on the runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compose_deployment_serves_python_clients_and_keeps_the_conversation() {
    use codex_mcp_e2e::compose::{ComposeDeploy, SERVER_CONTAINER, compose_command_or_skip};
    if !codex_mcp_e2e::docker::docker_ready_or_skip() {
        return;
    }
    let Some(compose) = compose_command_or_skip() else {
        return;
    };
    let networks_before = docker_ok(&["network", "ls", "-q"]).unwrap();
    let model = codex_mcp_testkit::ScriptedModel::start().await.unwrap();
    let deploy = ComposeDeploy::prepare(compose, &model, KEY, &[("LOG_LEVEL", "info")]).unwrap();
    deploy.up().unwrap();
    let agent = "composed";

    // 1. /mcp (streamable HTTP): the first turn.
    model.push(chat_answer("noted: kumquat"));
    let first = deploy
        .chat("mcp", agent, "remember the word kumquat")
        .unwrap();
    assert_eq!(first["isError"], json!(false), "{first}\n{}", deploy.logs());
    assert_eq!(first["structuredContent"]["reply"], json!("noted: kumquat"));
    let correlation = first["meta"]["io.codex-mcp/correlationId"]
        .as_str()
        .unwrap_or_else(|| panic!("no correlation id in _meta: {first}"))
        .to_string();

    // Every log line of that call carries its correlation id (JSON lines in a container):
    // all lines from its first (the runtime starting the agent) to "codex call finished".
    let log = deploy.logs();
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let carries = |l: &Value| {
        l["spans"].as_array().is_some_and(|spans| {
            spans
                .iter()
                .any(|s| s["correlation_id"].as_str() == Some(correlation.as_str()))
        })
    };
    let first_line = lines.iter().position(carries).expect("no line of the call");
    let finished = lines
        .iter()
        .position(|l| l["fields"]["message"] == json!("codex call finished"))
        .expect("no `codex call finished` line");
    let window = &lines[first_line..=finished];
    assert!(window.len() >= 2, "{log}");
    let without: Vec<&Value> = window.iter().filter(|l| !carries(l)).collect();
    assert!(
        without.is_empty(),
        "lines of the call without {correlation}: {without:#?}"
    );
    assert!(
        window
            .iter()
            .any(|l| l["fields"]["message"] == json!("agent container started")),
        "the runtime's line is not among the call's: {window:#?}"
    );

    // 2. /sse (2024-11-05 transport): the second turn sees the first.
    model.push(chat_answer("you said kumquat"));
    let second = deploy.chat("sse", agent, "which word?").unwrap();
    assert_eq!(second["isError"], json!(false), "{second}");
    let seen = model.responses_requests();
    let last = seen.last().unwrap();
    assert!(
        last.user_texts().iter().any(|t| t.contains("kumquat")),
        "the second turn did not carry the first: {:?}",
        last.user_texts()
    );

    // The agent's container runs beside the server's, on the host's engine, with its
    // volumes there; the server container runs mcpd alone.
    assert_eq!(
        deploy.scope.containers().len(),
        1,
        "{:?}",
        deploy.scope.containers()
    );
    assert!(!deploy.scope.volumes().is_empty());
    let inside = docker_ok(&["top", SERVER_CONTAINER, "-eo", "pid,args"]).unwrap();
    assert!(
        !inside.contains("codex"),
        "Codex ran inside the server container:\n{inside}"
    );

    // mcpd is PID 1 and stops on SIGTERM: promptly and with exit code 0.
    let stopping = Instant::now();
    docker_ok(&["stop", "--time", "20", SERVER_CONTAINER]).unwrap();
    let took = stopping.elapsed();
    let exit = docker_ok(&["inspect", "-f", "{{.State.ExitCode}}", SERVER_CONTAINER]).unwrap();
    assert_eq!(exit.trim(), "0", "{}", deploy.logs());
    assert!(took < Duration::from_secs(5), "docker stop took {took:?}");
    assert!(deploy.logs().contains("mcpd stopped"), "{}", deploy.logs());

    // 3. down, then up: the data volume keeps the conversation.
    deploy.compose(&["down", "--timeout", "10"]).unwrap();
    assert_eq!(
        docker_ok(&["ps", "-aq", "-f", &format!("name=^{SERVER_CONTAINER}$")])
            .unwrap()
            .trim(),
        ""
    );
    deploy.up().unwrap();
    model.push(chat_answer("still kumquat"));
    let third = deploy.chat("mcp", agent, "and now?").unwrap();
    assert_eq!(third["isError"], json!(false), "{third}\n{}", deploy.logs());
    let seen = model.responses_requests();
    let texts = seen.last().unwrap().user_texts();
    assert!(
        texts.iter().any(|t| t.contains("kumquat"))
            && texts.iter().any(|t| t.contains("which word?")),
        "the conversation was lost across down/up: {texts:?}"
    );
    assert_eq!(
        deploy.scope.containers().len(),
        1,
        "{:?}",
        deploy.scope.containers()
    );

    // Compose created no network (host network mode only).
    assert_eq!(
        docker_ok(&["network", "ls", "-q"]).unwrap(),
        networks_before
    );
}

/// Creates `agent`'s three volumes as an unprepared image left them under an earlier
/// mcpd: the engine made them root-owned (the image has no such folders to copy the
/// owner from), and root wrote into them.
fn root_owned_volumes(scope: &DockerScope, agent: &str, image: &str) {
    let mut mounts = Vec::new();
    for (kind, target) in [
        ("workspace", "/workspace"),
        ("codex-home", "/home/agent/.codex"),
        ("scratch", "/scratch"),
    ] {
        let name = scope.volume(agent, kind);
        let labels = [
            "codex-mcp.managed=true".to_string(),
            format!("codex-mcp.agent={agent}"),
            format!("codex-mcp.volume={kind}"),
            format!("codex-mcp.instance={}", scope.instance),
        ];
        let mut args = vec!["volume", "create"];
        for l in &labels {
            args.extend(["--label", l]);
        }
        args.push(&name);
        docker_ok(&args).unwrap();
        mounts.push(format!("{name}:{target}"));
    }
    let label = format!("codex-mcp.instance={}", scope.instance);
    let mut args = vec!["run", "--rm", "--network", "none", "--label", &label];
    for m in &mounts {
        args.extend(["-v", m]);
    }
    args.extend([
        image,
        "sh",
        "-c",
        "mkdir -p /home/agent/.codex/tmp /scratch/old && echo root > /workspace/notes.txt \
         && stat -c '%u' /workspace /home/agent/.codex /scratch /home/agent/.codex/tmp",
    ]);
    let owners = docker_ok(&args).unwrap();
    assert_eq!(
        owners.split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "0", "0"]
    );
}

#[tokio::test]
async fn an_agent_whose_volumes_an_earlier_image_left_root_owned_recovers() {
    if !docker_ready_or_skip() {
        return;
    }
    let plain = plain_image().unwrap();
    let Some(s) = Setup::start(
        Runtime::Docker,
        "auto",
        &[
            ("OPENAI_API_KEY", KEY.to_string()),
            ("CODEX_MCP_AGENT_IMAGES", format!("rooty={plain}")),
        ],
    )
    .await
    else {
        return;
    };
    root_owned_volumes(s.scope(), "rooty", &plain);
    let printed = s
        .run_through_codex(
            "rooty",
            "id -u; touch /scratch/ok && echo scratch-writable; \
             stat -c '%U:%u %n' /home/agent/.codex/tmp /workspace/notes.txt; \
             ls -l /opt/codex-mcp/codex/bin/codex",
        )
        .await;
    for want in [
        "1000",
        "scratch-writable",
        ":1000 /home/agent/.codex/tmp",
        ":1000 /workspace/notes.txt",
        // mcpd's pinned Codex, read-only (the plain image has none).
        "root root",
        "/opt/codex-mcp/codex/bin/codex",
    ] {
        assert!(printed.contains(want), "{want:?} in {printed}");
    }
    let image = inspect(&[&s.scope().container("rooty")])[0]["Config"]["Image"].clone();
    assert_eq!(
        image,
        json!(plain),
        "the per-agent image from CODEX_MCP_AGENT_IMAGES"
    );
    // Another agent keeps the default image.
    s.model.push(chat_answer("default"));
    let other = s
        .mcpd
        .call_tool("chat", json!({"message": "hi", "agent_id": "plainless"}))
        .await
        .unwrap();
    assert_eq!(other.get("isError"), None, "{other}");
    let image = inspect(&[&s.scope().container("plainless")])[0]["Config"]["Image"].clone();
    assert_eq!(image, json!(codex_mcp_e2e::docker::AGENT_IMAGE));
}
