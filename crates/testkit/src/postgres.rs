//! A real PostgreSQL server for tests: Debian's `postgresql` binaries (`initdb` +
//! `pg_ctl`), a private cluster in a temp dir, listening on a free 127.0.0.1 port with
//! trust authentication, stopped and removed when dropped.
//!
//! `initdb` refuses to run as root, so under root the cluster belongs to the `postgres`
//! user the Debian package creates, and its commands run through `runuser`.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::codex::is_ci;

/// A running private PostgreSQL cluster.
#[derive(Debug)]
pub struct PgServer {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_postgres: bool,
}

/// The newest `/usr/lib/postgresql/<version>/bin` holding `initdb`, if any.
fn bin_dir() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

impl PgServer {
    /// Starts a cluster with a database named `codex_mcp`, tuned for tests (no fsync).
    /// Fails naming the fix when PostgreSQL is not installed.
    pub fn start() -> Result<Self> {
        Self::start_with("")
    }

    /// [`Self::start`] with extra server options (`-c name=value ...`, applied after the
    /// test defaults, so `-c fsync=on -c synchronous_commit=on` makes a durable server for
    /// benchmarks).
    pub fn start_with(extra_options: &str) -> Result<Self> {
        let Some(bin) = bin_dir() else {
            bail!(
                "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): \
                 install Debian's `postgresql` package (scripts/test-deps.sh does)"
            );
        };
        let as_postgres = fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(1) == 0;
        let dir = tempfile::Builder::new()
            .prefix("codex-mcp-pg")
            .tempdir()
            .context("creating the PostgreSQL temp dir")?;
        if as_postgres {
            run(Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path()))?;
        }
        let mut server = Self {
            bin,
            dir,
            port: 0,
            as_postgres,
        };
        let data = server.data_dir();
        server.run_pg(
            "initdb",
            &[
                "-D",
                &data.display().to_string(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        // A port can be taken between the probe and the start: try a few.
        let mut last = None;
        for _ in 0..5 {
            server.port = free_port()?;
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
                 -c synchronous_commit=off -c full_page_writes=off {extra_options}",
                server.port,
                server.dir.path().display()
            );
            let log = server.dir.path().join("server.log").display().to_string();
            match server.run_pg(
                "pg_ctl",
                &[
                    "-D",
                    &data.display().to_string(),
                    "-o",
                    &options,
                    "-l",
                    &log,
                    "-w",
                    "start",
                ],
            ) {
                Ok(()) => {
                    server.psql("postgres", "CREATE DATABASE codex_mcp")?;
                    return Ok(server);
                }
                Err(e) => last = Some(e),
            }
        }
        let log = fs::read_to_string(server.dir.path().join("server.log")).unwrap_or_default();
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no attempt")))
            .with_context(|| format!("starting PostgreSQL; its log:\n{log}"))
    }

    /// [`Self::start`] for tests: `None` (after printing "SKIPPED: ...") when PostgreSQL
    /// is missing outside CI; under `CI=true` a missing PostgreSQL fails the test.
    pub fn start_or_skip() -> Option<Self> {
        if bin_dir().is_none() && !is_ci() {
            eprintln!("SKIPPED: PostgreSQL is not installed (Debian package `postgresql`)");
            return None;
        }
        match Self::start() {
            Ok(server) => Some(server),
            Err(e) => panic!("{e:#}"),
        }
    }

    /// The URL of database `name` on this server (user `postgres`, no password).
    pub fn url_of(&self, name: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }

    /// The URL of the `codex_mcp` database.
    pub fn url(&self) -> String {
        self.url_of("codex_mcp")
    }

    /// The TCP port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Runs one SQL command with `psql` in database `db`, failing with its output.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String> {
        let out = Command::new(self.bin.join("psql"))
            .args([
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                "127.0.0.1",
            ])
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                db,
                "-c",
                sql,
            ])
            .output()
            .context("running psql")?;
        if !out.status.success() {
            bail!(
                "psql {sql:?} failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn run_pg(&self, tool: &str, args: &[&str]) -> Result<()> {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args).current_dir(self.dir.path());
        run(&mut cmd)
    }
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout).trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.data_dir().display().to_string();
        if let Err(e) = self.run_pg("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]) {
            eprintln!("stopping the test PostgreSQL: {e:#}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cluster_starts_answers_and_goes_away() {
        let Some(server) = PgServer::start_or_skip() else {
            return;
        };
        let dir = server.dir.path().to_path_buf();
        assert_eq!(server.psql("codex_mcp", "SELECT 40 + 2").unwrap(), "42");
        let port = server.port();
        drop(server);
        assert!(!dir.exists(), "{} left behind", dir.display());
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }
}
