//! What `mcpd doctor` checks of a cluster before agents run there: the API answers, the
//! namespace exists, the credentials may do what the runtime does (the Role of
//! `deploy/kubernetes/rbac.yaml`), the storage class exists, a node has the agent image.
//! Each check says what it found, or what is wrong and how to fix it.

use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{Namespace, Node, PersistentVolumeClaim};
use k8s_openapi::api::storage::v1::StorageClass;
use kube::api::{ListParams, PostParams};
use kube::{Api, Client};

use super::{KubernetesConfig, KubernetesRuntime};

/// The permissions of `deploy/kubernetes/rbac.yaml`'s Role `mcpd-agents`, in its order:
/// `(API group, resource, verbs)`. Keep the two in step.
pub const ROLE_RULES: &[(&str, &str, &[&str])] = &[
    ("", "pods", &["get", "list", "watch", "create", "delete"]),
    ("", "pods/exec", &["create", "get"]),
    (
        "",
        "persistentvolumeclaims",
        &["get", "list", "create", "delete"],
    ),
    (
        "coordination.k8s.io",
        "leases",
        &["get", "list", "create", "update", "delete"],
    ),
];

/// The name of each check, as `mcpd doctor` prints it.
pub mod names {
    /// The API server answers.
    pub const API: &str = "Kubernetes API";
    /// The namespace exists.
    pub const NAMESPACE: &str = "namespace";
    /// The Role's permissions.
    pub const PERMISSIONS: &str = "permissions";
    /// The storage class exists.
    pub const STORAGE_CLASS: &str = "storage class";
    /// A node has the agent image.
    pub const IMAGE: &str = "agent image on a node";
}

/// One check's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Fine; what was found.
    Ok(String),
    /// Broken; what is wrong and how to fix it.
    Fail {
        /// What is wrong.
        problem: String,
        /// How to fix it.
        fix: String,
    },
    /// Cannot be known with these credentials (not a failure); why.
    Unknown(String),
    /// Not checked, because an earlier check failed.
    Skipped(&'static str),
}

/// A named check and its outcome.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Check {
    /// One of [`names`].
    pub name: &'static str,
    /// What it found.
    pub outcome: Outcome,
}

fn check(name: &'static str, outcome: Outcome) -> Check {
    Check { name, outcome }
}

fn fail(problem: impl Into<String>, fix: impl Into<String>) -> Outcome {
    Outcome::Fail {
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// Runs every check against the cluster of `cfg`. Never fails itself: every problem is
/// a check's outcome.
pub async fn doctor(cfg: KubernetesConfig) -> Vec<Check> {
    let rt = match KubernetesRuntime::connect(cfg.clone()).await {
        Ok(rt) => rt,
        Err(e) => {
            let needs = Outcome::Skipped("needs the API");
            return vec![
                check(
                    names::API,
                    fail(
                        e.to_string(),
                        "point KUBECONFIG at the cluster's kubeconfig (in a pod: mount the service account's token and set KUBERNETES_SERVICE_HOST/PORT); `kubectl version` must answer with the same configuration",
                    ),
                ),
                check(names::NAMESPACE, needs.clone()),
                check(names::PERMISSIONS, needs.clone()),
                check(names::STORAGE_CLASS, needs.clone()),
                check(names::IMAGE, needs),
            ];
        }
    };
    let client = rt.client().clone();
    let version = match client.apiserver_version().await {
        Ok(v) => format!("answers, Kubernetes {}", v.git_version),
        Err(e) => format!("answers ({e})"),
    };
    vec![
        check(names::API, Outcome::Ok(version)),
        check(names::NAMESPACE, namespace(&client, &cfg.namespace).await),
        check(
            names::PERMISSIONS,
            permissions(&client, &cfg.namespace).await,
        ),
        check(names::STORAGE_CLASS, storage_class(&client, &cfg).await),
        check(names::IMAGE, image(&client, &cfg).await),
    ]
}

fn status_of(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

/// The namespace exists: read it, or, where namespaces may not be read (mcpd's own Role),
/// a dry-run PVC creation in it, which the API refuses with 404 when it is missing.
async fn namespace(client: &Client, ns: &str) -> Outcome {
    let missing = || {
        fail(
            format!("namespace {ns} does not exist"),
            format!(
                "create it (kubectl apply -f deploy/kubernetes/namespace.yaml, or kubectl create namespace {ns}), or set CODEX_MCP_K8S_NAMESPACE to an existing one"
            ),
        )
    };
    let read = Api::<Namespace>::all(client.clone()).get_opt(ns).await;
    match read {
        Ok(Some(_)) => return Outcome::Ok(format!("{ns} exists")),
        Ok(None) => return missing(),
        Err(e) if status_of(&e) == Some(403) => {}
        Err(e) => {
            return fail(
                format!("reading namespace {ns}: {e}"),
                "check the API server",
            );
        }
    }
    let probe: PersistentVolumeClaim = match serde_json::from_value(serde_json::json!({
        "metadata": {"generateName": "codex-mcp-doctor-"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}}},
    })) {
        Ok(p) => p,
        Err(e) => return fail(format!("building a probe: {e}"), "report this bug"),
    };
    let dry_run = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let pvcs = Api::<PersistentVolumeClaim>::namespaced(client.clone(), ns);
    match pvcs.create(&dry_run, &probe).await {
        Ok(_) => Outcome::Ok(format!("{ns} exists (a dry-run PVC creation in it passed)")),
        Err(e) if status_of(&e) == Some(404) => missing(),
        Err(e) => Outcome::Unknown(format!(
            "cannot be known: reading namespace {ns} and creating PVCs in it are both refused ({e})"
        )),
    }
}

/// Every verb of the Role, asked of the API server's authorizer for these credentials.
async fn permissions(client: &Client, ns: &str) -> Outcome {
    let reviews = Api::<SelfSubjectAccessReview>::all(client.clone());
    let mut missing = Vec::new();
    let mut asked = 0;
    for (group, resource, verbs) in ROLE_RULES {
        let (resource, subresource) = match resource.split_once('/') {
            Some((r, s)) => (r, Some(s.to_string())),
            None => (*resource, None),
        };
        for verb in *verbs {
            asked += 1;
            let review = SelfSubjectAccessReview {
                spec: SelfSubjectAccessReviewSpec {
                    resource_attributes: Some(ResourceAttributes {
                        group: Some((*group).to_string()),
                        namespace: Some(ns.to_string()),
                        resource: Some(resource.to_string()),
                        subresource: subresource.clone(),
                        verb: Some((*verb).to_string()),
                        ..ResourceAttributes::default()
                    }),
                    ..SelfSubjectAccessReviewSpec::default()
                },
                ..SelfSubjectAccessReview::default()
            };
            let what = match &subresource {
                Some(s) => format!("{verb} {resource}/{s}"),
                None => format!("{verb} {resource}"),
            };
            match reviews.create(&PostParams::default(), &review).await {
                Ok(r) if r.status.as_ref().is_some_and(|s| s.allowed) => {}
                Ok(_) => missing.push(what),
                Err(e) => missing.push(format!("{what} (not asked: {e})")),
            }
        }
    }
    if missing.is_empty() {
        return Outcome::Ok(format!("all {asked} verbs of the Role in {ns}"));
    }
    fail(
        format!("not allowed in {ns}: {}", missing.join(", ")),
        format!(
            "bind the Role of deploy/kubernetes/rbac.yaml (mcpd-agents) to the user or ServiceAccount mcpd runs as, in namespace {ns} (kubectl apply -f deploy/kubernetes/rbac.yaml)"
        ),
    )
}

/// The configured storage class exists (storage classes are cluster-wide: mcpd's Role
/// may not read them, which is said, not failed).
async fn storage_class(client: &Client, cfg: &KubernetesConfig) -> Outcome {
    let Some(class) = &cfg.storage_class else {
        return Outcome::Ok("none set: the PVCs get the cluster's default class".into());
    };
    match Api::<StorageClass>::all(client.clone())
        .get_opt(class)
        .await
    {
        Ok(Some(sc)) => Outcome::Ok(format!("{class} exists ({})", sc.provisioner)),
        Ok(None) => fail(
            format!("storage class {class} does not exist"),
            "set CODEX_MCP_K8S_STORAGE_CLASS to one of `kubectl get storageclass`, or unset it for the cluster's default",
        ),
        Err(e) if status_of(&e) == Some(403) => Outcome::Unknown(format!(
            "cannot be known: reading storage classes is forbidden for these credentials (the first agent's PVCs show it; {class} must exist)"
        )),
        Err(e) => fail(
            format!("reading storage class {class}: {e}"),
            "check the API server",
        ),
    }
}

/// Whether `listed` (a name in a node's `status.images`) is `image`: the same reference,
/// or the same with the registry and `library/` Docker adds, or with the `:latest` tag.
fn same_image(listed: &str, image: &str) -> bool {
    let full = |name: &str| {
        let tagged = if name
            .rsplit('/')
            .next()
            .is_some_and(|n| n.contains(':') || n.contains('@'))
        {
            name.to_string()
        } else {
            format!("{name}:latest")
        };
        let first = tagged.split('/').next().unwrap_or_default();
        let has_registry = tagged.contains('/')
            && (first.contains('.') || first.contains(':') || first == "localhost");
        match (has_registry, tagged.contains('/')) {
            (true, _) => tagged,
            (false, true) => format!("docker.io/{tagged}"),
            (false, false) => format!("docker.io/library/{tagged}"),
        }
    };
    full(listed) == full(image)
}

/// A node has the agent image (nodes are cluster-wide: when they may not be listed,
/// that is said, not failed). Missing everywhere fails only with pull policy `Never`:
/// otherwise the kubelet pulls it.
async fn image(client: &Client, cfg: &KubernetesConfig) -> Outcome {
    let image = &cfg.image;
    let nodes = match Api::<Node>::all(client.clone())
        .list(&ListParams::default())
        .await
    {
        Ok(n) => n.items,
        Err(e) if status_of(&e) == Some(403) => {
            return Outcome::Unknown(format!(
                "cannot be known: listing nodes is forbidden for these credentials (the first agent's pod shows whether {image} can be had)"
            ));
        }
        Err(e) => return fail(format!("listing nodes: {e}"), "check the API server"),
    };
    let with: Vec<String> = nodes
        .iter()
        .filter(|n| {
            n.status
                .as_ref()
                .and_then(|s| s.images.as_ref())
                .into_iter()
                .flatten()
                .flat_map(|i| i.names.iter().flatten())
                .any(|name| same_image(name, image))
        })
        .filter_map(|n| n.metadata.name.clone())
        .collect();
    if !with.is_empty() {
        return Outcome::Ok(format!(
            "{image} is on {} of {} node(s): {}",
            with.len(),
            nodes.len(),
            with.join(", ")
        ));
    }
    let fix = format!(
        "load {image} on the nodes (scripts/build-agent-image.sh on a Docker node, or docker save | ctr images import), or push it to a registry the nodes pull from and set CODEX_MCP_AGENT_IMAGE and CODEX_MCP_K8S_IMAGE_PULL_POLICY=IfNotPresent"
    );
    if cfg.image_pull_policy == "Never" {
        return fail(
            format!(
                "{image} is on none of the {} node(s), and CODEX_MCP_K8S_IMAGE_PULL_POLICY=Never forbids pulling it",
                nodes.len()
            ),
            fix,
        );
    }
    Outcome::Unknown(format!(
        "{image} is on none of the {} node(s) yet: the kubelet will pull it (pull policy {})",
        nodes.len(),
        cfg.image_pull_policy
    ))
}

#[cfg(test)]
mod tests {
    use super::same_image;

    #[test]
    fn image_names_match_as_docker_spells_them() {
        let cases = [
            ("codex-mcp-agent:latest", "codex-mcp-agent:latest", true),
            ("codex-mcp-agent:latest", "codex-mcp-agent", true),
            (
                "docker.io/library/codex-mcp-agent:latest",
                "codex-mcp-agent:latest",
                true,
            ),
            ("localhost/pause:local", "localhost/pause:local", true),
            (
                "registry.example:5000/a/b:1",
                "registry.example:5000/a/b:1",
                true,
            ),
            ("codex-mcp-agent:other", "codex-mcp-agent:latest", false),
            (
                "team/codex-mcp-agent:latest",
                "codex-mcp-agent:latest",
                false,
            ),
        ];
        let seen: Vec<_> = cases
            .iter()
            .map(|(listed, image, _)| (*listed, *image, same_image(listed, image)))
            .collect();
        assert_eq!(seen, cases.to_vec());
    }
}
