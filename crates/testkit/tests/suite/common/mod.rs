//! Shared by the real-Codex test files: a [`CodexFixture`] that prints every run, so a
//! failing test (or `--nocapture`) shows Codex's events, exit code and stderr.

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

/// The text of the first `function_call_output` Codex sent back to the model in its second
/// request: what the model was told about the command it asked for.
pub fn first_tool_output(model: &ScriptedModel) -> String {
    let reqs = model.responses_requests();
    let follow_up = reqs.get(1).unwrap_or_else(|| {
        panic!(
            "Codex made {} model request(s), expected a follow-up",
            reqs.len()
        )
    });
    let outputs = follow_up.function_call_outputs();
    outputs
        .first()
        .and_then(|o| o["output"].as_str())
        .unwrap_or_else(|| panic!("no function_call_output in {:?}", follow_up.input()))
        .to_string()
}

/// A machine precondition of the sandbox tests, failing with the fix: Codex's Linux sandbox
/// (the bubblewrap bundled with it) needs user namespaces. Without them no sandboxed command
/// runs at all, and the tool output carries bwrap's complaint instead of the command's.
pub fn assert_codex_sandbox_started(tool_output: &str) {
    assert!(
        !tool_output.contains("bwrap") && !tool_output.contains("namespace"),
        "Codex's Linux sandbox (bubblewrap) could not start on this machine, so no sandboxed \
         command ran. It needs user namespaces: run the tests as root on the host, or allow \
         unprivileged ones (sysctl user.max_user_namespaces > 0; on Ubuntu also \
         kernel.apparmor_restrict_unprivileged_userns=0). Inside a Docker container it cannot \
         work (docs/testing.md). Codex said: {tool_output}"
    );
}
