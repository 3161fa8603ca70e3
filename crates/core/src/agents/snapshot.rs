//! Diffs of what Codex changed, and scratch copies for `suggest` mode.
//!
//! A throw-away git directory records the workspace before the run (`git --git-dir`
//! with the workspace as work tree, so nothing is added to the workspace itself); after
//! the run the same git directory yields a unified diff with workspace-relative paths.
//! In `suggest` mode Codex works on a copy and the real workspace is never touched.

use codex_mcp_runtime::{AgentRuntime, ExecSpec, RuntimeError};

use super::ReadyAgent;

/// A snapshot taken before a run.
#[derive(Debug, Clone)]
pub struct Snapshot {
    git_dir: String,
    /// Where Codex should work: the workspace itself, or a scratch copy.
    pub workdir: String,
    scratch: String,
}

/// Output held from the steps that print nothing of interest (`git init`, `rm`).
const STEP_OUTPUT_LIMIT: usize = 1 << 20;

const GIT: &str = "git -c user.name=codex-mcp -c user.email=codex-mcp@localhost -c commit.gpgsign=false -c core.autocrlf=false";

/// The setting bounding the diff a call returns, named in refusals.
pub const MAX_DIFF_SETTING: &str = "CODEX_MCP_MAX_DIFF_BYTES";

/// Why a snapshot, or the diff after the run, failed.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// A step could not be started in the agent's environment.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// A step ran and failed.
    #[error("workspace snapshot step failed ({code:?}): {stderr}")]
    Failed {
        /// Its exit code (`None`: killed).
        code: Option<i32>,
        /// What it wrote to stderr.
        stderr: String,
    },
    /// A step printed more than it may; it was stopped.
    #[error("a workspace snapshot step printed more than it may and was stopped")]
    TooLarge,
    /// The diff is larger than the call may return; nothing was kept.
    #[error(
        "the changes Codex made are larger than {limit} bytes as a diff \
({MAX_DIFF_SETTING}={limit}), so they are not returned and nothing was kept; ask for a \
smaller change, or raise {MAX_DIFF_SETTING}"
    )]
    DiffTooLarge {
        /// The bound in bytes.
        limit: usize,
    },
}

/// Runs a snapshot step, holding at most `limit` bytes of its output.
async fn sh(
    runtime: &dyn AgentRuntime,
    agent: &ReadyAgent,
    script: String,
    limit: usize,
) -> Result<String, SnapshotError> {
    let mut handle = runtime
        .exec(
            &agent.id,
            ExecSpec::new(["/bin/sh", "-c", &script]).cwd(agent.env.scratch_root.clone()),
        )
        .await?;
    let out = handle
        .collect_bounded(limit)
        .await
        .map_err(|_| SnapshotError::TooLarge)?;
    match out.code {
        Some(0) => Ok(out.stdout.join("\n")),
        code => Err(SnapshotError::Failed {
            code,
            stderr: out.stderr.join(" "),
        }),
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The snapshot [`take`] made for call `call_id` (the same `copy`), by its place: a
/// restarted server finishing a call its previous process started diffs against it.
pub fn existing(agent: &ReadyAgent, call_id: &str, copy: bool) -> Snapshot {
    let scratch = format!("{}/{call_id}", agent.env.scratch_root);
    let workdir = if copy {
        format!("{scratch}/workspace")
    } else {
        agent.env.workspace.clone()
    };
    Snapshot {
        git_dir: format!("{scratch}/git"),
        workdir,
        scratch,
    }
}

/// Records the workspace; with `copy`, also makes the scratch copy Codex will work in.
pub async fn take(
    runtime: &dyn AgentRuntime,
    agent: &ReadyAgent,
    call_id: &str,
    copy: bool,
) -> Result<Snapshot, SnapshotError> {
    let Snapshot {
        git_dir,
        workdir,
        scratch,
    } = existing(agent, call_id, copy);
    let copy_step = if copy {
        format!(
            "mkdir -p {w} && cp -a {src}/. {w}/ && ",
            w = quote(&workdir),
            src = quote(&agent.env.workspace)
        )
    } else {
        String::new()
    };
    let script = format!(
        "set -e; rm -rf {s}; mkdir -p {s}; {copy_step}{GIT} --git-dir={g} init -q && \
         {GIT} --git-dir={g} --work-tree={w} add -A && \
         {GIT} --git-dir={g} --work-tree={w} commit -q --allow-empty -m before",
        s = quote(&scratch),
        g = quote(&git_dir),
        w = quote(&workdir),
    );
    sh(runtime, agent, script, STEP_OUTPUT_LIMIT).await?;
    Ok(Snapshot {
        git_dir,
        workdir,
        scratch,
    })
}

impl Snapshot {
    /// The unified diff of everything changed since the snapshot (paths relative to the
    /// workspace), then removes the scratch area.
    /// A diff larger than `limit` bytes is an error naming [`MAX_DIFF_SETTING`]: the
    /// server never holds more than that of it.
    pub async fn diff_and_clean(
        &self,
        runtime: &dyn AgentRuntime,
        agent: &ReadyAgent,
        limit: usize,
    ) -> Result<String, SnapshotError> {
        let script = format!(
            "set -e; {GIT} --git-dir={g} --work-tree={w} add -A && \
             {GIT} --git-dir={g} --work-tree={w} diff --cached --no-color --no-ext-diff HEAD; \
             rm -rf {s}",
            g = quote(&self.git_dir),
            w = quote(&self.workdir),
            s = quote(&self.scratch),
        );
        match sh(runtime, agent, script, limit).await {
            Ok(diff) => Ok(diff),
            Err(SnapshotError::TooLarge) => {
                // The step was stopped before it removed the scratch area.
                self.discard(runtime, agent).await;
                Err(SnapshotError::DiffTooLarge { limit })
            }
            Err(e) => Err(e),
        }
    }

    /// Removes the scratch area without diffing (after a failed run).
    pub async fn discard(&self, runtime: &dyn AgentRuntime, agent: &ReadyAgent) {
        let script = format!("rm -rf {}", quote(&self.scratch));
        let _ = sh(runtime, agent, script, STEP_OUTPUT_LIMIT).await;
    }
}
