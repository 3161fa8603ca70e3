//! Finding the real Codex CLI: the pinned `@openai/codex` npm package, installed once into
//! a cache folder shared by every test process, or the binary named by `CODEX_BIN`.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};

/// The Codex CLI version every test runs against.
pub const CODEX_VERSION: &str = "0.169.0";

/// Environment variable naming a Codex binary to use instead of installing one.
pub const CODEX_BIN_ENV: &str = "CODEX_BIN";

/// Environment variable naming the cache folder (default `<workspace>/target/test-cache`).
pub const CACHE_ENV: &str = "CODEX_MCP_TEST_CACHE";

/// The npm platform package and Rust target triple of this machine's Codex build.
fn platform() -> Result<(&'static str, &'static str)> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Ok(("codex-linux-x64", "x86_64-unknown-linux-musl")),
        ("linux", "aarch64") => Ok(("codex-linux-arm64", "aarch64-unknown-linux-musl")),
        (os, arch) => bail!("no pinned Codex build for {os}/{arch}"),
    }
}

/// The folder test support caches downloads in: `$CODEX_MCP_TEST_CACHE`, else
/// `$CARGO_TARGET_DIR/test-cache`, else `<workspace>/target/test-cache`.
pub fn test_cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(CACHE_ENV).filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        return std::path::absolute(&dir).unwrap_or(dir);
    }
    target_dir().join("test-cache")
}

/// The Cargo target folder: `$CARGO_TARGET_DIR` or `<workspace>/target`, as an absolute
/// path without `..` (Codex rejects `-o` paths that are not normalized).
pub(crate) fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty()) {
        let dir = PathBuf::from(dir);
        return std::path::absolute(&dir).unwrap_or(dir);
    }
    // crates/testkit -> workspace root
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .unwrap_or(manifest)
        .join("target")
}

/// The folder the pinned npm package is installed into.
fn install_dir() -> PathBuf {
    test_cache_dir().join(format!("codex-{CODEX_VERSION}"))
}

/// `vendor/<triple>` inside an installation folder.
fn vendor_dir_in(prefix: &Path) -> Result<PathBuf> {
    let (package, triple) = platform()?;
    Ok(prefix
        .join("node_modules")
        .join("@openai")
        .join(package)
        .join("vendor")
        .join(triple))
}

/// The real Codex binary: `$CODEX_BIN` if set, else the pinned `@openai/codex@0.169.0`,
/// installed with npm on first use (about 6 s; concurrent test processes wait on a file
/// lock, and the install is renamed into place only when complete). Checks that the
/// binary reports the pinned version (unless it came from `CODEX_BIN`).
pub fn codex_bin() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os(CODEX_BIN_ENV).filter(|v| !v.is_empty()) {
        let bin = PathBuf::from(bin);
        if !bin.is_file() {
            bail!("{CODEX_BIN_ENV}={} is not a file", bin.display());
        }
        return Ok(bin);
    }
    Ok(codex_vendor_dir()?.join("bin").join("codex"))
}

/// The `vendor/<triple>` folder of the pinned installation: `bin/codex`,
/// `bin/codex-code-mode-host`, `codex-resources/bwrap`, `codex-path/rg`. Copy all of it
/// into an agent image, not the binary alone: Codex finds bwrap and rg beside itself.
/// With `CODEX_BIN` set this is the folder above the binary's folder.
pub fn codex_vendor_dir() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os(CODEX_BIN_ENV).filter(|v| !v.is_empty()) {
        let bin = PathBuf::from(bin);
        return bin
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .with_context(|| format!("{CODEX_BIN_ENV}={} has no vendor folder", bin.display()));
    }
    static INSTALLED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| install_pinned().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

/// [`codex_bin`] for tests: `Some(path)` when Codex is available. When it is not, under
/// `CI=true` (or with a bad `CODEX_BIN`) this panics with the reason: a CI run must never
/// skip the real-Codex tests silently. Elsewhere it prints "SKIPPED: ..." and returns
/// `None` so the test can return early.
pub fn codex_bin_or_skip() -> Option<PathBuf> {
    match codex_bin() {
        Ok(bin) => Some(bin),
        Err(e) if is_ci() || std::env::var_os(CODEX_BIN_ENV).is_some_and(|v| !v.is_empty()) => {
            panic!(
                "the real Codex CLI {CODEX_VERSION} is unavailable and this run may not skip \
                 (CI=true or {CODEX_BIN_ENV} set): {e:#}\n(it installs with npm into {}; \
                 set {CODEX_BIN_ENV} to use another binary)",
                install_dir().display()
            )
        }
        Err(e) => {
            eprintln!("SKIPPED: the real Codex CLI {CODEX_VERSION} is unavailable: {e:#}");
            None
        }
    }
}

/// True when the `CI` environment variable is `true` or `1`.
pub fn is_ci() -> bool {
    matches!(std::env::var("CI").as_deref(), Ok("true") | Ok("1"))
}

fn install_pinned() -> Result<PathBuf> {
    let final_dir = install_dir();
    let vendor = vendor_dir_in(&final_dir)?;
    if vendor.join("bin").join("codex").is_file() {
        return Ok(vendor);
    }
    let cache = test_cache_dir();
    fs::create_dir_all(&cache)
        .with_context(|| format!("creating the test cache {}", cache.display()))?;
    let lock_path = cache.join(format!("codex-{CODEX_VERSION}.lock"));
    let lock = File::create(&lock_path)
        .with_context(|| format!("creating lock file {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("locking {}", lock_path.display()))?;
    // Another process may have finished the install while this one waited.
    if !vendor.join("bin").join("codex").is_file() {
        npm_install(&cache, &final_dir)?;
    }
    drop(lock);
    check_version(&vendor.join("bin").join("codex"))?;
    Ok(vendor)
}

fn npm_install(cache: &Path, final_dir: &Path) -> Result<()> {
    let staging = cache.join(format!(
        "codex-{CODEX_VERSION}.staging-{}",
        std::process::id()
    ));
    if staging.exists() {
        fs::remove_dir_all(&staging)?;
    }
    fs::create_dir_all(&staging)?;
    let spec = format!("@openai/codex@{CODEX_VERSION}");
    let output = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&staging)
        .arg(&spec)
        .output()
        .context("running npm (is Node.js installed?)")?;
    if !output.status.success() {
        let _ = fs::remove_dir_all(&staging);
        bail!(
            "npm install {spec} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let bin = vendor_dir_in(&staging)?.join("bin").join("codex");
    if !bin.is_file() {
        let _ = fs::remove_dir_all(&staging);
        bail!(
            "npm installed {spec} but {} is missing (platform package not installed?)",
            bin.display()
        );
    }
    if final_dir.exists() {
        // A broken earlier install (no binary); replace it.
        fs::remove_dir_all(final_dir)?;
    }
    fs::rename(&staging, final_dir)
        .with_context(|| format!("moving {} to {}", staging.display(), final_dir.display()))?;
    Ok(())
}

fn check_version(bin: &Path) -> Result<()> {
    let output = Command::new(bin)
        .arg("--version")
        .output()
        .with_context(|| format!("running {} --version", bin.display()))?;
    let version = String::from_utf8_lossy(&output.stdout);
    if !version.contains(CODEX_VERSION) {
        bail!(
            "{} reports {:?}, expected {CODEX_VERSION}",
            bin.display(),
            version.trim()
        );
    }
    Ok(())
}
