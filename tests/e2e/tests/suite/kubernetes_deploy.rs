//! `deploy/kubernetes/` applied to the test cluster as users apply it: mcpd runs in the
//! cluster from its own image (made by `scripts/compose-up.sh` from the `mcpd` under
//! test), the kubelet's readiness probe and the test's own request find `/health`, and the
//! ServiceAccount's own token reaches its namespace's pods and nothing else.
//!
//! The manifests hard-code the namespace `codex-mcp`, so one test owns it (deleted at the
//! start and at the end).

use std::path::{Path, PathBuf};
use std::time::Duration;

use codex_mcp_e2e::compose::{build_server_image, free_port};
use codex_mcp_e2e::docker::{docker_cli, docker_ready_or_skip};
use codex_mcp_testkit::kubernetes::{
    STORAGE_CLASS, cluster_or_skip, kubeconfig_with_token, kubectl,
};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

const NAMESPACE: &str = "codex-mcp";
const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/kubernetes");
/// The manifests in the order docs/kubernetes.md applies them.
const MANIFESTS: [&str; 4] = ["namespace.yaml", "rbac.yaml", "config.yaml", "mcpd.yaml"];

/// The namespace `codex-mcp` and this test's server image, removed when dropped.
struct Deployment {
    kubeconfig: PathBuf,
    image: String,
}

impl Deployment {
    fn kubectl(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut all = vec!["--namespace", NAMESPACE];
        all.extend_from_slice(args);
        kubectl(&self.kubeconfig, &all)
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        delete_namespace(&self.kubeconfig);
        let _ = docker_cli(&["image", "rm", &self.image]);
    }
}

/// Waited for, so that the next run can create it again.
fn delete_namespace(kubeconfig: &Path) {
    let delete = [
        "delete",
        "namespace",
        NAMESPACE,
        "--ignore-not-found",
        "--timeout=180s",
    ];
    if let Err(e) = kubectl(kubeconfig, &delete) {
        eprintln!("deleting the namespace {NAMESPACE}: {e:#}");
    }
}

/// The objects of a manifest file of `deploy/kubernetes/` as JSON (kubectl parses the
/// YAML).
pub(super) fn objects(kubeconfig: &Path, file: &str) -> Vec<Value> {
    let path = format!("{DEPLOY}/{file}");
    let args = ["create", "--dry-run=client", "-o", "json", "-f", &path];
    let out = kubectl(kubeconfig, &args).unwrap_or_else(|e| panic!("{file}: {e:#}"));
    // One JSON document per object, one after the other.
    serde_json::Deserializer::from_str(&out)
        .into_iter::<Value>()
        .map(|o| o.unwrap_or_else(|e| panic!("{file}: {e}")))
        .collect()
}

/// The cluster's API server, `(host, port)`, from the kubeconfig.
fn api_server(kubeconfig: &Path) -> (String, String) {
    let args = [
        "config",
        "view",
        "--raw",
        "-o",
        "jsonpath={.clusters[0].cluster.server}",
    ];
    let server = kubectl(kubeconfig, &args).unwrap();
    let authority = server.trim().trim_start_matches("https://");
    let (host, port) = authority
        .rsplit_once(':')
        .unwrap_or_else(|| panic!("API server {server:?} without a port"));
    (host.to_string(), port.to_string())
}

/// The test-only changes a single-node loopback cluster without a network plugin needs;
/// everything else stays as the files have it.
fn for_test_cluster(object: &mut Value, image: &str, port: u16, api: &(String, String)) {
    match object["kind"].as_str() {
        Some("ConfigMap") => {
            // The host's network (below): listen on a free loopback port only.
            object["data"]["MCPD_LISTEN"] = json!(format!("127.0.0.1:{port}"));
        }
        Some("PersistentVolumeClaim") => {
            // The test cluster has no default storage class.
            object["spec"]["storageClassName"] = json!(STORAGE_CLASS);
        }
        Some("Deployment") => {
            let pod = &mut object["spec"]["template"]["spec"];
            // No network plugin: the pod shares the node's network.
            pod["hostNetwork"] = json!(true);
            // This run's image of the `mcpd` under test (a local image, never pulled).
            pod["initContainers"][0]["image"] = json!(image);
            let mcpd = &mut pod["containers"][0];
            mcpd["image"] = json!(image);
            // With the host's network the container port is the host port MCPD_LISTEN uses.
            mcpd["ports"][0]["containerPort"] = json!(port);
            // The kubelet probes the pod IP, here the node's InternalIP (not loopback: the
            // 1.20 kubelet refuses `--node-ip 127.0.0.1`); mcpd listens on 127.0.0.1 only.
            for probe in ["readinessProbe", "livenessProbe"] {
                mcpd[probe]["httpGet"]["host"] = json!("127.0.0.1");
            }
            // No kube-proxy: the `kubernetes` Service's cluster IP, which the kubelet puts
            // in KUBERNETES_SERVICE_HOST, leads nowhere; in-cluster config reaches the API
            // server on loopback instead (its certificate is valid for 127.0.0.1).
            let env = mcpd["env"].as_array_mut().unwrap();
            env.push(json!({"name": "KUBERNETES_SERVICE_HOST", "value": api.0}));
            env.push(json!({"name": "KUBERNETES_SERVICE_PORT", "value": api.1}));
        }
        _ => {}
    }
}

/// Waits up to three minutes for the Deployment's pod to be Ready (its readiness probe on
/// `/health` passed); its name.
async fn ready_pod(d: &Deployment) -> String {
    let selector = "app.kubernetes.io/name=mcpd";
    let mut last = Value::Null;
    for _ in 0..360 {
        let out = d
            .kubectl(&["get", "pods", "-l", selector, "-o", "json"])
            .unwrap();
        last = serde_json::from_str(&out).unwrap();
        for pod in last["items"].as_array().into_iter().flatten() {
            let ready = pod["status"]["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            if ready {
                return pod["metadata"]["name"].as_str().unwrap().to_string();
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let logs = d
        .kubectl(&["logs", "deployment/mcpd", "--all-containers"])
        .unwrap_or_else(|e| format!("{e:#}"));
    panic!("mcpd's pod never became Ready: {last:#}\nlogs:\n{logs}");
}

/// The HTTP status of `GET path` on the API server with the kubeconfig's credentials.
async fn status_of(client: &kube::Client, path: &str) -> u16 {
    let request = http::Request::get(path)
        .body(kube::client::Body::from(Vec::new()))
        .unwrap();
    client.send(request).await.unwrap().status().as_u16()
}

/// What the ServiceAccount may do, asked with its own token: requests and their statuses.
async fn service_account_reach(kubeconfig: &Path) -> Vec<(String, u16)> {
    // The test binary has both rustls back-ends: pick ring, as the runtime does.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let file = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
    let options = kube::config::KubeConfigOptions::default();
    let config = kube::Config::from_custom_kubeconfig(file, &options)
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let mut seen = Vec::new();
    for path in REQUESTS.iter().map(|(path, _)| path) {
        seen.push((format!("GET {path}"), status_of(&client, path).await));
    }
    seen
}

/// The requests the ServiceAccount's token makes and the answers it must get: its own
/// namespace's pods and PVCs, never a Secret (not even its own namespace's `mcpd`), nothing
/// in another namespace, nothing cluster-wide.
const REQUESTS: [(&str, u16); 10] = [
    ("/api/v1/namespaces/codex-mcp/pods", 200),
    ("/api/v1/namespaces/codex-mcp/persistentvolumeclaims", 200),
    ("/api/v1/namespaces/codex-mcp/secrets", 403),
    ("/api/v1/namespaces/codex-mcp/secrets/mcpd", 403),
    ("/api/v1/namespaces/codex-mcp/configmaps/mcpd", 403),
    ("/api/v1/namespaces/default/pods", 403),
    ("/api/v1/namespaces/kube-system/secrets", 403),
    ("/api/v1/pods", 403),
    ("/api/v1/nodes", 403),
    ("/api/v1/namespaces", 403),
];

/// Questions to `kubectl auth can-i` and their answers.
type CanI = Vec<(String, bool)>;

/// The verbs `kubectl auth can-i` (the API server's RBAC authorizer, asked through
/// impersonation) must allow the ServiceAccount: pods, exec and PVCs in its namespace;
/// no Secrets or ConfigMaps, no other namespace, nothing cluster-wide.
fn can_i_table(kubeconfig: &Path) -> (CanI, CanI) {
    let asked = [
        ("create", "pods", Some("codex-mcp")),
        ("delete", "pods", Some("codex-mcp")),
        ("create", "pods/exec", Some("codex-mcp")),
        ("create", "persistentvolumeclaims", Some("codex-mcp")),
        ("delete", "persistentvolumeclaims", Some("codex-mcp")),
        ("get", "secrets", Some("codex-mcp")),
        ("list", "secrets", Some("codex-mcp")),
        ("get", "configmaps", Some("codex-mcp")),
        ("create", "pods", Some("default")),
        ("get", "secrets", Some("kube-system")),
        ("list", "pods", None),
        ("create", "namespaces", None),
        ("get", "nodes", None),
    ];
    let can = |verb: &str, resource: &str, ns: Option<&str>| {
        let who = "--as=system:serviceaccount:codex-mcp:mcpd";
        let mut args = vec!["auth", "can-i", verb, resource, who];
        match ns {
            Some(ns) => args.extend(["--namespace", ns]),
            None => args.push("--all-namespaces"),
        }
        // `can-i` says `no` with exit status 1.
        kubectl(kubeconfig, &args).is_ok()
    };
    let label = |verb: &str, resource: &str, ns: Option<&str>| {
        format!("{verb} {resource} in {}", ns.unwrap_or("all namespaces"))
    };
    let answers = asked
        .iter()
        .map(|(v, r, ns)| (label(v, r, *ns), can(v, r, *ns)))
        .collect();
    let want = asked
        .iter()
        .map(|(v, r, ns)| {
            let own = *ns == Some(NAMESPACE) && !matches!(*r, "secrets" | "configmaps");
            (label(v, r, *ns), own)
        })
        .collect();
    (answers, want)
}

#[tokio::test]
async fn kubernetes_mcpd_deployed_from_the_manifests_answers_health_and_its_account_stays_in_its_namespace()
 {
    let Some(kubeconfig) = cluster_or_skip() else {
        return;
    };
    if !docker_ready_or_skip() {
        return;
    }
    // A previous run's leftovers.
    delete_namespace(&kubeconfig);
    let d = Deployment {
        kubeconfig: kubeconfig.clone(),
        image: format!("codex-mcp-server:k8s-e2e-{}", std::process::id()),
    };
    // mcpd's uid in the image: the manifests' runAsUser.
    build_server_image(&d.image, &[("CODEX_MCP_UID".into(), "1000".into())]).unwrap();

    let port = free_port().unwrap();
    let api = api_server(&kubeconfig);
    let mut items = Vec::new();
    for file in MANIFESTS {
        for mut object in objects(&kubeconfig, file) {
            for_test_cluster(&mut object, &d.image, port, &api);
            items.push(object);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("manifests.json");
    let list_json = json!({"apiVersion": "v1", "kind": "List", "items": items});
    std::fs::write(&list, list_json.to_string()).unwrap();
    kubectl(&kubeconfig, &["apply", "-f", list.to_str().unwrap()]).unwrap();

    // The kubelet's readiness probe passed, and the test's own request gets mcpd's answer
    // (tokens are configured, so a caller without one sees only status and version).
    let pod = ready_pod(&d).await;
    let health = reqwest::get(format!("http://127.0.0.1:{port}/health"))
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    let body: Value = health.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})
    );

    // The token mounted in mcpd's pod, used as it is.
    let token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
    let token = d
        .kubectl(&["exec", &pod, "-c", "mcpd", "--", "cat", token_file])
        .unwrap();
    let as_mcpd = kubeconfig_with_token(&kubeconfig, &token, dir.path()).unwrap();
    let want: Vec<(String, u16)> = REQUESTS
        .iter()
        .map(|(path, code)| (format!("GET {path}"), *code))
        .collect();
    assert_eq!(service_account_reach(&as_mcpd).await, want);

    let (answers, want) = can_i_table(&kubeconfig);
    assert_eq!(answers, want);

    // `mcpd doctor` in the pod, with the ServiceAccount: what its Role reaches passes
    // (the ConfigMap sets no storage class: the cluster's default); the cluster-wide
    // nodes cannot be listed, so the image on them cannot be known, which is no failure.
    let doctor = d
        .kubectl(&["exec", &pod, "-c", "mcpd", "--", "mcpd", "doctor"])
        .unwrap_or_else(|e| panic!("mcpd doctor in the pod failed: {e:#}"));
    let statuses: Vec<&str> = doctor
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .filter_map(|l| l.split_once(':').map(|(head, _)| head))
        .collect();
    assert_eq!(
        statuses,
        vec![
            "ok    Kubernetes API",
            "ok    namespace",
            "ok    permissions",
            "ok    storage class",
            "?     agent image on a node",
            "ok    data directory",
            "ok    credentials",
        ],
        "{doctor}"
    );
}
