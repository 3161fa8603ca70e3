//! Faults around `mcpd` with the real Codex CLI: the model failing (500, 429 with
//! `Retry-After`, silence, a stalled stream), a Codex of another version or none at all,
//! the data dir's disk full, an agent's Codex killed for memory, and the Docker engine
//! restarted during a call. Each ends with a clear error within the call's time, nothing
//! left running (store and processes), and the agent working again on its next call.
//! (A container killed or `mcpd` SIGKILLed mid-call: `docker_faults.rs`.)

use std::time::{Duration, Instant};

use codex_mcp_e2e::docker::{AGENT_IMAGE, docker_ready_or_skip};
use codex_mcp_e2e::faults::{PrivateDockerd, Tmpfs, calls_running, recent_calls};
use codex_mcp_e2e::scripted::chat_answer;
use codex_mcp_e2e::{Runtime, Setup, error_text, run_mcpd};
use codex_mcp_store::SqliteStore;
use codex_mcp_testkit::Reply;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

async fn chat(s: &Setup, agent: &str, message: &str, timeout_seconds: u64) -> Value {
    s.mcpd
        .call_tool(
            "chat",
            json!({"message": message, "agent_id": agent, "timeout_seconds": timeout_seconds}),
        )
        .await
        .unwrap_or_else(|e| panic!("chat for {agent}: {e}\n{}", s.mcpd.log()))
}

/// The agent's last call has `status` and no call of the server is still `running`.
async fn assert_last_call(s: &Setup, agent: &str, status: &str) {
    let calls = recent_calls(&s.mcpd, agent).await;
    assert_eq!(
        calls
            .first()
            .map(|(tool, st, _)| (tool.as_str(), st.as_str())),
        Some(("chat", status)),
        "{calls:?}"
    );
    assert_eq!(calls_running(&s.mcpd).await, 0, "a call is left running");
}

/// The agent answers a plain chat call again.
async fn assert_recovers(s: &Setup, agent: &str) {
    s.model.push(chat_answer("back"));
    let r = chat(s, agent, "are you back?", 60).await;
    assert_eq!(r.get("isError"), None, "{r}\n{}", s.mcpd.log());
    assert_last_call(s, agent, "succeeded").await;
}

/// A model error fails the call at once, naming the status; the store says `failed`.
async fn model_error(status: u16, reply: Reply, named: &str) {
    let Some(s) = Setup::start(Runtime::Local, "suggest", &[]).await else {
        return;
    };
    s.model.push(reply);
    let started = Instant::now();
    let r = chat(&s, "dev", "hello", 30).await;
    let text = error_text(&r);
    assert!(
        text.contains("Codex failed") && text.contains(named),
        "the model's {status} is named: {text}"
    );
    assert!(started.elapsed() < Duration::from_secs(20), "failed fast");
    assert_last_call(&s, "dev", "failed").await;
    s.assert_no_codex_left("dev").await;
    assert_recovers(&s, "dev").await;
}

/// Codex 0.169 reports any 5xx as "high demand" (see docs/testing.md).
#[tokio::test]
async fn model_answering_500_fails_the_call_and_the_agent_recovers() {
    model_error(
        500,
        Reply::http_error(500, "the model broke"),
        "high demand",
    )
    .await;
}

#[tokio::test]
async fn model_answering_429_with_retry_after_fails_the_call_and_the_agent_recovers() {
    model_error(
        429,
        Reply::http_error(429, "slow down").with_retry_after(1),
        "429",
    )
    .await;
}

/// Codex with its retries on, told by a 429 to come back in an hour: it does not wait
/// (Codex 0.169 ignores `Retry-After`), retries at once, and the call fails with the 429
/// well within its timeout.
#[tokio::test]
async fn model_asking_to_retry_after_an_hour_does_not_hold_the_call() {
    let Some(mut s) = Setup::start(Runtime::Local, "suggest", &[]).await else {
        return;
    };
    // The same provider, with Codex's retries on (the kit's config turns them off).
    let config = s.home.join("server-config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("request_max_retries = 0", "request_max_retries = 2"),
    )
    .unwrap();
    s.restart_after_crash().await.unwrap();
    s.model
        .set_fallback(Reply::http_error(429, "slow down").with_retry_after(3600));
    let started = Instant::now();
    let text = error_text(&chat(&s, "dev", "hello", 60).await);
    assert!(text.contains("429"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(30), "did not wait");
    let tries = s.model.responses_requests().len();
    assert!((1..=3).contains(&tries), "{tries} model requests");
    assert_last_call(&s, "dev", "failed").await;
    s.assert_no_codex_left("dev").await;
    s.model.set_fallback(Reply::no_scripted_reply_left());
    assert_recovers(&s, "dev").await;
}

/// A chat with `timeout_seconds` that cannot finish ends with the timeout's error within
/// a few seconds of it, the store says `timed_out`, and Codex is gone.
async fn timed_out_within(s: &Setup, agent: &str, timeout_seconds: u64) {
    let started = Instant::now();
    let r = chat(s, agent, "wait", timeout_seconds).await;
    let text = error_text(&r);
    assert!(
        text.contains(&format!("did not finish within {timeout_seconds} s")),
        "{text}"
    );
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(timeout_seconds + 5),
        "ended {took:?} after a {timeout_seconds} s timeout"
    );
    assert_last_call(s, agent, "timed_out").await;
    s.assert_no_codex_left(agent).await;
}

#[tokio::test]
async fn model_sending_no_bytes_at_all_times_the_call_out() {
    let Some(s) = Setup::start(Runtime::Local, "suggest", &[]).await else {
        return;
    };
    s.model.push(Reply::slow(
        Duration::from_secs(3600),
        chat_answer("too late"),
    ));
    timed_out_within(&s, "dev", 2).await;
    assert_recovers(&s, "dev").await;
}

#[tokio::test]
async fn model_stalling_mid_stream_times_the_call_out() {
    let Some(s) = Setup::start(Runtime::Local, "suggest", &[]).await else {
        return;
    };
    s.model.push(Reply::hang());
    timed_out_within(&s, "dev", 2).await;
    assert_recovers(&s, "dev").await;
}

/// A Codex of another version: answers `--version` with `codex-cli 0.1.0` and rejects
/// the flags mcpd passes, as an old Codex does.
const OLD_CODEX: &str = r#"#!/bin/sh
if [ "$1" = "--version" ]; then echo "codex-cli 0.1.0"; exit 0; fi
cat >/dev/null
echo "error: unexpected argument '--json' found" >&2
echo "Usage: codex exec [OPTIONS] [PROMPT]" >&2
exit 2
"#;

/// What `health_check` says about Codex (`codex` object) and its overall status.
async fn health(s: &Setup) -> (Value, Value) {
    let r = s.mcpd.call_tool("health_check", json!({})).await.unwrap();
    assert_eq!(r.get("isError"), None, "{r}");
    let h = &r["structuredContent"];
    (h["status"].clone(), h["codex"].clone())
}

#[tokio::test]
async fn codex_of_another_version_is_named_by_calls_health_check_and_doctor() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("codex");
    std::fs::write(&old, OLD_CODEX).unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = ("CODEX_BIN", old.display().to_string());
    let Some(s) = Setup::start(Runtime::Local, "suggest", &[bin]).await else {
        return;
    };
    let r = chat(&s, "dev", "hello", 30).await;
    let text = error_text(&r);
    assert!(
        text.contains("exited with code 2") && text.contains("unexpected argument '--json'"),
        "the call says what Codex said: {text}"
    );
    assert_last_call(&s, "dev", "failed").await;
    let (status, codex) = health(&s).await;
    assert_eq!(status, json!("degraded"), "{codex}");
    assert_eq!(
        (codex["available"].clone(), codex["version"].clone()),
        (json!(false), json!("codex-cli 0.1.0"))
    );
    let problem = codex["problem"].as_str().unwrap_or_default();
    assert!(
        problem.contains("codex-cli 0.1.0 is older than 0.169.0") && problem.contains("CODEX_BIN"),
        "{problem}"
    );
    let (code, out) = run_mcpd(&["doctor"], &s.env, Duration::from_secs(60))
        .await
        .unwrap();
    assert_ne!(code, Some(0), "{out}");
    assert!(
        out.contains("FAIL  Codex on this host") && out.contains("0.1.0"),
        "{out}"
    );
}

#[tokio::test]
async fn missing_codex_is_named_by_calls_health_check_and_doctor() {
    let bin = ("CODEX_BIN", "/nonexistent/codex".to_string());
    let Some(s) = Setup::start(Runtime::Local, "suggest", &[bin]).await else {
        return;
    };
    let r = chat(&s, "dev", "hello", 30).await;
    let text = error_text(&r);
    assert!(text.contains("/nonexistent/codex"), "{text}");
    let (status, codex) = health(&s).await;
    assert_eq!(
        (status, codex["available"].clone()),
        (json!("degraded"), json!(false))
    );
    let (code, out) = run_mcpd(&["doctor"], &s.env, Duration::from_secs(60))
        .await
        .unwrap();
    assert_ne!(code, Some(0), "{out}");
    assert!(
        out.contains("FAIL  Codex on this host") && out.contains("/nonexistent/codex"),
        "{out}"
    );
}

/// The data dir on a 48 MiB tmpfs: a call made while it is full fails with an error that
/// says so, nothing is left running, the database passes its integrity check, and once
/// space is freed the agent works again (also after a restart, with its records intact).
#[tokio::test]
async fn a_full_data_disk_fails_calls_clearly_and_corrupts_nothing() {
    if codex_mcp_testkit::codex_bin_or_skip().is_none() {
        return;
    }
    let disk = Tmpfs::mount("48m").unwrap_or_else(|e| panic!("{e:#}"));
    let data = ("CODEX_MCP_DATA_DIR", disk.path.display().to_string());
    let Some(mut s) = Setup::start(Runtime::Local, "suggest", &[data]).await else {
        return;
    };
    s.model.push(chat_answer("before"));
    assert_eq!(chat(&s, "dev", "before", 60).await.get("isError"), None);

    let filled = disk.fill("filler").unwrap();
    assert!(filled > 0);
    s.model.push(chat_answer("never seen"));
    let full = s
        .mcpd
        .call_tool("chat", json!({"message": "while full", "agent_id": "dev"}))
        .await;
    let said = match &full {
        Ok(r) => error_text(r),
        Err(e) => e.to_string(),
    };
    assert!(
        said.contains("is full") && said.contains("CODEX_MCP_DATA_DIR"),
        "a full disk is named: {said}\n{}",
        s.mcpd.log()
    );
    assert!(
        codex_mcp_e2e::setup::host_codex_processes(&disk.path).is_empty(),
        "no Codex left running"
    );

    std::fs::remove_file(disk.path.join("filler")).unwrap();
    s.model.set_fallback(chat_answer("after"));
    let after = chat(&s, "dev", "after", 60).await;
    assert_eq!(after.get("isError"), None, "{after}\n{}", s.mcpd.log());
    assert_eq!(calls_running(&s.mcpd).await, 0);

    s.mcpd.terminate().await.unwrap();
    let path = disk.path.clone();
    let store = tokio::task::spawn_blocking(move || SqliteStore::open(&path))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("the database opens and passes its integrity check: {e}"));
    // A full disk failed transactions: no clean-shutdown mark, so the check really ran.
    assert!(store.checked_at_open());
    let mut calls = codex_mcp_store::SessionStore::list_calls(&store, "dev", 100)
        .await
        .unwrap();
    calls.sort_by_key(|c| c.started_at);
    let statuses: Vec<&str> = calls.iter().map(|c| c.status.as_str()).collect();
    assert_eq!(statuses.first(), Some(&"succeeded"), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&"succeeded"), "{statuses:?}");
    assert!(!statuses.contains(&"running"), "{statuses:?}");
    drop(store);

    s.mcpd = codex_mcp_e2e::Mcpd::start(&s.env, &s.home).await.unwrap();
    let after_restart = recent_calls(&s.mcpd, "dev").await;
    assert_eq!(after_restart.len(), calls.len(), "{after_restart:?}");
}

/// Raises the OOM score of every Codex process in the container to the maximum, then
/// allocates far past the container's memory limit (`tail` buffers a line without end):
/// the kernel's OOM killer takes Codex itself, mid-turn.
const KILL_CODEX_BY_OOM: &str = "for d in /proc/[0-9]*; do \
    [ \"$(cat $d/comm 2>/dev/null)\" = codex ] && echo 1000 > $d/oom_score_adj; \
    done; head -c 2G /dev/zero | tail";

/// An agent's Codex OOM-killed in a container limited to 256 MiB: the call fails naming
/// out-of-memory and the limit's setting, nothing is left running, and the next call works.
#[tokio::test]
async fn codex_oom_killed_mid_turn_fails_the_call_clearly_and_the_agent_recovers() {
    let limit = ("CONTAINER_MEMORY_LIMIT", "256m".to_string());
    let Some(s) = Setup::start(Runtime::Docker, "auto", &[limit]).await else {
        return;
    };
    s.model.push(Reply::exec_command(KILL_CODEX_BY_OOM));
    s.model.push(chat_answer("survived"));
    let started = Instant::now();
    let r = chat(&s, "dev", "use all the memory", 120).await;
    let text = error_text(&r);
    assert!(
        text.contains("out of memory") && text.contains("CONTAINER_MEMORY_LIMIT"),
        "the call names the cause and the setting: {text}\n{}",
        s.mcpd.log()
    );
    assert!(started.elapsed() < Duration::from_secs(90));
    assert_last_call(&s, "dev", "failed").await;
    s.assert_no_codex_left("dev").await;
    // "survived" was never asked for (Codex died first); it answers the next call.
    assert_eq!(s.model.pending_replies(), 1);
    assert_recovers(&s, "dev").await;
}

/// The Docker engine (a private one: the shared engine serves other tests) restarted
/// while a call runs: the call fails saying the container stopped, nothing stays
/// `running`, and the agent's next call starts its container again and works.
#[tokio::test]
async fn dockerd_restarted_during_a_call_fails_it_clearly_and_the_agent_recovers() {
    if codex_mcp_testkit::codex_bin_or_skip().is_none() || !docker_ready_or_skip() {
        return;
    }
    let engine = PrivateDockerd::start().unwrap_or_else(|e| panic!("{e:#}"));
    engine
        .load_image(AGENT_IMAGE)
        .unwrap_or_else(|e| panic!("{e:#}"));
    let host = ("DOCKER_HOST", engine.host.clone());
    let Some(s) = Setup::start(Runtime::Docker, "auto", &[host]).await else {
        return;
    };
    s.model.push(chat_answer("first"));
    assert_eq!(chat(&s, "dev", "first", 60).await.get("isError"), None);

    s.model.push(Reply::hang());
    let restart = async {
        s.model
            .wait_for_responses_requests(2, Duration::from_secs(60))
            .await
            .unwrap();
        tokio::task::spawn_blocking(move || {
            let mut engine = engine;
            engine.restart().map(|()| engine)
        })
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{e:#}"))
    };
    let started = Instant::now();
    let (broken, engine) = tokio::join!(chat(&s, "dev", "wait", 120), restart);
    let text = error_text(&broken);
    assert!(
        text.contains("Docker engine") && text.contains("stopped answering during the call"),
        "the call says what happened: {text}\n{}",
        s.mcpd.log()
    );
    assert!(started.elapsed() < Duration::from_secs(100));
    assert_last_call(&s, "dev", "failed").await;

    assert_recovers(&s, "dev").await;
    let running = engine
        .docker(&["ps", "-q", "--filter", &s.scope().filter()])
        .unwrap();
    assert_eq!(
        running.lines().count(),
        1,
        "one container serves the agent again"
    );
}
