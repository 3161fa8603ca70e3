//! The benchmarks' floor on the local runtime: the Codex turn mcpd runs, run directly by
//! `codex exec` exactly as mcpd's local runtime runs it, so that a ratio against it is
//! what mcpd adds.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codex_mcp_core::codex::{CodexCommand, Sandbox};
use codex_mcp_runtime::local::PASSTHROUGH_ENV;
use codex_mcp_testkit::run_codex;

/// The direct side, run exactly as mcpd's local runtime runs Codex: the argv of mcpd's
/// own [`CodexCommand`] (`--json`, `--skip-git-repo-check`, `--output-schema`, read-only
/// sandbox, prompt on stdin), a scrubbed environment with `CODEX_HOME` pointing at a home
/// holding the same `config.toml` and `auth.json` mcpd writes (rewritten before every
/// turn, as mcpd does), the workspace as the working directory. Only the process around
/// it differs.
pub struct Direct {
    /// The Codex binary.
    pub codex: PathBuf,
    /// The `config.toml` mcpd gives its agents.
    pub config_toml: String,
    /// Path of the tool's output schema file.
    pub schema: String,
    /// The settings mcpd was started with (`Setup::env`, or a bench's own list): the
    /// variables among them that Codex inherits from mcpd ([`PASSTHROUGH_ENV`], `HOME`
    /// above all) replace the bench's own, so both sides run Codex in the same
    /// environment. `HOME` matters: Codex starts a login shell in it, and a home whose
    /// shell start-up files do real work (a version manager's `init`) makes every turn
    /// slower.
    pub mcpd_env: Vec<(&'static str, String)>,
}

/// One directly-run "agent": its Codex home and workspace, removed on drop.
pub struct DirectAgent {
    _dir: tempfile::TempDir,
    home: PathBuf,
    workspace: PathBuf,
}

impl Direct {
    /// A new agent: an empty Codex home and workspace of its own, in the same scratch
    /// root as mcpd's data dir (not the system temp dir, where Codex behaves differently).
    pub fn agent(&self) -> anyhow::Result<DirectAgent> {
        let dir = codex_mcp_testkit::temp_dir("direct-agent")?;
        let home = dir.path().join("codex-home");
        let workspace = dir.path().join("workspace");
        std::fs::create_dir_all(&home)?;
        std::fs::create_dir_all(&workspace)?;
        Ok(DirectAgent {
            _dir: dir,
            home,
            workspace,
        })
    }

    /// The command of one turn for `agent`: a new thread, or a resume of `resume`. Writes
    /// the agent's `auth.json` and `config.toml` first, as mcpd does before every turn.
    pub fn command(
        &self,
        agent: &DirectAgent,
        resume: Option<&str>,
    ) -> anyhow::Result<tokio::process::Command> {
        write_private(
            &agent.home.join("auth.json"),
            br#"{"OPENAI_API_KEY":"sk-bench"}"#,
        )?;
        write_private(&agent.home.join("config.toml"), self.config_toml.as_bytes())?;
        let argv = CodexCommand {
            program: self.codex.display().to_string(),
            workdir: agent.workspace.display().to_string(),
            resume: resume.map(str::to_string),
            output_schema: Some(self.schema.clone()),
            model: None,
            sandbox: Sandbox::ReadOnly,
            config: Vec::new(),
        }
        .argv();
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| anyhow::anyhow!("empty argv"))?;
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .current_dir(&agent.workspace)
            .env_clear()
            .envs(
                PASSTHROUGH_ENV
                    .iter()
                    .filter_map(|k| Some((*k, std::env::var_os(k)?))),
            )
            .envs(
                self.mcpd_env
                    .iter()
                    .filter(|(k, _)| PASSTHROUGH_ENV.contains(k))
                    .map(|(k, v)| (*k, v)),
            )
            .env("CODEX_HOME", &agent.home)
            .process_group(0)
            .kill_on_drop(true);
        Ok(cmd)
    }

    /// Runs one turn for `agent` (see [`Direct::command`]) with `prompt` on stdin.
    pub async fn turn(
        &self,
        agent: &DirectAgent,
        resume: Option<&str>,
        prompt: &str,
    ) -> anyhow::Result<DirectTurn> {
        let t = Instant::now();
        let cmd = self.command(agent, resume)?;
        let started = Instant::now();
        let out = run_codex(cmd, prompt, Duration::from_secs(120)).await?;
        let process = started.elapsed();
        let took = t.elapsed();
        anyhow::ensure!(out.code == Some(0), "direct codex failed: {}", out.stderr);
        Ok(DirectTurn {
            took,
            process,
            thread: out.thread_id().map(str::to_string),
        })
    }
}

/// One directly-run turn.
#[derive(Debug, Clone)]
pub struct DirectTurn {
    /// The whole turn: files written, Codex started, run and reaped.
    pub took: Duration,
    /// From the spawn of Codex to its exit and the end of its output: what mcpd's
    /// `codex` phase measures on its side, so `took - process` is the floor's share
    /// outside the Codex process, to set against mcpd's.
    pub process: Duration,
    /// The thread id Codex reported.
    pub thread: Option<String>,
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)
}
