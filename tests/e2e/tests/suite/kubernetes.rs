//! `mcpd` out of the cluster with `CODEX_MCP_RUNTIME=kubernetes`: every agent a pod of
//! the test cluster (`scripts/k8s-cluster.sh`), the real Codex in it, the scripted model on
//! 127.0.0.1 (reachable from `hostNetwork` pods). Pods and PVCs are checked through the
//! API (kubectl). The tools themselves run on the cluster in `codex_tools` and
//! `cancellation`, the restart after a SIGKILL in `docker_faults` (their `kubernetes::`
//! tests).

use std::time::Duration;

use codex_mcp_e2e::scripted::chat_answer;
use codex_mcp_e2e::{Runtime, Setup};
use pretty_assertions::assert_eq;
use serde_json::json;

async fn kube_setup(approval: &str, extra: &[(&'static str, String)]) -> Option<Setup> {
    Setup::start(Runtime::Kubernetes, approval, extra).await
}

/// Waits up to a minute for `check` to hold; the last value it saw otherwise.
async fn eventually<T: PartialEq + std::fmt::Debug>(want: T, look: impl FnMut() -> T) {
    eventually_or(want, look, String::new).await;
}

/// [`eventually`], with `explain()` (say, what mcpd logged meanwhile) in the failure.
async fn eventually_or<T: PartialEq + std::fmt::Debug>(
    want: T,
    mut look: impl FnMut() -> T,
    explain: impl FnOnce() -> String,
) {
    let mut seen = look();
    for _ in 0..300 {
        if seen == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        seen = look();
    }
    assert_eq!(seen, want, "{}", explain());
}

#[tokio::test]
async fn an_agent_is_a_hardened_pod_that_gets_no_credential_in_its_spec() {
    const KEY: &str = "sk-e2e-FAKE-KEY-k8s-5e1d";
    let Some(s) = kube_setup("auto", &[("OPENAI_API_KEY", KEY.to_string())]).await else {
        return;
    };
    s.model.push(chat_answer("hi"));
    let result = s.chat("cat", "hi").await;
    assert_eq!(result.get("isError"), None, "{result}\n{}", s.mcpd.log());
    assert_eq!(
        s.model.responses_requests()[0].bearer(),
        Some(KEY),
        "Codex in the pod got the key (as a file) and reached the model on 127.0.0.1"
    );
    let kube = s.kube();
    assert_eq!(kube.ns.names("pods"), vec![kube.pod("cat")]);
    assert_eq!(kube.ns.names("pvc"), kube.pvcs("cat"));
    let pod = kube.pod_json("cat").unwrap();
    let spec = &pod["spec"];
    let c = &spec["containers"][0];
    assert_eq!(
        json!({
            "hostNetwork": spec["hostNetwork"],
            "automountServiceAccountToken": spec["automountServiceAccountToken"],
            "seccomp": spec["securityContext"]["seccompProfile"]["type"],
            "runAsUser": c["securityContext"]["runAsUser"],
            "runAsNonRoot": c["securityContext"]["runAsNonRoot"],
            "readOnlyRootFilesystem": c["securityContext"]["readOnlyRootFilesystem"],
            "allowPrivilegeEscalation": c["securityContext"]["allowPrivilegeEscalation"],
            "drop": c["securityContext"]["capabilities"]["drop"],
            "limits": c["resources"]["limits"],
            "labels": {
                "managed": pod["metadata"]["labels"]["codex-mcp.managed"],
                "instance": pod["metadata"]["labels"]["codex-mcp.instance"],
            },
        }),
        json!({
            "hostNetwork": true,
            "automountServiceAccountToken": false,
            "seccomp": "RuntimeDefault",
            "runAsUser": 1000,
            "runAsNonRoot": true,
            "readOnlyRootFilesystem": true,
            "allowPrivilegeEscalation": false,
            "drop": ["ALL"],
            "limits": {"cpu": "500m", "memory": "1073741824"},
            "labels": {"managed": "true", "instance": "e2e"},
        })
    );
    // The key is in no object of the namespace: not the pod, not a Secret or ConfigMap.
    let everything = kube
        .ns
        .kubectl(&["get", "pods,secrets,configmaps,pvc", "-o", "json"])
        .unwrap();
    assert!(!everything.contains(KEY), "the key leaked into the API");
    // It is in the Codex home of the pod (where Codex reads it), readable by the agent only.
    let auth = kube
        .in_pod("cat", "stat -c '%a %u' /home/agent/.codex/auth.json", false)
        .unwrap();
    assert_eq!(auth, "600 1000");
}

#[tokio::test]
async fn a_pod_deleted_during_a_call_fails_that_call_and_the_next_call_works() {
    let Some(s) = kube_setup("auto", &[]).await else {
        return;
    };
    s.write_keep_file("dev").await;
    let before = s.environment_id("dev");

    let pod = s.kube().pod("dev");
    let text = s
        .chat_interrupted_by("dev", || {
            let delete = [
                "delete",
                "pod",
                &pod,
                "--grace-period=0",
                "--force",
                "--wait=false",
            ];
            s.kube().ns.kubectl(&delete).unwrap();
        })
        .await;
    assert!(
        text.contains("pod") && text.contains("stopped during the call"),
        "a clear error: {text}"
    );

    s.assert_keep_file_seen_by_codex("dev").await;
    assert_ne!(
        s.environment_id("dev"),
        before,
        "a new pod on the same PVCs"
    );
    assert_eq!(s.kube().ns.names("pvc"), s.kube().pvcs("dev"));
}

#[tokio::test]
async fn an_idle_agents_pod_is_deleted_its_pvcs_kept_and_purge_deletes_them() {
    let Some(s) = kube_setup("auto", &[("SESSION_TIMEOUT", "1".into())]).await else {
        return;
    };
    s.write_keep_file("dev").await;
    let kube = s.kube();
    // Idle: the pod goes, the PVCs stay.
    eventually(Vec::<String>::new(), || kube.ns.names("pods")).await;
    // mcpd says so once its own wait for the pod's end is over, which may be a poll
    // after the API stopped listing it.
    let said = || s.mcpd.log().contains("after SESSION_TIMEOUT without calls");
    let stops = || {
        let log = s.mcpd.log();
        let lines: Vec<&str> = log
            .lines()
            .filter(|l| l.contains("environment") || l.contains("pod"))
            .collect();
        format!("mcpd's lines about stopping:\n{}", lines.join("\n"))
    };
    eventually_or(true, said, stops).await;
    assert_eq!(kube.ns.names("pvc"), kube.pvcs("dev"));
    // The next call gets a new pod on the same data.
    s.assert_keep_file_seen_by_codex("dev").await;

    // Purge: pod and PVCs deleted.
    let cleaned = s
        .mcpd
        .call_tool(
            "cleanup_inactive_agents",
            json!({"idle_seconds": 0, "purge": true}),
        )
        .await
        .unwrap();
    assert_eq!(
        cleaned["structuredContent"]["removed"][0]["agent_id"],
        json!("dev"),
        "{cleaned}"
    );
    assert_eq!(kube.ns.names("pods"), Vec::<String>::new());
    eventually(Vec::<String>::new(), || kube.ns.names("pvc")).await;
}
