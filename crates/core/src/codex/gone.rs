//! Telling "Codex failed" apart from "the agent's environment went away under Codex".
//!
//! When an agent's container is killed (by an operator, the OOM killer, or a Docker engine
//! restart) during a call, Codex simply dies with SIGKILL's exit code; the caller deserves
//! to hear what happened and that the next call will work.

use std::time::Duration;

use codex_mcp_runtime::{AgentId, AgentRuntime, AgentState, RuntimeError};

use super::CodexError;

/// How long a just-killed container may still report itself running (each look at a
/// running one takes a second or two: the status includes a stats sample).
const SETTLE: Duration = Duration::from_secs(5);

/// What became of the agent's container when Codex exited without an answer in the
/// Docker runtime, when that explains the failure (`None` otherwise): appended to
/// [`CodexError`]'s own message.
pub async fn explain(
    runtime: &dyn AgentRuntime,
    agent: &AgentId,
    error: &CodexError,
) -> Option<String> {
    let killed = match error {
        CodexError::Exited { code, .. } => matches!(code, None | Some(137)),
        _ => false,
    };
    if !runtime.kind().is_isolated() || !killed {
        return None;
    }
    // Still running with a memory cgroup that has OOM-killed something: Codex (or what it
    // ran) was killed for memory, not by an operator or an engine restart.
    if let Ok(Some(kills)) = runtime.oom_kills(agent).await
        && kills > 0
    {
        return Some(format!(
            "out of memory: the agent's container hit its memory limit \
             (CONTAINER_MEMORY_LIMIT) and the kernel killed {kills} process(es) in it; raise \
             the limit or ask for less at once. The next call runs in the same container"
        ));
    }
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        match runtime.status(agent).await {
            Ok(Some(st)) if st.state == AgentState::Running => {
                if tokio::time::Instant::now() >= deadline {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Ok(_) => {
                return Some(
                    "the agent's container (or pod) stopped during the call (killed, \
                     deleted, out of memory, or its engine restarted); the next call starts \
                     it again with the same workspace"
                        .to_string(),
                );
            }
            Err(RuntimeError::EngineUnreachable { endpoint, .. }) => {
                return Some(format!(
                    "the Docker engine at {endpoint} stopped answering during the \
                     call (stopped or restarting), which stops the agent's container; the \
                     next call starts it again with the same workspace once the engine is back"
                ));
            }
            Err(e) => {
                return Some(format!(
                    "the agent's container could not be checked afterwards ({e})"
                ));
            }
        }
    }
}
