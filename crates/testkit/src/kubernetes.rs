//! The test cluster of the Kubernetes runtime's tests: `scripts/k8s-cluster.sh up` (a
//! single-node Kubernetes 1.20 on 127.0.0.1, built once from Debian's source package and
//! cached), shared by every test of the run and left running for the next.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use crate::is_ci;

/// The storage class `scripts/k8s-cluster.sh up` creates (hostPath, test-only).
pub const STORAGE_CLASS: &str = "codex-mcp-hostpath";

/// The kubeconfig of the running test cluster, started when needed. `None` (after a loud
/// notice) when it cannot be started outside CI; under `CI=true` that panics instead, so a
/// missing cluster fails the run and never passes silently.
pub fn cluster_or_skip() -> Option<PathBuf> {
    // scripts/test.sh runs the cluster's tests in a step of their own, chosen by name
    // (CLUSTER_TESTS in scripts/test-lib.sh): a test that needs the cluster must say so.
    if let Some(test) = std::thread::current().name().filter(|n| n.contains("::")) {
        assert!(
            test.contains("kubernetes"),
            "{test} needs the Kubernetes test cluster: its path must contain `kubernetes` \
             (scripts/test.sh runs those tests once the cluster's binaries are built)"
        );
    }
    static STARTED: Mutex<Option<Result<PathBuf, String>>> = Mutex::new(None);
    let mut started = STARTED.lock().unwrap_or_else(|e| e.into_inner());
    let found = started.get_or_insert_with(up).clone();
    match found {
        Ok(path) => Some(path),
        Err(why) if is_ci() => panic!("CI=true: the Kubernetes test cluster is required: {why}"),
        Err(why) => {
            eprintln!("NOTICE: Kubernetes test skipped, no test cluster: {why}");
            None
        }
    }
}

fn up() -> Result<PathBuf, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/k8s-cluster.sh");
    // The script serialises concurrent callers (one test process per test) with a lock.
    let out = Command::new("bash")
        .arg(&script)
        .arg("up")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", script.display()))?;
    let printed = String::from_utf8_lossy(&out.stdout);
    let path = printed.lines().last().map(str::trim).unwrap_or_default();
    if !out.status.success() || path.is_empty() {
        return Err(format!(
            "scripts/k8s-cluster.sh up failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rev()
                .take(15)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    Ok(PathBuf::from(path))
}

/// Runs kubectl against the cluster of `kubeconfig`; its stdout, or an error carrying the
/// command and its stderr.
pub fn kubectl(kubeconfig: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("kubectl")
        .env("KUBECONFIG", kubeconfig)
        .args(args)
        .stdin(Stdio::null())
        .output()?;
    if !out.status.success() {
        anyhow::bail!(
            "kubectl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A copy of `kubeconfig` in `dir` whose user is `token`'s owner (a ServiceAccount's
/// token: its own reach, not the admin's).
pub fn kubeconfig_with_token(
    kubeconfig: &Path,
    token: &str,
    dir: &Path,
) -> anyhow::Result<PathBuf> {
    let token = format!("--token={}", token.trim());
    edited_copy(kubeconfig, &dir.join("kubeconfig-token"), "users", &token)
}

/// A copy of `kubeconfig` in `dir` whose API server is `server` (an address where none
/// listens, for tests of an unreachable cluster).
pub fn kubeconfig_with_server(
    kubeconfig: &Path,
    server: &str,
    dir: &Path,
) -> anyhow::Result<PathBuf> {
    let server = format!("--server={server}");
    edited_copy(
        kubeconfig,
        &dir.join("kubeconfig-server"),
        "clusters",
        &server,
    )
}

/// Copies `kubeconfig` to `copy` and sets `flag` on its first entry of `section` (`users`
/// with `kubectl config set-credentials`, `clusters` with `set-cluster`).
fn edited_copy(
    kubeconfig: &Path,
    copy: &Path,
    section: &str,
    flag: &str,
) -> anyhow::Result<PathBuf> {
    std::fs::copy(kubeconfig, copy)?;
    let path = format!("jsonpath={{.{section}[0].name}}");
    let name = kubectl(copy, &["config", "view", "-o", &path])?;
    let set = if section == "users" {
        "set-credentials"
    } else {
        "set-cluster"
    };
    kubectl(copy, &["config", set, name.trim(), flag])?;
    Ok(copy.to_path_buf())
}

/// One test's own namespace in the test cluster, deleted with everything in it (pods,
/// PVCs) when dropped, also when the test fails.
#[derive(Debug)]
pub struct TestNamespace {
    /// The namespace's name (`cmt-<pid>x<random>`).
    pub name: String,
    /// The cluster's kubeconfig.
    pub kubeconfig: PathBuf,
}

impl TestNamespace {
    /// Creates a fresh namespace; `None` when there is no cluster (see [`cluster_or_skip`]).
    pub fn create() -> Option<Self> {
        let kubeconfig = cluster_or_skip()?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let name = format!("cmt-{}x{nanos:08x}", std::process::id());
        if let Err(e) = kubectl(&kubeconfig, &["create", "namespace", &name]) {
            panic!("creating the test namespace {name}: {e:#}");
        }
        Some(Self { name, kubeconfig })
    }

    /// Runs kubectl in this namespace.
    pub fn kubectl(&self, args: &[&str]) -> anyhow::Result<String> {
        let mut all = vec!["--namespace", self.name.as_str()];
        all.extend_from_slice(args);
        kubectl(&self.kubeconfig, &all)
    }

    /// Names of the objects of `kind` (`pods`, `pvc`) in this namespace, sorted; those
    /// being deleted included.
    pub fn names(&self, kind: &str) -> Vec<String> {
        let listed = self
            .kubectl(&["get", kind, "-o", "name"])
            .unwrap_or_else(|e| panic!("listing {kind}: {e:#}"));
        let mut names: Vec<String> = listed
            .lines()
            .map(|l| l.rsplit('/').next().unwrap_or(l).to_string())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        // Not waited for: the namespace controller removes the pods and PVCs in it.
        let _ = kubectl(
            &self.kubeconfig,
            &["delete", "namespace", &self.name, "--wait=false"],
        );
    }
}
