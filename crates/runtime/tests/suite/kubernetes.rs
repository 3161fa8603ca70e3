//! The Kubernetes backend against a real cluster (`scripts/k8s-cluster.sh`, started by
//! `codex_mcp_testkit::kubernetes`): pods from the agent image with `imagePullPolicy:
//! Never` and `hostNetwork: true` (the test cluster has no network plugin), PVCs from the
//! script's hostPath storage class. Every test works in a namespace of its own, deleted
//! with everything in it when the test ends.
//!
//! With `CI=true` a missing cluster or image fails these tests; elsewhere they print a loud
//! notice and pass vacuously.

use std::collections::BTreeMap;
use std::time::Duration;

use codex_mcp_runtime::kubernetes::{KubernetesConfig, KubernetesRuntime};
use codex_mcp_runtime::{
    AgentId, AgentRuntime, AgentSpec, AgentState, ExecEvent, ExecOutput, ExecSpec, FileToWrite,
    RuntimeError,
};
use codex_mcp_testkit::docker::{AGENT_IMAGE, docker_cli};
use codex_mcp_testkit::is_ci;
use codex_mcp_testkit::kubernetes::{STORAGE_CLASS, TestNamespace};
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod};
use kube::Api;
use kube::api::DeleteParams;
use pretty_assertions::assert_eq;

/// One test's namespace and a runtime working in it.
struct K8s {
    rt: KubernetesRuntime,
    ns: TestNamespace,
}

fn config(ns: &TestNamespace) -> KubernetesConfig {
    KubernetesConfig::default()
        .with_kubeconfig(&ns.kubeconfig)
        .with_namespace(&ns.name)
        .with_image(AGENT_IMAGE)
        .with_image_pull_policy("Never")
        .with_storage_class(Some(STORAGE_CLASS.into()))
        .with_volume_bytes(64 << 20)
        .with_limits(Some(500), Some(512 << 20))
        .with_host_network(true)
        .with_kill_grace(Duration::from_millis(500))
}

impl K8s {
    /// `None` (after a loud notice) without a cluster or the agent image, outside CI.
    async fn new() -> Option<Self> {
        if docker_cli(&["image", "inspect", "--format", "{{.Id}}", AGENT_IMAGE]).is_none() {
            let msg = format!("image {AGENT_IMAGE} missing: run scripts/build-agent-image.sh");
            assert!(!is_ci(), "{msg} (CI=true: Kubernetes tests must run)");
            eprintln!("\n!!!!!!!! SKIPPING: {msg} !!!!!!!!\n");
            return None;
        }
        let ns = TestNamespace::create()?;
        let rt = KubernetesRuntime::connect(config(&ns)).await.unwrap();
        Some(Self { rt, ns })
    }

    /// A second runtime on the same namespace, as a restarted server would make.
    async fn another_runtime(&self) -> KubernetesRuntime {
        KubernetesRuntime::connect(config(&self.ns)).await.unwrap()
    }

    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.rt.client().clone(), &self.ns.name)
    }

    fn pvcs(&self) -> Api<PersistentVolumeClaim> {
        Api::namespaced(self.rt.client().clone(), &self.ns.name)
    }

    async fn run(&self, agent: &AgentId, script: &str) -> ExecOutput {
        self.exec(agent, ExecSpec::new(["sh", "-c", script])).await
    }

    async fn exec(&self, agent: &AgentId, spec: ExecSpec) -> ExecOutput {
        self.rt.exec(agent, spec).await.unwrap().collect().await
    }

    /// Command lines of the processes in the agent's `agent` container, read from `/proc`
    /// through an exec (the reading shell itself left out).
    async fn processes(&self, agent: &AgentId) -> Vec<String> {
        let out = self
            .run(
                agent,
                "for p in /proc/[0-9]*; do case ${p#/proc/} in $$|$PPID) ;; *) \
                 tr '\\0\\n' '  ' < $p/cmdline; echo;; esac; done 2>/dev/null",
            )
            .await;
        out.stdout
            .into_iter()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty() && !l.contains("/proc/[0-9]"))
            .collect()
    }

    /// Waits (up to a minute) until no PVC is left in the namespace.
    async fn wait_no_pvcs(&self) -> Vec<String> {
        for _ in 0..300 {
            if self.ns.names("pvc").is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.ns.names("pvc")
    }
}

fn id(s: &str) -> AgentId {
    AgentId::new(s).unwrap()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn ensure_creates_a_hardened_pod_on_three_bound_pvcs() {
    let Some(t) = K8s::new().await else { return };
    let a = id("Hard.en-1");
    let env = t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let pod_name = t.rt.pod_name(&a);
    assert_eq!(
        (
            env.workspace.as_str(),
            env.codex_home.as_str(),
            env.scratch_root.as_str(),
            env.container_id.as_deref()
        ),
        (
            "/workspace",
            "/home/agent/.codex",
            "/scratch",
            Some(pod_name.as_str())
        )
    );
    assert_eq!(t.ns.names("pods"), vec![pod_name.clone()]);
    assert_eq!(t.ns.names("pvc"), sorted(t.rt.pvc_names(&a)));

    // The spec as the API server keeps it.
    let pod = t.pods().get(&pod_name).await.unwrap();
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels.get("codex-mcp.managed").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        pod.metadata
            .annotations
            .clone()
            .unwrap_or_default()
            .get("codex-mcp.agent-id")
            .map(String::as_str),
        Some("Hard.en-1")
    );
    let spec = pod.spec.unwrap();
    assert_eq!(
        (
            spec.host_network,
            spec.automount_service_account_token,
            spec.enable_service_links,
            spec.security_context
                .and_then(|s| s.seccomp_profile)
                .map(|s| s.type_),
        ),
        (
            Some(true),
            Some(false),
            Some(false),
            Some("RuntimeDefault".into())
        )
    );
    let hardening: Vec<_> = spec
        .containers
        .iter()
        .map(|c| {
            let sc = c.security_context.clone().unwrap();
            let caps = sc.capabilities.unwrap();
            let limits = c.resources.clone().unwrap().limits.unwrap();
            let requests = c.resources.clone().unwrap().requests.unwrap();
            let q =
                |m: &BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>,
                 k: &str| m.get(k).map(|q| q.0.clone());
            (
                c.name.clone(),
                c.image_pull_policy.clone(),
                (sc.run_as_user, sc.run_as_group, sc.run_as_non_root),
                (
                    sc.read_only_root_filesystem,
                    sc.allow_privilege_escalation,
                    sc.privileged,
                ),
                (caps.drop, caps.add),
                (q(&limits, "cpu"), q(&limits, "memory")),
                (q(&requests, "cpu"), q(&requests, "memory")),
            )
        })
        .collect();
    let want = |name: &str| {
        (
            name.to_string(),
            Some("Never".to_string()),
            (Some(1000), Some(1000), Some(true)),
            (Some(true), Some(false), Some(false)),
            (Some(vec!["ALL".to_string()]), None),
            (Some("500m".to_string()), Some("536870912".to_string())),
            (Some("125m".to_string()), Some("134217728".to_string())),
        )
    };
    assert_eq!(hardening, vec![want("agent"), want("writer")]);
    // The service account's token is in no container.
    let mounts: Vec<String> = spec
        .containers
        .iter()
        .flat_map(|c| c.volume_mounts.clone().unwrap_or_default())
        .map(|m| m.mount_path)
        .filter(|p| p.contains("serviceaccount"))
        .collect();
    assert_eq!(mounts, Vec::<String>::new());

    // Every PVC bound, from the test storage class.
    for name in t.rt.pvc_names(&a) {
        let c = t.pvcs().get(&name).await.unwrap();
        assert_eq!(
            (c.spec.unwrap().storage_class_name, c.status.unwrap().phase),
            (Some(STORAGE_CLASS.to_string()), Some("Bound".to_string())),
            "{name}"
        );
    }

    // Inside: the agent user, a read-only root and workspace, writable data, no token.
    let out = t
        .run(
            &a,
            "id -u; id -g; touch /etc/x 2>/dev/null || echo ro; \
             touch /workspace/w 2>/dev/null || echo ws-ro; \
             touch /home/agent/.codex/c /scratch/s /tmp/t /home/agent/.h && echo rw; \
             ls /var/run/secrets/kubernetes.io 2>/dev/null || echo no-token; \
             grep CapEff /proc/self/status",
        )
        .await;
    assert_eq!(
        out,
        ExecOutput {
            stdout: vec![
                "1000".into(),
                "1000".into(),
                "ro".into(),
                "ws-ro".into(),
                "rw".into(),
                "no-token".into(),
                "CapEff:\t0000000000000000".into(),
            ],
            stderr: vec![],
            code: Some(0),
        }
    );
    // Only a process started to write the workspace reaches its writable view.
    let out = t
        .exec(
            &a,
            ExecSpec::new([
                "sh",
                "-c",
                "id -u; touch /live/workspace/w && ls /workspace",
            ])
            .writing_workspace(),
        )
        .await;
    assert_eq!(out.stdout, vec!["1000", "w"], "{out:?}");

    let st = t.rt.status(&a).await.unwrap().unwrap();
    assert_eq!(
        (st.state, st.container_id.as_deref()),
        (AgentState::Running, Some(pod_name.as_str()))
    );
    assert!(st.memory_bytes.is_some_and(|m| m > 0), "{st:?}");
    assert_eq!(t.rt.oom_kills(&a).await.unwrap(), Some(0));
}

#[tokio::test]
async fn exec_carries_stdin_stdout_stderr_cwd_env_and_the_exit_status() {
    let Some(t) = K8s::new().await else { return };
    let a = id("io");
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();

    let spec = ExecSpec::new(["sh", "-c", "cat; echo to-stderr >&2; exit 3"])
        .stdin(b"line one\nline two\n".to_vec());
    assert_eq!(
        t.exec(&a, spec).await,
        ExecOutput {
            stdout: vec!["line one".into(), "line two".into()],
            stderr: vec!["to-stderr".into()],
            code: Some(3),
        }
    );
    // No stdin: the process sees its end at once.
    let spec = ExecSpec::new(["sh", "-c", "pwd; echo \"$FOO\"; cat; echo done"])
        .cwd("/scratch")
        .env("FOO", "bar baz");
    assert_eq!(
        t.exec(&a, spec).await,
        ExecOutput {
            stdout: vec!["/scratch".into(), "bar baz".into(), "done".into()],
            stderr: vec![],
            code: Some(0),
        }
    );
    // Output streams line by line while the process runs.
    let mut h =
        t.rt.exec(&a, ExecSpec::new(["sh", "-c", "echo first; sleep 300"]))
            .await
            .unwrap();
    assert_eq!(
        h.events.recv().await,
        Some(ExecEvent::Stdout("first".into()))
    );
    h.kill().await;
    assert_eq!(h.collect().await.code, None);

    // Files go in through stdin, with their modes; the workspace through the writer.
    t.rt.write_files(
        &a,
        &[
            FileToWrite {
                path: "/home/agent/.codex/auth.json",
                bytes: b"{\"key\": \"secret\"}",
                mode: 0o600,
            },
            FileToWrite {
                path: "/workspace/src/a.txt",
                bytes: b"in the workspace\n",
                mode: 0o644,
            },
        ],
    )
    .await
    .unwrap();
    let out = t
        .run(
            &a,
            "stat -c '%a %u %s' /home/agent/.codex/auth.json /workspace/src/a.txt; \
             cat /workspace/src/a.txt",
        )
        .await;
    assert_eq!(
        out.stdout,
        vec!["600 1000 17", "644 1000 17", "in the workspace"],
        "{out:?}"
    );
    let refused = t.rt.write_file(&a, "/etc/passwd", b"x", 0o644).await;
    assert!(
        matches!(&refused, Err(RuntimeError::PathNotAllowed { path, .. }) if path == "/etc/passwd"),
        "{refused:?}"
    );
    // An exec in an agent without a pod names the agent.
    let none = t.rt.exec(&id("nobody"), ExecSpec::new(["true"])).await;
    assert!(
        matches!(&none, Err(RuntimeError::NotFound { agent }) if agent == "nobody"),
        "{none:?}"
    );
}

#[tokio::test]
async fn cancel_kills_the_process_tree_in_the_pod() {
    let Some(t) = K8s::new().await else { return };
    let a = id("cancel");
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let mut h =
        t.rt.exec(
            &a,
            ExecSpec::new(["sh", "-c", "sleep 301 & echo started; sleep 302"]),
        )
        .await
        .unwrap();
    assert_eq!(
        h.events.recv().await,
        Some(ExecEvent::Stdout("started".into()))
    );
    let running: Vec<String> = t
        .processes(&a)
        .await
        .into_iter()
        .filter(|p| p.starts_with("sleep 30"))
        .collect();
    assert_eq!(sorted(running), vec!["sleep 301", "sleep 302"]);

    h.kill().await;
    assert_eq!(h.collect().await.code, None);
    let left: Vec<String> = t
        .processes(&a)
        .await
        .into_iter()
        .filter(|p| p.contains("sleep 30"))
        .collect();
    assert_eq!(left, Vec::<String>::new(), "the whole tree is gone");
    // Only the container's own `sleep infinity` is left.
    assert_eq!(t.processes(&a).await, vec!["sleep infinity"]);
}

#[tokio::test]
async fn idle_stop_deletes_the_pod_and_keeps_the_pvcs_and_purge_deletes_them() {
    let Some(t) = K8s::new().await else { return };
    let a = id("idle");
    let first = t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    t.rt.write_file(&a, "/workspace/keep.txt", b"kept\n", 0o644)
        .await
        .unwrap();
    let first_uid = t.pods().get(&t.rt.pod_name(&a)).await.unwrap().metadata.uid;

    t.rt.stop(&a).await.unwrap();
    assert_eq!(t.ns.names("pods"), Vec::<String>::new());
    assert_eq!(t.ns.names("pvc"), sorted(t.rt.pvc_names(&a)));
    let st = t.rt.status(&a).await.unwrap().unwrap();
    assert_eq!(st.state, AgentState::Missing);
    let listed: Vec<_> =
        t.rt.list()
            .await
            .unwrap()
            .into_iter()
            .map(|s| (s.agent.to_string(), s.state))
            .collect();
    assert_eq!(listed, vec![("idle".to_string(), AgentState::Missing)]);

    // The next call gets a new pod on the same data.
    let again = t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    assert_eq!(again.container_id, first.container_id);
    let second_uid = t.pods().get(&t.rt.pod_name(&a)).await.unwrap().metadata.uid;
    assert_ne!(second_uid, first_uid, "a new pod");
    assert_eq!(
        t.run(&a, "cat /workspace/keep.txt").await.stdout,
        vec!["kept"]
    );

    // Removing without purge keeps the data; purge deletes it.
    t.rt.remove(&a, false).await.unwrap();
    assert_eq!(t.ns.names("pods"), Vec::<String>::new());
    assert_eq!(t.ns.names("pvc"), sorted(t.rt.pvc_names(&a)));
    t.rt.remove(&a, true).await.unwrap();
    assert_eq!(t.wait_no_pvcs().await, Vec::<String>::new());
    assert_eq!(t.rt.status(&a).await.unwrap(), None);
    assert_eq!(t.rt.list().await.unwrap(), vec![]);
}

#[tokio::test]
async fn a_new_runtime_adopts_running_pods_and_stops_runs_left_behind() {
    let Some(t) = K8s::new().await else { return };
    let a = id("adopt");
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    let uid = t.pods().get(&t.rt.pod_name(&a)).await.unwrap().metadata.uid;
    // A run the previous server never ended (it was killed): its handle is never dropped.
    let mut left =
        t.rt.exec(&a, ExecSpec::new(["sh", "-c", "echo started; sleep 303"]))
            .await
            .unwrap();
    assert_eq!(
        left.events.recv().await,
        Some(ExecEvent::Stdout("started".into()))
    );

    let next = t.another_runtime().await;
    let adopted: Vec<_> = next
        .adopt()
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.agent.to_string(), s.state))
        .collect();
    assert_eq!(adopted, vec![("adopt".to_string(), AgentState::Running)]);
    let left_over: Vec<String> = t
        .processes(&a)
        .await
        .into_iter()
        .filter(|p| p.contains("sleep 303"))
        .collect();
    assert_eq!(
        left_over,
        Vec::<String>::new(),
        "the left-behind run was stopped"
    );
    // The old run's stream ends (killed: no exit status of its own).
    assert_ne!(left.collect().await.code, Some(0));

    // The new runtime carries on with the same pod.
    next.ensure(&a, &AgentSpec::new()).await.unwrap();
    assert_eq!(
        t.pods().get(&t.rt.pod_name(&a)).await.unwrap().metadata.uid,
        uid
    );
    let out = next
        .exec(&a, ExecSpec::new(["echo", "still here"]))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(out.stdout, vec!["still here"]);
}

#[tokio::test]
async fn a_pod_deleted_mid_exec_ends_the_exec_and_the_next_ensure_makes_a_new_pod() {
    let Some(t) = K8s::new().await else { return };
    let a = id("gone");
    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    t.rt.write_file(&a, "/workspace/keep.txt", b"kept\n", 0o644)
        .await
        .unwrap();
    let mut h =
        t.rt.exec(&a, ExecSpec::new(["sh", "-c", "echo started; sleep 304"]))
            .await
            .unwrap();
    assert_eq!(
        h.events.recv().await,
        Some(ExecEvent::Stdout("started".into()))
    );
    t.pods()
        .delete(&t.rt.pod_name(&a), &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    let out = h.collect().await;
    assert!(
        !matches!(out.code, Some(0)),
        "a run whose pod was deleted did not succeed: {out:?}"
    );
    // The agent now reads as gone (its data kept), so a server can say what happened.
    let mut state = None;
    for _ in 0..150 {
        state = t.rt.status(&a).await.unwrap().map(|s| s.state);
        if state != Some(AgentState::Running) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        matches!(state, Some(AgentState::Missing | AgentState::Stopped)),
        "{state:?}"
    );

    t.rt.ensure(&a, &AgentSpec::new()).await.unwrap();
    assert_eq!(
        t.run(&a, "cat /workspace/keep.txt").await.stdout,
        vec!["kept"]
    );
}

#[tokio::test]
async fn an_image_the_node_does_not_have_fails_naming_it_and_leaves_no_pod() {
    let Some(t) = K8s::new().await else { return };
    let rt = KubernetesRuntime::connect(config(&t.ns).with_image("codex-mcp-no-such-image:0"))
        .await
        .unwrap();
    let a = id("noimage");
    let err = rt.ensure(&a, &AgentSpec::new()).await.unwrap_err();
    assert!(
        matches!(&err, RuntimeError::ImageMissing { image } if image == "codex-mcp-no-such-image:0"),
        "{err:?}"
    );
    assert_eq!(t.ns.names("pods"), Vec::<String>::new());
}
