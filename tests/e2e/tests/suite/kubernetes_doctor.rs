//! `mcpd doctor` with `CODEX_MCP_RUNTIME=kubernetes` against the test cluster: every check
//! passes on a working setup, and each broken one fails (or, where the credentials cannot
//! see it, says it cannot be known) naming its fix.

use std::path::Path;
use std::time::Duration;

use codex_mcp_e2e::compose::free_port;
use codex_mcp_e2e::docker::{AGENT_IMAGE, docker_ready_or_skip};
use codex_mcp_e2e::run_mcpd;
use codex_mcp_runtime::kubernetes::doctor::ROLE_RULES;
use codex_mcp_testkit::kubernetes::{
    STORAGE_CLASS, TestNamespace, kubeconfig_with_server, kubeconfig_with_token,
};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

/// `(status, check)` of each line `mcpd doctor` printed, and the fixes of the failures.
#[derive(Debug, Default)]
struct Report {
    lines: Vec<(String, String)>,
    fixes: Vec<(String, String)>,
}

fn report(out: &str) -> Report {
    let mut r = Report::default();
    for line in out.lines() {
        let Some((head, rest)) = line.trim().split_once(": ") else {
            continue;
        };
        if head == "fix" {
            let check = r.lines.last().map(|(_, c)| c.clone()).unwrap_or_default();
            r.fixes.push((check, rest.to_string()));
        } else if let Some((status, check)) = head.split_once(' ')
            && ["ok", "FAIL", "skip", "?"].contains(&status)
        {
            r.lines.push((status.to_string(), check.trim().to_string()));
        }
    }
    r
}

fn lines(want: &[(&str, &str)]) -> Vec<(String, String)> {
    want.iter()
        .map(|(s, c)| (s.to_string(), c.to_string()))
        .collect()
}

/// The settings of a working Kubernetes setup in `ns`.
fn env(ns: &TestNamespace, data: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("CODEX_MCP_RUNTIME", "kubernetes".into()),
        ("KUBECONFIG", ns.kubeconfig.display().to_string()),
        ("CODEX_MCP_K8S_NAMESPACE", ns.name.clone()),
        ("CODEX_MCP_AGENT_IMAGE", AGENT_IMAGE.into()),
        ("CODEX_MCP_K8S_IMAGE_PULL_POLICY", "Never".into()),
        ("CODEX_MCP_K8S_STORAGE_CLASS", STORAGE_CLASS.into()),
        ("CODEX_MCP_DATA_DIR", data.display().to_string()),
        ("OPENAI_API_KEY", "sk-e2e-doctor".into()),
    ]
}

fn with(
    mut env: Vec<(&'static str, String)>,
    key: &'static str,
    value: String,
) -> Vec<(&'static str, String)> {
    env.retain(|(k, _)| *k != key);
    env.push((key, value));
    env
}

async fn doctor(env: &[(&str, String)]) -> (Option<i32>, Report, String) {
    let (code, out) = run_mcpd(&["doctor"], env, Duration::from_secs(120))
        .await
        .unwrap();
    let r = report(&out);
    (code, r, out)
}

#[tokio::test]
async fn kubernetes_doctor_passes_on_the_test_cluster_and_names_each_fix() {
    if !docker_ready_or_skip() {
        return;
    }
    let Some(ns) = TestNamespace::create() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let good = env(&ns, dir.path());

    let (code, r, out) = doctor(&good).await;
    assert_eq!(
        (code, r.lines),
        (
            Some(0),
            lines(&[
                ("ok", "Kubernetes API"),
                ("ok", "namespace"),
                ("ok", "permissions"),
                ("ok", "storage class"),
                ("ok", "agent image on a node"),
                ("ok", "data directory"),
                ("ok", "credentials"),
            ])
        ),
        "{out}"
    );

    // A ServiceAccount bound to nothing: its token.
    ns.kubectl(&["create", "serviceaccount", "nobody"]).unwrap();
    let token = ns.kubectl(&["create", "token", "nobody"]).unwrap();
    let unbound = kubeconfig_with_token(&ns.kubeconfig, &token, dir.path()).unwrap();
    let closed = format!("https://127.0.0.1:{}", free_port().unwrap());
    let unreachable = kubeconfig_with_server(&ns.kubeconfig, &closed, dir.path()).unwrap();
    let path = |p: &Path| p.display().to_string();

    let cases = [
        (
            "API unreachable",
            with(good.clone(), "KUBECONFIG", path(&unreachable)),
        ),
        (
            "no such namespace",
            with(
                good.clone(),
                "CODEX_MCP_K8S_NAMESPACE",
                format!("{}-missing", ns.name),
            ),
        ),
        (
            "no such storage class",
            with(
                good.clone(),
                "CODEX_MCP_K8S_STORAGE_CLASS",
                "codex-mcp-none".into(),
            ),
        ),
        (
            "image on no node",
            with(
                good.clone(),
                "CODEX_MCP_AGENT_IMAGE",
                "codex-mcp-agent:no-such-tag".into(),
            ),
        ),
        (
            "token without the Role",
            with(good.clone(), "KUBECONFIG", path(&unbound)),
        ),
    ];
    let mut seen = Vec::new();
    let mut fixes = Vec::new();
    for (case, env) in &cases {
        let (code, r, out) = doctor(env).await;
        // Only the cluster's checks: data directory and credentials stay fine.
        let cluster: Vec<_> = r.lines.into_iter().take(5).collect();
        seen.push((*case, code, cluster));
        fixes.push((*case, r.fixes, out));
    }
    let skip = "skip";
    assert_eq!(
        seen,
        vec![
            (
                "API unreachable",
                Some(1),
                lines(&[
                    ("FAIL", "Kubernetes API"),
                    (skip, "namespace"),
                    (skip, "permissions"),
                    (skip, "storage class"),
                    (skip, "agent image on a node"),
                ])
            ),
            (
                "no such namespace",
                Some(1),
                lines(&[
                    ("ok", "Kubernetes API"),
                    ("FAIL", "namespace"),
                    ("ok", "permissions"),
                    ("ok", "storage class"),
                    ("ok", "agent image on a node"),
                ])
            ),
            (
                "no such storage class",
                Some(1),
                lines(&[
                    ("ok", "Kubernetes API"),
                    ("ok", "namespace"),
                    ("ok", "permissions"),
                    ("FAIL", "storage class"),
                    ("ok", "agent image on a node"),
                ])
            ),
            (
                "image on no node",
                Some(1),
                lines(&[
                    ("ok", "Kubernetes API"),
                    ("ok", "namespace"),
                    ("ok", "permissions"),
                    ("ok", "storage class"),
                    ("FAIL", "agent image on a node"),
                ])
            ),
            (
                // Namespaces, storage classes and nodes are out of its sight: said, not failed.
                "token without the Role",
                Some(1),
                lines(&[
                    ("ok", "Kubernetes API"),
                    ("?", "namespace"),
                    ("FAIL", "permissions"),
                    ("?", "storage class"),
                    ("?", "agent image on a node"),
                ])
            ),
        ]
    );
    // Each failure names its fix.
    let want = [
        ("API unreachable", "Kubernetes API", "KUBECONFIG"),
        ("no such namespace", "namespace", "kubectl create namespace"),
        (
            "no such storage class",
            "storage class",
            "CODEX_MCP_K8S_STORAGE_CLASS",
        ),
        (
            "image on no node",
            "agent image on a node",
            "load codex-mcp-agent:no-such-tag on the nodes",
        ),
        (
            "token without the Role",
            "permissions",
            "deploy/kubernetes/rbac.yaml",
        ),
    ];
    for ((case, check, phrase), (seen_case, fixes, out)) in want.iter().zip(&fixes) {
        assert_eq!(case, seen_case);
        assert_eq!(fixes.len(), 1, "{case}: one failure:\n{out}");
        assert_eq!(&fixes[0].0, check, "{case}:\n{out}");
        assert!(
            fixes[0].1.contains(phrase),
            "{case}: the fix names {phrase:?}:\n{out}"
        );
    }
    // The doctor asks exactly the verbs of rbac.yaml's Role.
    let role = super::kubernetes_deploy::objects(&ns.kubeconfig, "rbac.yaml")
        .into_iter()
        .find(|o| o["kind"] == "Role")
        .unwrap();
    let in_yaml: Vec<Value> = role["rules"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|rule| {
            let group = rule["apiGroups"][0].clone();
            let verbs = rule["verbs"].clone();
            rule["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |r| json!([group, r, verbs]))
                .collect::<Vec<_>>()
        })
        .collect();
    let asked: Vec<Value> = ROLE_RULES
        .iter()
        .map(|(group, resource, verbs)| json!([group, resource, verbs]))
        .collect();
    assert_eq!(asked, in_yaml);

    // The unbound token's missing verbs are named, every one of the Role's.
    let unbound_out = &fixes[4].2;
    for verb in [
        "create pods",
        "create pods/exec",
        "delete persistentvolumeclaims",
    ] {
        assert!(unbound_out.contains(verb), "{verb} named:\n{unbound_out}");
    }
}
