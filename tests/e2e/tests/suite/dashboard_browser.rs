//! Headless Chromium driven through `chromedriver` (WebDriver, the `fantoccini` crate)
//! for the dashboard's browser test: start, read text, wait for it, press keys, take
//! screenshots into `target/dashboard-screenshots/`.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use codex_mcp_e2e::mcpd_bin;
use codex_mcp_testkit::temp_dir;
use fantoccini::actions::{InputSource as _, KeyAction, KeyActions};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// Chromium and its WebDriver, or `None` (said loudly) when missing outside CI; under
/// `CI=true` a missing browser fails the test.
pub fn browser_or_skip() -> Option<(PathBuf, PathBuf)> {
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
pub struct Browser {
    pub client: Client,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start(browser: &std::path::Path, driver: &std::path::Path) -> Self {
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
    pub async fn text(&self, css: &str) -> String {
        match self.client.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Waits up to `secs` for `css`'s text to satisfy `ok`; returns it, or panics with
    /// the last text seen.
    pub async fn wait_text(&self, css: &str, secs: u64, ok: impl Fn(&str) -> bool) -> String {
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

    /// Presses and releases `key` on whatever has the focus.
    pub async fn press(&self, key: Key) {
        let value: char = key.into();
        let keys = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value })
            .then(KeyAction::Up { value });
        self.client.perform_actions(keys).await.unwrap();
    }

    /// Presses Tab until the element matching `css` has the focus; panics after 40.
    pub async fn tab_to(&self, css: &str) {
        let script = format!(
            "return document.activeElement !== null && document.activeElement.matches({})",
            json!(css)
        );
        for _ in 0..40 {
            let focused = self.client.execute(&script, vec![]).await.unwrap();
            if focused == json!(true) {
                return;
            }
            self.press(Key::Tab).await;
        }
        panic!("40 presses of Tab never reached {css}");
    }

    /// Saves a screenshot of the page at `width` x `height` into `target/`.
    pub async fn screenshot(&self, width: u32, height: u32, name: &str) -> PathBuf {
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
