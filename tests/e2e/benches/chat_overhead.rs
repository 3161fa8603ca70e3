//! Benchmark (not a test): the median time of a `chat` call through `mcpd` against the
//! same `codex exec` run directly, both answered by the same scripted model, and their
//! ratio (target: at most 1.02). The direct side runs Codex exactly as mcpd does (see
//! [`Direct`]), so the ratio is what mcpd adds to a turn.
//!
//! `cargo bench -p codex-mcp-e2e --bench chat_overhead` (builds mcpd first with
//! `cargo build --release -p mcpd`, or set MCPD_BIN). `CHAT_BENCH_ITERATIONS` (default 15).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codex_mcp_core::codex::{CodexCommand, Sandbox};
use codex_mcp_e2e::Mcpd;
use codex_mcp_runtime::local::PASSTHROUGH_ENV;
use codex_mcp_testkit::{CodexFixture, Reply, run_codex};
use serde_json::json;

/// The direct side, run exactly as mcpd's local runtime runs Codex: the argv of mcpd's
/// own [`CodexCommand`] (`--json`, `--skip-git-repo-check`, `--output-schema`, read-only
/// sandbox, prompt on stdin), a scrubbed environment with `CODEX_HOME` pointing at a home
/// holding the same `config.toml` and `auth.json` mcpd writes, the workspace as the
/// working directory. Only the process around it differs.
struct Direct {
    codex: PathBuf,
    config_toml: String,
    schema: String,
}

/// One directly-run "agent": its Codex home and workspace.
struct DirectAgent {
    _dir: tempfile::TempDir,
    home: PathBuf,
    workspace: PathBuf,
}

impl Direct {
    fn agent(&self) -> anyhow::Result<DirectAgent> {
        let dir = tempfile::tempdir()?;
        let home = dir.path().join("codex-home");
        let workspace = dir.path().join("workspace");
        std::fs::create_dir_all(&home)?;
        std::fs::create_dir_all(&workspace)?;
        // Written before every turn, as mcpd does.
        Ok(DirectAgent {
            _dir: dir,
            home,
            workspace,
        })
    }

    fn command(
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
            .env("CODEX_HOME", &agent.home)
            .process_group(0)
            .kill_on_drop(true);
        Ok(cmd)
    }
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

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let n: usize = std::env::var("CHAT_BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(15);
    let Some(fx) = CodexFixture::start().await? else {
        anyhow::bail!("the Codex CLI is not available");
    };
    let answer = json!({"reply": "pong", "follow_up_suggestions": [], "referenced_files": []});
    fx.model.set_fallback(Reply::json(answer.clone()));

    let dir = tempfile::tempdir()?;
    let config = dir.path().join("config.toml");
    std::fs::write(&config, fx.home.config_toml())?;
    let data = dir.path().join("data");
    let env = [
        ("CODEX_MCP_RUNTIME", "local".to_string()),
        ("CODEX_BIN", fx.codex.display().to_string()),
        ("CODEX_MCP_DATA_DIR", data.display().to_string()),
        ("CODEX_MCP_CODEX_CONFIG", config.display().to_string()),
        ("OPENAI_API_KEY", "sk-bench".to_string()),
        // info: the harness reads the listening address from mcpd's startup line.
        ("LOG_LEVEL", "info".to_string()),
    ];
    let mcpd = Mcpd::start(&env, dir.path()).await?;

    // The same prompt and schema mcpd gives Codex, run directly.
    let args = json!({"message": "ping"});
    let prepared = codex_mcp_tools::prepare(
        "chat",
        args.as_object().ok_or_else(|| anyhow::anyhow!("args"))?,
    )?;
    let schema = dir.path().join("chat-schema.json");
    std::fs::write(&schema, serde_json::to_vec(&prepared.codex_output_schema)?)?;
    let direct = Direct {
        codex: fx.codex.clone(),
        config_toml: fx.home.config_toml(),
        schema: schema.display().to_string(),
    };

    // Two scenarios. "cold": a new agent every call (mcpd creates its folders and writes
    // its Codex home first) against a fresh `codex exec`. "warm": one agent whose chat
    // conversation continues, against `codex exec resume` of one thread; both threads grow
    // alike. Calls alternate so machine load hits both sides the same.
    let mut cold = (Vec::new(), Vec::new());
    let mut warm = (Vec::new(), Vec::new());
    let warm_agent = direct.agent()?;
    let mut thread: Option<String> = None;
    for i in 0..n + 2 {
        let agent = format!("bench-{i}");
        let cold_agent = direct.agent()?;
        let (through, done) =
            pair(&mcpd, &direct, &cold_agent, &agent, None, &prepared.prompt).await?;
        if i >= 2 {
            cold.0.push(through);
            cold.1.push(done.0);
        }
        let (through, done) = pair(
            &mcpd,
            &direct,
            &warm_agent,
            "bench-warm",
            thread.as_deref(),
            &prepared.prompt,
        )
        .await?;
        thread = thread.or(done.1);
        if i >= 2 {
            warm.0.push(through);
            warm.1.push(done.0);
        }
    }
    for (name, (through, direct)) in [
        ("cold (new agent per call)", cold),
        ("warm (one continuing chat)", warm),
    ] {
        let (m_through, m_direct) = (median(through), median(direct));
        println!("{name}:");
        println!(
            "  chat through mcpd (local runtime), median of {n}: {:.1} ms",
            m_through.as_secs_f64() * 1e3
        );
        println!(
            "  same codex exec run directly (mcpd's argv/env), median of {n}: {:.1} ms",
            m_direct.as_secs_f64() * 1e3
        );
        println!(
            "  ratio: {:.3} (target <= 1.02)",
            m_through.as_secs_f64() / m_direct.as_secs_f64()
        );
    }
    Ok(())
}

/// One chat through mcpd, then the same turn run directly: a fresh `codex exec`
/// (`resume == None`), or a resume of `resume`'s thread.
/// Returns both times and the direct run's thread id.
async fn pair(
    mcpd: &Mcpd,
    direct: &Direct,
    direct_agent: &DirectAgent,
    agent: &str,
    resume: Option<&str>,
    prompt: &str,
) -> anyhow::Result<(Duration, (Duration, Option<String>))> {
    let t = Instant::now();
    let r = mcpd
        .call_tool("chat", json!({"message": "ping", "agent_id": agent}))
        .await?;
    let through = t.elapsed();
    anyhow::ensure!(r.get("isError").is_none(), "mcpd call failed: {r}");
    let t = Instant::now();
    let cmd = direct.command(direct_agent, resume)?;
    let out = run_codex(cmd, prompt, Duration::from_secs(60)).await?;
    let elapsed = t.elapsed();
    anyhow::ensure!(out.code == Some(0), "direct codex failed: {}", out.stderr);
    Ok((through, (elapsed, out.thread_id().map(str::to_string))))
}
