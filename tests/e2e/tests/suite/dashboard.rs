//! The live dashboard (`GET /dashboard`, issue 15) with the real `mcpd`, the real Codex
//! CLI and the scripted model: driven in headless Chromium through WebDriver (two agents,
//! a slow call whose progress changes, a failing call, a result opened in the page,
//! cancel from the page with the keyboard), its feed and cancel route attacked with
//! another agent's bearer token, and its sampler running only while someone watches.

use std::sync::Arc;
use std::time::Duration;

use codex_mcp_e2e::dashboard_feed::Feed;
use codex_mcp_e2e::faults::{calls_running, recent_calls};
use codex_mcp_e2e::process_stats::rss_kib;
use codex_mcp_e2e::{Runtime, Setup, error_text};
use codex_mcp_testkit::{RecordedRequest, Reply, temp_dir};
use fantoccini::Locator;
use fantoccini::key::Key;
use futures::StreamExt as _;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use super::dashboard_browser::{Browser, browser_or_skip};

/// Queues the script of a slow call for the prompt containing `tag`: Codex runs
/// `sleep 3 && echo step-one` (progress: "running ..." then "ran ..."), then the model
/// never answers, so the call runs until it is cancelled.
fn script_slow_call(s: &Setup, tag: &str) {
    let first = tag.to_string();
    s.model.push_matching(
        move |r: &RecordedRequest| {
            !r.is_tool_follow_up() && r.user_texts().join("\n").contains(&first)
        },
        Reply::exec_command("sleep 3 && echo step-one"),
    );
    let follow = tag.to_string();
    s.model.push_matching(
        move |r: &RecordedRequest| {
            r.is_tool_follow_up() && r.user_texts().join("\n").contains(&follow)
        },
        Reply::hang(),
    );
}

/// A chat call's arguments for `agent` with `message`.
fn chat_args(agent: &str, message: &str) -> Value {
    json!({"message": message, "agent_id": agent, "timeout_seconds": 120})
}

#[tokio::test]
async fn the_page_shows_two_agents_live_progress_a_failure_and_cancels_a_call() {
    let Some((browser, driver)) = browser_or_skip() else {
        return;
    };
    let Some(s) = Setup::start(Runtime::Local, "suggest", &[]).await else {
        return;
    };
    let s = Arc::new(s);
    let page = Browser::start(&browser, &driver).await;
    page.client
        .goto(&format!("{}/dashboard", s.mcpd.base))
        .await
        .unwrap();
    // Before any call: empty states that say what to do.
    let agents = page
        .wait_text("#agents-body", 10, |t| t.contains("No agents yet"))
        .await;
    assert!(agents.contains("claude mcp add"), "{agents}");

    // The slow call, for agent "alpha".
    script_slow_call(&s, "slow task for alpha");
    let slow = {
        let s = Arc::clone(&s);
        tokio::spawn(async move {
            s.mcpd
                .call_tool("chat", chat_args("alpha", "slow task for alpha"))
                .await
        })
    };
    let running = page
        .wait_text("#running-body", 60, |t| t.contains("running `sleep 3"))
        .await;
    assert!(
        running.contains("alpha") && running.contains("chat"),
        "{running}"
    );
    // The progress text changes while the call runs.
    page.wait_text("#running-body", 30, |t| t.contains("ran `sleep 3"))
        .await;

    // The failing call, for agent "beta": the model has no reply for it.
    let failed = s
        .mcpd
        .call_tool("chat", chat_args("beta", "this one fails"))
        .await
        .unwrap();
    assert_eq!(failed["isError"], json!(true), "{failed}");
    let recent = page
        .wait_text("#recent-body", 10, |t| t.contains("beta"))
        .await;
    assert!(recent.contains("failed"), "{recent}");
    assert!(
        recent.contains("no scripted reply left"),
        "the failure's error is shown: {recent}"
    );
    // A call that succeeds, for beta: its full result opens in the page's viewer.
    s.model.push_matching(
        |r: &RecordedRequest| r.user_texts().join("\n").contains("quick task for beta"),
        codex_mcp_e2e::scripted::chat_answer("beta's whole answer"),
    );
    let quick = s
        .mcpd
        .call_tool("chat", chat_args("beta", "quick task for beta"))
        .await
        .unwrap();
    assert_eq!(quick.get("isError"), None, "{quick}");
    page.wait_text("#recent-body", 10, |t| t.contains("succeeded"))
        .await;
    page.client
        .find(Locator::Css(
            r#"#recent-body button.view[data-part="result"]"#,
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    page.wait_text("#viewer-text", 10, |t| t.contains("beta's whole answer"))
        .await;
    page.client
        .find(Locator::Id("viewer-close"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // Both agents have rows (the sampler refreshes every second), with their disk use.
    page.wait_text("#agents-body", 10, |t| {
        t.contains("alpha") && t.contains("beta")
    })
    .await;
    page.wait_text(r#"#agents-body td[data-label="Disk"]"#, 10, |t| {
        t.ends_with("KiB") || t.ends_with("MiB")
    })
    .await;

    let wide = page.screenshot(1280, 800, "dashboard-1280x800.png").await;
    let phone = page.screenshot(390, 844, "dashboard-phone.png").await;
    eprintln!("screenshots: {} {}", wide.display(), phone.display());
    // At phone width nothing sticks out sideways: the tables have become cards.
    let overflow = page
        .client
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().is_some_and(|px| px <= 0),
        "the page is {overflow} px wider than a phone"
    );
    page.client.set_window_size(1280, 800).await.unwrap();

    // Cancel from the page, with the keyboard only: Tab to the button, press Enter.
    page.tab_to("button.cancel").await;
    page.press(Key::Enter).await;
    let result = tokio::time::timeout(Duration::from_secs(30), slow)
        .await
        .expect("the cancelled call ended")
        .unwrap()
        .unwrap();
    assert_eq!(result["isError"], json!(true), "{result}");
    eprintln!("cancelled call's error: {}", error_text(&result));
    page.wait_text("#running-body", 10, |t| t.contains("Nothing running"))
        .await;
    let recent = page
        .wait_text("#recent-body", 10, |t| t.contains("cancelled"))
        .await;
    assert!(recent.contains("alpha"), "{recent}");
    s.assert_no_codex_left("alpha").await;
    let calls = recent_calls(&s.mcpd, "alpha").await;
    assert_eq!(
        calls
            .first()
            .map(|(tool, status, _)| (tool.as_str(), status.as_str())),
        Some(("chat", "cancelled")),
        "{calls:?}"
    );
    assert_eq!(calls_running(&s.mcpd).await, 0);
    let _ = page.client.clone().close().await;
}

/// Alice's bearer token: it may act as agent "alice".
pub(super) const ALICE: &str = "alice-token-0123456789";
/// Bob's bearer token: it may act as agent "bob".
pub(super) const BOB: &str = "bob-token-0123456789abc";

/// `mcpd` (local runtime) with a token for alice (agent "alice") and one for bob (agent
/// "bob"), and the folder holding the tokens file (keep it while mcpd runs).
pub(super) async fn start_alice_and_bob() -> Option<(Setup, tempfile::TempDir)> {
    let dir = temp_dir("dashboard-tokens").unwrap();
    let tokens = dir.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        format!(
            "[[token]]\nname = \"alice\"\ntoken = \"{ALICE}\"\nagents = [\"alice\"]\n\n\
             [[token]]\nname = \"bob\"\ntoken = \"{BOB}\"\nagents = [\"bob\"]\n"
        ),
    )
    .unwrap();
    let env = [
        ("MCPD_TOKENS_FILE", tokens.display().to_string()),
        ("MCPD_ALLOW_LOCAL_RUNTIME_WITH_TOKENS", "1".to_string()),
    ];
    let s = Setup::start(Runtime::Local, "suggest", &env).await?;
    Some((s, dir))
}

/// `POST /dashboard/cancel` for `call` with `token` (and an `Origin`); the status code.
async fn cancel(base: &str, token: &str, call: &str, origin: Option<&str>) -> u16 {
    let mut request = reqwest::Client::new()
        .post(format!("{base}/dashboard/cancel"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(json!({ "call": call }).to_string());
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_token_sees_only_its_agents_and_cannot_cancel_another_agents_call() {
    let Some((s, _tokens)) = start_alice_and_bob().await else {
        return;
    };
    let s = Arc::new(s);
    let http = reqwest::Client::new();
    let base = s.mcpd.base.clone();

    // The page itself is static and open; its feed and cancel need a token.
    let page = http.get(format!("{base}/dashboard")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let body = page.text().await.unwrap();
    assert!(!body.contains(ALICE) && body.contains("requires a token"));
    let anonymous = http
        .get(format!("{base}/dashboard/events"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);

    let mut alice_feed = Feed::open(&base, Some(ALICE)).await.unwrap();
    let mut bob_feed = Feed::open(&base, Some(BOB)).await.unwrap();

    // Alice makes a quick call (so she has an agent to see), bob a slow one.
    s.model.push_matching(
        |r: &RecordedRequest| r.user_texts().join("\n").contains("alice says hi"),
        codex_mcp_e2e::scripted::chat_answer("hi alice"),
    );
    let alice_call = s
        .mcpd
        .call_tool_as(ALICE, "chat", json!({"message": "alice says hi"}))
        .await
        .unwrap();
    assert_eq!(alice_call.get("isError"), None, "{alice_call}");
    script_slow_call(&s, "bob's long job");
    let slow = {
        let s = Arc::clone(&s);
        tokio::spawn(async move {
            s.mcpd
                .call_tool_as(BOB, "chat", json!({"message": "bob's long job"}))
                .await
        })
    };
    let bob_seen = bob_feed
        .collect(60, |name, v| name == "call" && v["kind"] == "progress")
        .await;
    let started = bob_seen
        .iter()
        .find(|(name, v)| name == "call" && v["kind"] == "started")
        .unwrap_or_else(|| panic!("bob's feed never showed his call: {bob_seen:?}"));
    let bob_call = started.1["id"].as_str().unwrap().to_string();
    assert_eq!(started.1["agent"], json!("bob"));

    // Alice's feed: her own call and agent, nothing of bob's.
    let alice_seen = alice_feed
        .collect(5, |name, v| {
            name == "sample" && v["agents"].as_array().is_some_and(|a| !a.is_empty())
        })
        .await;
    let text = serde_json::to_string(&alice_seen).unwrap();
    assert!(text.contains("\"alice\""), "alice sees her agent: {text}");
    assert!(
        !text.contains("bob"),
        "alice's feed shows bob's agent or calls: {text}"
    );

    // Alice cannot cancel bob's call: the same answer as for a call that does not exist.
    assert_eq!(cancel(&base, ALICE, &bob_call, None).await, 404);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!slow.is_finished(), "alice's cancel stopped bob's call");
    // Nor can another web page, even holding bob's token: its Origin is refused.
    let evil = Some("https://evil.example");
    assert_eq!(cancel(&base, BOB, &bob_call, evil).await, 403);
    // Bob can.
    assert_eq!(cancel(&base, BOB, &bob_call, None).await, 200);
    let result = tokio::time::timeout(Duration::from_secs(30), slow)
        .await
        .expect("bob's call ended")
        .unwrap()
        .unwrap();
    assert_eq!(result["isError"], json!(true), "{result}");
    let ended = bob_feed
        .collect(10, |name, v| name == "call" && v["kind"] == "finished")
        .await;
    let finished = ended
        .iter()
        .find(|(name, v)| name == "call" && v["kind"] == "finished")
        .unwrap_or_else(|| panic!("bob's feed never showed the end: {ended:?}"));
    assert_eq!(finished.1["status"], json!("cancelled"));
    s.assert_no_codex_left("bob").await;
}

#[tokio::test]
async fn sampling_runs_only_while_a_page_watches() {
    let Some(s) = Setup::start(
        Runtime::Local,
        "suggest",
        &[("LOG_LEVEL", "debug".to_string())],
    )
    .await
    else {
        return;
    };
    let pid = s.mcpd.pid().unwrap();
    let starts = |log: &str| log.matches("dashboard: sampling starts").count();
    let stops = |log: &str| log.matches("dashboard: sampling stops").count();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = rss_kib(pid).unwrap();
    assert_eq!(starts(&s.mcpd.log()), 0, "sampling before anyone watched");

    let response = reqwest::Client::new()
        .get(format!("{}/dashboard/events", s.mcpd.base))
        .send()
        .await
        .unwrap();
    let mut body = response.bytes_stream();
    let mut samples = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while samples < 3 && tokio::time::Instant::now() < deadline {
        if let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(deadline, body.next()).await {
            samples += String::from_utf8_lossy(&chunk)
                .matches("event: sample")
                .count();
        }
    }
    assert!(samples >= 3, "only {samples} samples in 10 s");
    let watching = rss_kib(pid).unwrap();
    assert_eq!(starts(&s.mcpd.log()), 1);
    drop(body);

    // Within one interval of the page closing, the sampler stops.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(6);
    while stops(&s.mcpd.log()) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "sampling went on after the page closed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = rss_kib(pid).unwrap();
    eprintln!(
        "mcpd RSS: idle {idle} KiB, one page watching {watching} KiB, after it closed {after} KiB"
    );
    assert!(
        after.saturating_sub(idle) < 1024,
        "a page that came and went left {} KiB behind",
        after.saturating_sub(idle)
    );
}
