//! The live dashboard (`GET /dashboard`, issue 15) with the real `mcpd`, the real Codex
//! CLI and the scripted model: driven in headless Chromium through WebDriver (two agents,
//! a slow call whose progress changes, a failing call, cancel from the page), its feed
//! and cancel route attacked with another agent's bearer token, and its sampler running
//! only while someone watches.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use codex_mcp_e2e::faults::{calls_running, recent_calls};
use codex_mcp_e2e::process_stats::rss_kib;
use codex_mcp_e2e::{Runtime, Setup, error_text, mcpd_bin};
use codex_mcp_testkit::{RecordedRequest, Reply, temp_dir};
use fantoccini::{Client, ClientBuilder, Locator};
use futures::StreamExt as _;
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

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

/// Chromium and its WebDriver, or `None` (said loudly) when missing outside CI; under
/// `CI=true` a missing browser fails the test.
fn browser_or_skip() -> Option<(PathBuf, PathBuf)> {
    let find = |name: &str| {
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
    };
    match (find("chromium"), find("chromedriver")) {
        (Some(browser), Some(driver)) => Some((browser, driver)),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!(
                "chromium and chromedriver are needed: run scripts/test-deps.sh (Debian packages chromium, chromium-driver)"
            )
        }
        _ => {
            eprintln!(
                "SKIPPED: chromium or chromedriver not installed (scripts/test-deps.sh installs them)"
            );
            None
        }
    }
}

/// A running chromedriver and a headless Chromium session, both ended on drop.
struct Browser {
    client: Client,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    async fn start(browser: &std::path::Path, driver: &std::path::Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap();
        let driver = tokio::process::Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let profile = temp_dir("chromium-profile").unwrap();
        let mut args = vec![
            "--headless=new".to_string(),
            "--disable-gpu".into(),
            "--window-size=1280,800".into(),
            "--no-first-run".into(),
            "--no-default-browser-check".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-default-apps".into(),
            "--disable-dev-shm-usage".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        // Chromium refuses to run as root with its sandbox on.
        if is_root() {
            args.push("--no-sandbox".into());
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": browser.display().to_string(), "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        // The workspace's dependencies enable two rustls providers (ring and aws-lc-rs), so
        // rustls cannot pick one itself; the WebDriver link is plain HTTP on loopback anyway.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let client = loop {
            match ClientBuilder::rustls()
                .unwrap()
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break c,
                Err(e) if tokio::time::Instant::now() > deadline => {
                    panic!("could not start headless Chromium through {url}: {e}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Self {
            client,
            _driver: driver,
            _profile: profile,
        }
    }

    /// The text of the element `css`.
    async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits up to `secs` for `css`'s text to satisfy `ok`; returns it, or panics with
    /// the last text seen.
    async fn wait_text(&self, css: &str, secs: u64, ok: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let text = self.text(css).await;
            if ok(&text) {
                return text;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{css} never showed what was expected; last text: {text:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a screenshot of the page at `width` x `height` into `target/`.
    async fn screenshot(&self, width: u32, height: u32, name: &str) -> PathBuf {
        // The window includes the browser's own bars: grow it until the page's
        // viewport is `width` x `height`.
        self.client.set_window_size(width, height).await.unwrap();
        let inner = self
            .client
            .execute("return [window.innerWidth, window.innerHeight]", vec![])
            .await
            .unwrap();
        let dim = |i: usize| inner[i].as_u64().map_or(0, |v| v as u32);
        self.client
            .set_window_size(width * 2 - dim(0), height * 2 - dim(1))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        let png = self.client.screenshot().await.unwrap();
        let dir = target_dir().join("dashboard-screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, png).unwrap();
        path
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find(|l| l.starts_with("Uid:"))
            .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
    })
}

/// `target/` of the build that made `mcpd`.
fn target_dir() -> PathBuf {
    let bin = mcpd_bin();
    bin.parent()
        .and_then(|p| p.parent())
        .map_or_else(|| PathBuf::from("target"), std::path::Path::to_path_buf)
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
    // Both agents have rows (the sampler refreshes every two seconds).
    page.wait_text("#agents-body", 10, |t| {
        t.contains("alpha") && t.contains("beta")
    })
    .await;

    let wide = page.screenshot(1280, 800, "dashboard-1280x800.png").await;
    let phone = page.screenshot(390, 844, "dashboard-phone.png").await;
    eprintln!("screenshots: {} {}", wide.display(), phone.display());
    page.client.set_window_size(1280, 800).await.unwrap();

    // Cancel from the page stops the slow call.
    page.client
        .find(Locator::Css("button.cancel"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
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

const ALICE: &str = "alice-token-0123456789";
const BOB: &str = "bob-token-0123456789abc";

/// The events of one feed connection, read in the background.
struct Feed {
    events: tokio::sync::mpsc::UnboundedReceiver<(String, Value)>,
    _task: tokio::task::JoinHandle<()>,
}

impl Feed {
    /// Opens `/dashboard/events` with `token`; panics unless it is a 200 event stream.
    async fn open(base: &str, token: &str) -> Self {
        let response = reqwest::Client::new()
            .get(format!("{base}/dashboard/events"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200);
        let (tx, events) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let mut body = response.bytes_stream();
            let mut buf = String::new();
            while let Some(Ok(chunk)) = body.next().await {
                buf.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buf.find("\n\n") {
                    let block: String = buf.drain(..end + 2).collect();
                    let name = block
                        .lines()
                        .find_map(|l| l.strip_prefix("event: "))
                        .unwrap_or("message")
                        .to_string();
                    let data: String = block
                        .lines()
                        .filter_map(|l| l.strip_prefix("data: "))
                        .collect();
                    if let Ok(value) = serde_json::from_str(&data) {
                        let _ = tx.send((name, value));
                    }
                }
            }
        });
        Self {
            events,
            _task: task,
        }
    }

    /// Every event received within `secs`, until `stop` says enough.
    async fn collect(
        &mut self,
        secs: u64,
        stop: impl Fn(&str, &Value) -> bool,
    ) -> Vec<(String, Value)> {
        let mut seen = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        while let Ok(Some(event)) = tokio::time::timeout_at(deadline, self.events.recv()).await {
            let done = stop(&event.0, &event.1);
            seen.push(event);
            if done {
                break;
            }
        }
        seen
    }
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
    let Some(s) = Setup::start(Runtime::Local, "suggest", &env).await else {
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

    let mut alice_feed = Feed::open(&base, ALICE).await;
    let mut bob_feed = Feed::open(&base, BOB).await;

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
