//! Facts about a deployment for `health_check` and `/health`: the runtime, the
//! credentials, whether Codex can run, and the embedder's warnings.

use std::sync::Arc;

use codex_mcp_runtime::RuntimeKind;
use codex_mcp_tools::tools::health::{CodexHealth, CredentialsHealth};
use serde_json::{Value, json};

use super::codex_version::{self, CodexVersion};
use super::credentials::AgentCredentialSource;
use crate::tools::server::ServerFacts;
use crate::transport::http::HealthReporter;

/// What `health_check` and `/health` report about this deployment.
pub struct Facts {
    /// The runtime's kind.
    pub kind: RuntimeKind,
    /// Why the runtime is what it is (e.g. Docker was not usable), if worth saying.
    pub runtime_note: Option<String>,
    /// The credential bridge, when the engine uses it (else the method shows `custom`).
    pub credentials: Option<Arc<AgentCredentialSource>>,
    /// The Codex program agents run.
    pub codex_program: String,
    /// `codex --version` as probed at startup (local runtime only).
    pub codex_version: Option<CodexVersion>,
    /// How exposed the server is, shown in `/health`.
    pub warnings: Vec<String>,
}

impl Facts {
    fn runtime_name(&self) -> &'static str {
        match self.kind {
            RuntimeKind::Docker => "docker",
            RuntimeKind::Local => "local",
            RuntimeKind::Kubernetes => "kubernetes",
        }
    }
}

impl ServerFacts for Facts {
    fn runtime(&self) -> (String, Option<String>) {
        (self.runtime_name().to_string(), self.runtime_note.clone())
    }

    fn credentials(&self) -> CredentialsHealth {
        match &self.credentials {
            Some(c) => c.health(),
            None => CredentialsHealth {
                method: "custom".to_string(),
                source: None,
                expires_in_seconds: None,
                problems: Vec::new(),
            },
        }
    }

    fn codex(&self) -> CodexHealth {
        let available = match self.kind {
            RuntimeKind::Docker | RuntimeKind::Kubernetes => true,
            RuntimeKind::Local => {
                let p = std::path::Path::new(&self.codex_program);
                if p.components().count() > 1 {
                    p.is_file()
                } else {
                    std::env::var_os("PATH").is_some_and(|path| {
                        std::env::split_paths(&path).any(|d| d.join(p).is_file())
                    })
                }
            }
        };
        let version = self.codex_version.as_ref();
        // A missing binary is named by `available`; a version problem only when it runs.
        let problem = version
            .and_then(|v| v.problem.as_ref())
            .filter(|_| available)
            .map(|p| format!("{p}: {}", codex_version::FIX));
        CodexHealth {
            available: available && problem.is_none(),
            version: version.map(|v| v.line.clone()).filter(|l| !l.is_empty()),
            problem,
        }
    }
}

impl HealthReporter for Facts {
    fn report(&self) -> Value {
        json!({
            "runtime": self.runtime_name(),
            "runtime_note": self.runtime_note,
            "credentials": self.credentials(),
            "codex": self.codex(),
            "warnings": self.warnings,
        })
    }
}
