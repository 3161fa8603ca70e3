//! The test cluster of the Kubernetes runtime's tests: `scripts/k8s-cluster.sh up` (a
//! single-node Kubernetes 1.20 on 127.0.0.1, built once from Debian's source package and
//! cached), shared by every test of the run and left running for the next.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use crate::is_ci;

/// The kubeconfig of the running test cluster, started when needed. `None` (after a loud
/// notice) when it cannot be started outside CI; under `CI=true` that panics instead, so a
/// missing cluster fails the run and never passes silently.
pub fn cluster_or_skip() -> Option<PathBuf> {
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
