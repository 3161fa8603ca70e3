//! Diffs of what Codex changed, and scratch copies for `suggest` mode.
//!
//! A throw-away git directory records the workspace before the run (`git --git-dir`
//! with the workspace as work tree, so nothing is added to the workspace itself); after
//! the run the same git directory yields a unified diff with workspace-relative paths.
//! In `suggest` mode Codex works on a copy and the real workspace is never touched.

use codex_mcp_runtime::{AgentRuntime, ExecSpec};

use super::ReadyAgent;

/// A snapshot taken before a run.
#[derive(Debug, Clone)]
pub struct Snapshot {
    git_dir: String,
    /// Where Codex should work: the workspace itself, or a scratch copy.
    pub workdir: String,
    scratch: String,
}

const GIT: &str = "git -c user.name=codex-mcp -c user.email=codex-mcp@localhost -c commit.gpgsign=false -c core.autocrlf=false";

async fn sh(
    runtime: &dyn AgentRuntime,
    agent: &ReadyAgent,
    script: String,
) -> Result<String, String> {
    let mut handle = runtime
        .exec(
            &agent.id,
            ExecSpec::new(["/bin/sh", "-c", &script]).cwd(agent.env.scratch_root.clone()),
        )
        .await
        .map_err(|e| e.to_string())?;
    let out = handle.collect().await;
    match out.code {
        Some(0) => Ok(out.stdout.join("\n")),
        code => Err(format!(
            "workspace snapshot step failed ({code:?}): {}",
            out.stderr.join(" ")
        )),
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Records the workspace; with `copy`, also makes the scratch copy Codex will work in.
pub async fn take(
    runtime: &dyn AgentRuntime,
    agent: &ReadyAgent,
    call_id: &str,
    copy: bool,
) -> Result<Snapshot, String> {
    let scratch = format!("{}/{call_id}", agent.env.scratch_root);
    let git_dir = format!("{scratch}/git");
    let workdir = if copy {
        format!("{scratch}/workspace")
    } else {
        agent.env.workspace.clone()
    };
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
    sh(runtime, agent, script).await?;
    Ok(Snapshot {
        git_dir,
        workdir,
        scratch,
    })
}

impl Snapshot {
    /// The unified diff of everything changed since the snapshot (paths relative to the
    /// workspace), then removes the scratch area.
    pub async fn diff_and_clean(
        &self,
        runtime: &dyn AgentRuntime,
        agent: &ReadyAgent,
    ) -> Result<String, String> {
        let script = format!(
            "set -e; {GIT} --git-dir={g} --work-tree={w} add -A && \
             {GIT} --git-dir={g} --work-tree={w} diff --cached --no-color --no-ext-diff HEAD; \
             rm -rf {s}",
            g = quote(&self.git_dir),
            w = quote(&self.workdir),
            s = quote(&self.scratch),
        );
        sh(runtime, agent, script).await
    }

    /// Removes the scratch area without diffing (after a failed run).
    pub async fn discard(&self, runtime: &dyn AgentRuntime, agent: &ReadyAgent) {
        let _ = sh(runtime, agent, format!("rm -rf {}", quote(&self.scratch))).await;
    }
}
