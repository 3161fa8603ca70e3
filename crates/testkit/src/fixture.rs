//! [`CodexFixture`]: everything one real-Codex test needs — the Codex binary, a
//! [`ScriptedModel`], a [`CodexHome`] wired to it and a work folder — with the argv the
//! Codex driver uses (`codex exec --json ... -`, prompt on stdin).

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Result;
use tempfile::TempDir;

use crate::codex::codex_bin_or_skip;
use crate::home::CodexHome;
use crate::model::ScriptedModel;
use crate::run::{CodexOutput, run_codex};
use crate::scratch::temp_dir;

/// Default time limit of [`CodexFixture::exec`] and [`CodexFixture::resume`]; a turn
/// against the scripted model takes well under a second.
pub const DEFAULT_CODEX_TIMEOUT: Duration = Duration::from_secs(90);

/// A real Codex binary, a scripted model, a Codex home and a work folder (both folders
/// under `<target>/test-tmp`, removed on drop).
pub struct CodexFixture {
    /// The real Codex binary.
    pub codex: PathBuf,
    /// The scripted model every request of this fixture's Codex goes to.
    pub model: ScriptedModel,
    /// The Codex home (already written).
    pub home: CodexHome,
    work: TempDir,
    _home_dir: TempDir,
}

impl CodexFixture {
    /// A fixture with the default home (API key `sk-test-codex-mcp`, model
    /// [`DEFAULT_MODEL`](crate::DEFAULT_MODEL)); `Ok(None)` when Codex is unavailable
    /// outside CI (see [`codex_bin_or_skip`]).
    pub async fn start() -> Result<Option<Self>> {
        Self::start_with(|home| home).await
    }

    /// As [`start`](Self::start), letting `adjust` change the home (auth, model, timeouts)
    /// before it is written.
    pub async fn start_with(adjust: impl FnOnce(CodexHome) -> CodexHome) -> Result<Option<Self>> {
        let Some(codex) = codex_bin_or_skip() else {
            return Ok(None);
        };
        let model = ScriptedModel::start().await?;
        let home_dir = temp_dir("codex-home-")?;
        let work = temp_dir("work-")?;
        let home = adjust(CodexHome::new(home_dir.path(), &model));
        home.write()?;
        Ok(Some(Self {
            codex,
            model,
            home,
            work,
            _home_dir: home_dir,
        }))
    }

    /// The work folder Codex runs in.
    pub fn work(&self) -> &Path {
        self.work.path()
    }

    /// `codex exec --json --skip-git-repo-check -s SANDBOX -C <work> <offline args>`;
    /// add flags and the prompt argument (`-` for stdin).
    pub fn exec_command(&self, sandbox: &str) -> tokio::process::Command {
        let mut cmd = self.home.command(&self.codex);
        cmd.args([
            "exec",
            "--json",
            "--skip-git-repo-check",
            "-s",
            sandbox,
            "-C",
        ])
        .arg(self.work())
        .args(self.home.offline_args());
        cmd
    }

    /// `codex exec resume THREAD --json --skip-git-repo-check -c sandbox_mode="SANDBOX"
    /// <offline args>` with the work folder as cwd (resume takes neither `-C` nor `-s`);
    /// add flags and the prompt argument.
    pub fn resume_command(&self, thread_id: &str, sandbox: &str) -> tokio::process::Command {
        let mut cmd = self.home.command(&self.codex);
        cmd.current_dir(self.work())
            .args([
                "exec",
                "resume",
                thread_id,
                "--json",
                "--skip-git-repo-check",
            ])
            .arg("-c")
            .arg(format!("sandbox_mode=\"{sandbox}\""))
            .args(self.home.offline_args());
        cmd
    }

    /// Runs [`exec_command`](Self::exec_command) + `extra` + `-` with `prompt` on stdin.
    pub async fn exec(&self, sandbox: &str, extra: &[&str], prompt: &str) -> Result<CodexOutput> {
        let mut cmd = self.exec_command(sandbox);
        cmd.args(extra).arg("-");
        run_codex(cmd, prompt, DEFAULT_CODEX_TIMEOUT).await
    }

    /// Runs [`resume_command`](Self::resume_command) + `-` with `prompt` on stdin.
    pub async fn resume(
        &self,
        thread_id: &str,
        sandbox: &str,
        prompt: &str,
    ) -> Result<CodexOutput> {
        let mut cmd = self.resume_command(thread_id, sandbox);
        cmd.arg("-");
        run_codex(cmd, prompt, DEFAULT_CODEX_TIMEOUT).await
    }
}
