//! Shared by the real-Codex test files: a [`CodexFixture`] that prints every run, so a
//! failing test (or `--nocapture`) shows Codex's events, exit code and stderr.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use codex_mcp_testkit::{CodexFixture, CodexHome, CodexOutput, ScriptedModel};

pub const LIMIT: Duration = Duration::from_secs(90);

/// The fixture plus printing of every run, so `--nocapture` shows what Codex did.
pub struct Kit(pub CodexFixture);

impl std::ops::Deref for Kit {
    type Target = CodexFixture;
    fn deref(&self) -> &CodexFixture {
        &self.0
    }
}

impl Kit {
    pub async fn new() -> Option<Self> {
        Self::with(|h| h).await
    }

    pub async fn with(adjust: impl FnOnce(CodexHome) -> CodexHome) -> Option<Self> {
        CodexFixture::start_with(adjust).await.unwrap().map(Self)
    }

    pub async fn exec(&self, sandbox: &str, extra: &[&str], prompt: &str) -> CodexOutput {
        let out = self.0.exec(sandbox, extra, prompt).await.unwrap();
        show("exec", &out);
        out
    }

    pub async fn resume(&self, thread: &str, prompt: &str) -> CodexOutput {
        let out = self.0.resume(thread, "read-only", prompt).await.unwrap();
        show("resume", &out);
        out
    }
}

pub fn show(what: &str, out: &CodexOutput) {
    eprintln!(
        "--- {what}: exit {:?}\n{}--- stderr:\n{}---",
        out.code, out.stdout, out.stderr
    );
}

/// Every request went to the scripted server (it is the only address Codex was given);
/// none asked for something the server had not scripted except the known ChatGPT calls.
pub fn assert_only_known_paths(model: &ScriptedModel) {
    for r in model.requests() {
        assert!(
            r.path == "/v1/responses"
                || r.path == "/v1/models"
                || r.path.starts_with("/backend-api/"),
            "unexpected request {} {}",
            r.method,
            r.path
        );
    }
}
