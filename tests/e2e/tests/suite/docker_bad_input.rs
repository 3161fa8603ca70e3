//! Bad input to `mcpd` on the Docker runtime, each answered by a clear error naming the
//! problem: invalid agent ids, bad settings, a missing image (at startup and after), an
//! unreachable engine; and `mcpd doctor`, which checks all of it and says how to fix it.

use std::time::Duration;

use codex_mcp_e2e::docker::{
    AGENT_IMAGE, DockerScope, derived_image, docker_ok, docker_ready_or_skip,
};
use codex_mcp_e2e::{Runtime, Setup, error_text, run_mcpd};
use codex_mcp_testkit::temp_dir;
use pretty_assertions::assert_eq;
use serde_json::json;

/// Settings for a Docker `mcpd` (or `mcpd doctor`) outside a [`Setup`].
fn docker_env(scope: &DockerScope, data: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![
        ("CODEX_MCP_RUNTIME", "docker".into()),
        ("CODEX_MCP_AGENT_IMAGE", AGENT_IMAGE.into()),
        ("CODEX_MCP_INSTANCE", scope.instance.clone()),
        ("CODEX_MCP_DATA_DIR", data.display().to_string()),
        // No ~/.codex of the developer's: the only credential is the key.
        ("HOME", data.display().to_string()),
        ("OPENAI_API_KEY", "sk-e2e-test-key".into()),
    ]
}

fn with(
    mut env: Vec<(&'static str, String)>,
    k: &'static str,
    v: &str,
) -> Vec<(&'static str, String)> {
    env.retain(|(name, _)| *name != k);
    env.push((k, v.to_string()));
    env
}

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn invalid_agent_ids_are_refused_before_any_container_exists() {
    let Some(s) = Setup::start(Runtime::Docker, "suggest", &[]).await else {
        return;
    };
    let long = "a".repeat(65);
    for bad in ["bad id!", "..", "a/b", "", long.as_str(), "agent;rm -rf /"] {
        let result = s
            .mcpd
            .call_tool("chat", json!({"message": "hi", "agent_id": bad}))
            .await
            .unwrap();
        let text = error_text(&result);
        assert!(text.contains("agent_id"), "{bad:?}: {text}");
    }
    let header = s
        .mcpd
        .call_tool_with("chat", json!({"message": "hi"}), Some("x y"))
        .await
        .unwrap();
    let text = error_text(&header);
    assert!(
        text.contains("agent_id \"x y\" is invalid") && text.contains("X-Agent-Id"),
        "{text}"
    );
    assert_eq!(s.scope().containers(), Vec::<String>::new());
    assert_eq!(s.model.responses_requests().len(), 0);
}

#[tokio::test]
async fn startup_names_a_missing_image_an_unreachable_engine_and_bad_roots() {
    if !docker_ready_or_skip() {
        return;
    }
    let scope = DockerScope::new();
    let data = temp_dir("e2e-bad-input").unwrap();
    let env = docker_env(&scope, data.path());
    let cases = [
        (
            with(
                env.clone(),
                "CODEX_MCP_AGENT_IMAGE",
                "codex-mcp-test-agent:does-not-exist",
            ),
            "image codex-mcp-test-agent:does-not-exist not found: build it with scripts/build-agent-image.sh",
        ),
        (
            with(
                env.clone(),
                "DOCKER_HOST",
                "unix:///nonexistent/docker.sock",
            ),
            "cannot reach the Docker engine at unix:///nonexistent/docker.sock",
        ),
        (
            with(env.clone(), "DOCKER_HOST", "tcp://127.0.0.1:2375"),
            "DOCKER_HOST",
        ),
        (
            with(env.clone(), "CODEX_MCP_WORKSPACE_ROOTS", "/srv/../etc"),
            "CODEX_MCP_WORKSPACE_ROOTS=\"/srv/../etc\" (the environment): /srv/../etc contains '..'",
        ),
        (
            with(env.clone(), "CODEX_MCP_WORKSPACE_ROOTS", "relative/dir"),
            "relative/dir is not an absolute path",
        ),
    ];
    for (env, needle) in cases {
        let (code, out) = run_mcpd(&["serve"], &env, WAIT).await.unwrap();
        assert!(
            code.is_some_and(|c| c != 0),
            "{needle}: exit {code:?}: {out}"
        );
        assert!(out.contains(needle), "expected {needle:?} in: {out}");
    }
    assert_eq!(scope.containers(), Vec::<String>::new());
}

#[tokio::test]
async fn auto_runtime_without_an_engine_says_so_and_uses_host_folders() {
    let Some(s) = Setup::start(
        Runtime::Docker,
        "suggest",
        &[
            ("CODEX_MCP_RUNTIME", "auto".into()),
            ("DOCKER_HOST", "unix:///nonexistent/docker.sock".into()),
        ],
    )
    .await
    else {
        return;
    };
    let result = s.mcpd.call_tool("health_check", json!({})).await.unwrap();
    let out = &result["structuredContent"];
    assert_eq!(out["runtime"], json!("local"));
    let note = out["runtime_note"].as_str().unwrap_or_default();
    assert!(
        note.contains("cannot reach the Docker engine at unix:///nonexistent/docker.sock"),
        "{note}"
    );
}

#[tokio::test]
async fn an_image_removed_while_serving_fails_the_call_with_the_fix() {
    if !docker_ready_or_skip() {
        return;
    }
    let tag = format!("codex-mcp-test-agent:gone-{}", DockerScope::new().instance);
    derived_image(&tag, "LABEL codex-mcp.test=gone", &[]).unwrap();
    let Some(s) = Setup::start(
        Runtime::Docker,
        "suggest",
        &[("CODEX_MCP_AGENT_IMAGE", tag.clone())],
    )
    .await
    else {
        return;
    };
    docker_ok(&["rmi", &tag]).unwrap();
    let result = s
        .mcpd
        .call_tool("chat", json!({"message": "hi", "agent_id": "late"}))
        .await
        .unwrap();
    let text = error_text(&result);
    assert!(
        text.contains(&format!("image {tag} not found"))
            && text.contains("scripts/build-agent-image.sh"),
        "{text}"
    );
}

#[tokio::test]
async fn doctor_passes_on_a_working_setup_and_names_each_fix() {
    if !docker_ready_or_skip() {
        return;
    }
    let scope = DockerScope::new();
    let data = temp_dir("e2e-doctor").unwrap();
    let env = docker_env(&scope, data.path());

    let (code, out) = run_mcpd(&["doctor"], &env, WAIT).await.unwrap();
    assert_eq!(code, Some(0), "{out}");
    let ok: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with("ok "))
        .map(|l| {
            l.trim_start()[2..]
                .trim_start()
                .split(':')
                .next()
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        ok,
        [
            "Docker engine",
            "agent image",
            "Codex in the image",
            "agent image tools",
            "data directory",
            "credentials"
        ]
    );
    assert!(out.contains("codex-cli 0.169.0"), "{out}");

    // An image without Codex passes: agents get mcpd's pinned Codex.
    let no_codex = derived_image(
        "codex-mcp-test-agent:no-codex",
        "ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin",
        &[],
    )
    .unwrap();
    let (code, out) = run_mcpd(
        &["doctor"],
        &with(env.clone(), "CODEX_MCP_AGENT_IMAGE", &no_codex),
        WAIT,
    )
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!(
            "ok    Codex in the image: none in {no_codex}: agents get mcpd's pinned Codex from {AGENT_IMAGE} (codex-cli 0.169.0)"
        )),
        "{out}"
    );
    let no_git = derived_image(
        "codex-mcp-test-agent:no-git",
        "USER 0\nRUN rm -f /usr/bin/git\nUSER 1000:1000",
        &[],
    )
    .unwrap();

    let not_a_dir = data.path().join("a-file");
    std::fs::write(&not_a_dir, "x").unwrap();
    let cases = [
        (
            with(
                env.clone(),
                "DOCKER_HOST",
                "unix:///nonexistent/docker.sock",
            ),
            vec![
                "FAIL  Docker engine: cannot reach the Docker engine at unix:///nonexistent/docker.sock",
                "fix: start dockerd (scripts/docker-setup.sh)",
                "skip  agent image",
            ],
        ),
        (
            with(
                env.clone(),
                "CODEX_MCP_AGENT_IMAGE",
                "codex-mcp-test-agent:does-not-exist",
            ),
            vec![
                "FAIL  agent image: image codex-mcp-test-agent:does-not-exist not found",
                "fix: build it with scripts/build-agent-image.sh",
            ],
        ),
        (
            with(
                env.clone(),
                "CODEX_MCP_AGENT_IMAGES",
                &format!("gitless={no_git}"),
            ),
            vec![
                "FAIL  agent image tools: codex-mcp-test-agent:no-git lacks git: install them in the image",
                "fix: give each agent image sh, bash, git and sleep",
            ],
        ),
        (
            with(
                env.clone(),
                "CODEX_MCP_DATA_DIR",
                &not_a_dir.join("sub").display().to_string(),
            ),
            vec!["FAIL  data directory: cannot create", "fix: create it"],
        ),
        (
            with(env.clone(), "OPENAI_API_KEY", ""),
            vec![
                "FAIL  credentials: No Codex credentials were found",
                "fix: set OPENAI_API_KEY",
            ],
        ),
        (
            with(
                with(env.clone(), "CODEX_MCP_RUNTIME", "local"),
                "CODEX_BIN",
                "/nonexistent/codex",
            ),
            vec![
                "FAIL  Codex on this host: cannot run /nonexistent/codex",
                "fix: install the Codex CLI",
            ],
        ),
    ];
    for (env, needles) in cases {
        let (code, out) = run_mcpd(&["doctor"], &env, WAIT).await.unwrap();
        assert_eq!(code, Some(1), "{out}");
        for needle in needles {
            assert!(out.contains(needle), "expected {needle:?} in:\n{out}");
        }
        assert!(out.contains("check(s) failed"), "{out}");
    }
    assert_eq!(
        scope.containers(),
        Vec::<String>::new(),
        "doctor leaves no container"
    );
}
