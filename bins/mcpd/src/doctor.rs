//! `mcpd doctor`: checks that this machine can run agents with the current settings and
//! says how to fix each problem. Exits non-zero when any check fails.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use codex_mcp_runtime::docker::DockerRuntime;

use crate::app;
use crate::settings::{RuntimeChoice, Settings};

/// One check's verdict.
enum Verdict {
    /// Fine; what was found.
    Ok(String),
    /// Broken; what is wrong and how to fix it.
    Fail { problem: String, fix: String },
    /// Not checked, because an earlier check failed.
    Skipped(&'static str),
    /// Cannot be known with these credentials (not a failure); why.
    Unknown(String),
}

fn fail(problem: impl Into<String>, fix: impl Into<String>) -> Verdict {
    Verdict::Fail {
        problem: problem.into(),
        fix: fix.into(),
    }
}

/// Runs every check, prints one line each (and the fix under a failure), and returns the
/// exit code: success only when nothing failed.
pub async fn run(settings: &Settings) -> ExitCode {
    let docker = match settings.runtime {
        RuntimeChoice::Docker => true,
        RuntimeChoice::Auto => settings.persistent_mode,
        RuntimeChoice::Local | RuntimeChoice::Kubernetes => false,
    };
    let kubernetes = settings.runtime == RuntimeChoice::Kubernetes;
    let mut checks: Vec<(&str, Verdict)> = Vec::new();
    if docker {
        checks.extend(docker_checks(settings).await);
    } else if kubernetes {
        checks.extend(kubernetes_checks(settings).await);
    } else {
        checks.push(("Codex on this host", local_codex(settings).await));
    }
    checks.push(("data directory", data_dir(&settings.data_dir)));
    checks.push(("credentials", credentials(settings)));
    let runtime = match (docker, kubernetes) {
        (true, _) => "docker",
        (false, true) => "kubernetes",
        (false, false) => "local",
    };
    println!("mcpd doctor (runtime: {runtime})");
    let mut failed = 0;
    for (name, verdict) in &checks {
        match verdict {
            Verdict::Ok(what) => println!("  ok    {name}: {what}"),
            Verdict::Skipped(why) => println!("  skip  {name}: {why}"),
            Verdict::Unknown(why) => println!("  ?     {name}: {why}"),
            Verdict::Fail { problem, fix } => {
                failed += 1;
                println!("  FAIL  {name}: {problem}");
                println!("        fix: {fix}");
            }
        }
    }
    if failed == 0 {
        println!("all checks passed");
        ExitCode::SUCCESS
    } else {
        println!("{failed} check(s) failed");
        ExitCode::FAILURE
    }
}

/// Engine reachable, image present, Codex runs in the image.
async fn docker_checks(settings: &Settings) -> Vec<(&'static str, Verdict)> {
    const ENGINE: &str = "Docker engine";
    const IMAGE: &str = "agent image";
    const CODEX: &str = "Codex in the image";
    const TOOLS: &str = "agent image tools";
    let cfg = match app::docker_config(settings) {
        Ok(c) => c,
        Err(e) => {
            return vec![
                (ENGINE, fail(e.to_string(), "fix the setting named above")),
                (IMAGE, Verdict::Skipped("needs the engine")),
                (CODEX, Verdict::Skipped("needs the engine")),
            ];
        }
    };
    let endpoint = cfg.endpoint.clone();
    let image = cfg.image.clone();
    let mut images = vec![image.clone()];
    for i in cfg.agent_images.values() {
        if !images.contains(i) {
            images.push(i.clone());
        }
    }
    let rt = match DockerRuntime::connect(cfg).await {
        Ok(rt) => rt,
        Err(e) => {
            return vec![
                (
                    ENGINE,
                    fail(
                        e.to_string(),
                        "start dockerd (scripts/docker-setup.sh), point DOCKER_HOST at its socket (unix:///path), or set CODEX_MCP_RUNTIME=local",
                    ),
                ),
                (IMAGE, Verdict::Skipped("needs the engine")),
                (CODEX, Verdict::Skipped("needs the engine")),
            ];
        }
    };
    let mut out = vec![(ENGINE, Verdict::Ok(format!("{endpoint} answers")))];
    if let Err(e) = rt.probe().await {
        out.push((
            IMAGE,
            fail(
                e.to_string(),
                format!(
                    "build it with scripts/build-agent-image.sh (AGENT_IMAGE={image}), or set CODEX_MCP_AGENT_IMAGE to an image that exists"
                ),
            ),
        ));
        out.push((CODEX, Verdict::Skipped("needs the image")));
        return out;
    }
    out.push((IMAGE, Verdict::Ok(format!("{image} is present"))));
    out.push((CODEX, image_codex(&rt, &image).await));
    out.push((TOOLS, image_tools(&rt, &images).await));
    out
}

/// The cluster: API, namespace, the Role's permissions, storage class, image on a node
/// (`codex_mcp_runtime::kubernetes::doctor`). Codex runs in the agents' pods, not here.
async fn kubernetes_checks(settings: &Settings) -> Vec<(&'static str, Verdict)> {
    use codex_mcp_runtime::kubernetes::doctor::{self, Outcome};
    doctor::doctor(app::kubernetes_config(settings))
        .await
        .into_iter()
        .map(|c| {
            let verdict = match c.outcome {
                Outcome::Ok(what) => Verdict::Ok(what),
                Outcome::Fail { problem, fix } => Verdict::Fail { problem, fix },
                Outcome::Unknown(why) => Verdict::Unknown(why),
                Outcome::Skipped(why) => Verdict::Skipped(why),
            };
            (c.name, verdict)
        })
        .collect()
}

/// The image's own Codex, or else the pinned one mcpd mounts from its helper image.
async fn image_codex(rt: &DockerRuntime, image: &str) -> Verdict {
    let own = match rt.image_codex_version().await {
        Ok(v) => return Verdict::Ok(v),
        Err(e) => e,
    };
    let has_own = match rt.check_image_requirements(image).await {
        Ok(r) => r.codex.is_some(),
        Err(e) => return fail(e.to_string(), "check the engine and the image"),
    };
    let helper = rt.config().helper_image.clone();
    if has_own {
        return fail(
            own.to_string(),
            "fix or remove the image's own codex (mcpd's pinned Codex is used only when the image has none), or rebuild: FORCE=1 scripts/build-agent-image.sh",
        );
    }
    match rt.codex_version_of(&helper).await {
        Ok(v) => Verdict::Ok(format!(
            "none in {image}: agents get mcpd's pinned Codex from {helper} ({v})"
        )),
        Err(e) => fail(
            format!("{own}; and mcpd's helper image cannot supply one: {e}"),
            "build mcpd's agent image with scripts/build-agent-image.sh (it supplies Codex to images without one), or rebuild: FORCE=1 scripts/build-agent-image.sh",
        ),
    }
}

/// Every agent image (`CODEX_MCP_AGENT_IMAGE` and `CODEX_MCP_AGENT_IMAGES`) has what an
/// agent needs besides Codex: sh, bash, git and sleep.
async fn image_tools(rt: &DockerRuntime, images: &[String]) -> Verdict {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for image in images {
        match rt.check_image_requirements(image).await {
            Ok(r) if r.usable() => good.push(r.summary()),
            Ok(r) => bad.push(r.summary()),
            Err(e) => bad.push(e.to_string()),
        }
    }
    if bad.is_empty() {
        Verdict::Ok(good.join("; "))
    } else {
        fail(
            bad.join("; "),
            "give each agent image sh, bash, git and sleep (Codex, the agent user and the folders are mcpd's job), or build one with scripts/build-agent-image.sh",
        )
    }
}

/// `CODEX_BIN` (or `codex` on `PATH`) answers `--version` with a version mcpd works with.
async fn local_codex(settings: &Settings) -> Verdict {
    let program = settings
        .codex_bin
        .as_ref()
        .map_or_else(|| "codex".to_string(), |p| p.display().to_string());
    let found =
        codex_mcp_core::embed::codex_version::probe(&program, Duration::from_secs(20)).await;
    match found.problem {
        None => Verdict::Ok(format!("{program}: {}", found.line)),
        Some(problem) => fail(problem, codex_mcp_core::embed::codex_version::FIX),
    }
}

/// Credentials as the server would find them (`codex-mcp-auth`'s detection, as
/// `mcpd auth status` shows it in full).
fn credentials(settings: &Settings) -> Verdict {
    let status = codex_mcp_auth::detect(&crate::credentials::detect_inputs(settings)).status();
    let health = codex_mcp_core::embed::credentials::health_of(&status);
    if status.ready {
        return Verdict::Ok(format!(
            "{} ({})",
            health.method,
            health.source.unwrap_or_default()
        ));
    }
    let problem = if health.problems.is_empty() {
        codex_mcp_core::agents::NO_CREDENTIALS.to_string()
    } else {
        health.problems.join("; ")
    };
    fail(
        problem,
        "set OPENAI_API_KEY for mcpd, or run `mcpd auth login` (or `codex login`) as the user mcpd runs as; `mcpd auth status` shows what was found",
    )
}

/// The data directory exists (or can be created) and takes a file.
fn data_dir(dir: &Path) -> Verdict {
    let fix = "create it with write access for the user mcpd runs as, or set CODEX_MCP_DATA_DIR to a writable folder";
    if let Err(e) = std::fs::create_dir_all(dir) {
        return fail(format!("cannot create {}: {e}", dir.display()), fix);
    }
    let probe = dir.join(format!(".mcpd-doctor-{}", std::process::id()));
    match std::fs::write(&probe, b"ok") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
            Verdict::Ok(format!("{} is writable", dir.display()))
        }
        Err(e) => fail(format!("cannot write in {}: {e}", dir.display()), fix),
    }
}
