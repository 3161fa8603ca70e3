//! `mcpd auth status` and `mcpd auth login`: the credentials as the server would find
//! them, and Codex's own device-code login for hosts without a Codex install.

use std::path::PathBuf;
use std::process::ExitCode;

use codex_mcp_auth::{AuthStatus, detect, login_command};

use crate::cli::AuthCommand;
use crate::credentials::detect_inputs;
use crate::settings::Settings;

/// Runs one `mcpd auth` subcommand.
pub fn run(settings: &Settings, command: &AuthCommand) -> ExitCode {
    match command {
        AuthCommand::Status { json } => status(settings, *json),
        AuthCommand::Login => login(settings),
    }
}

/// Prints the status (human text, or JSON with `--json`); exits with 1 when the
/// credentials cannot serve a call, so scripts can check before starting the server.
fn status(settings: &Settings, json: bool) -> ExitCode {
    let status = detect(&detect_inputs(settings)).status();
    print_status(&status, json);
    if status.ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn print_status(status: &AuthStatus, json: bool) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(status).unwrap_or_default()
        );
    } else {
        print!("{status}");
    }
}

/// Runs `codex login --device-auth` with the terminal attached, writing the login where
/// detection looks first (`CODEX_AUTH_DIR`, else `~/.codex`), then prints the status.
fn login(settings: &Settings) -> ExitCode {
    let inputs = detect_inputs(settings);
    let codex = settings
        .codex_bin
        .clone()
        .unwrap_or_else(|| PathBuf::from("codex"));
    let cmd = login_command(&codex, &inputs);
    let place = inputs.login_dir().map_or_else(
        || "Codex's default home".to_string(),
        |d| d.display().to_string(),
    );
    eprintln!(
        "mcpd: running `{} login --device-auth`; the login will be saved in {place}",
        cmd.program.display()
    );
    let mut child = std::process::Command::new(&cmd.program);
    child.args(&cmd.args);
    // Without CODEX_AUTH_DIR the login must land in ~/.codex, where detection looks,
    // not in a CODEX_HOME this shell happens to have.
    child.env_remove("CODEX_HOME");
    child.envs(cmd.env.iter().map(|(k, v)| (k, v)));
    let outcome = match child.status() {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!(
                "mcpd: cannot run {} ({e}); install the Codex CLI or set CODEX_BIN to it",
                cmd.program.display()
            );
            return ExitCode::FAILURE;
        }
    };
    if !outcome.success() {
        eprintln!("mcpd: the Codex login did not complete ({outcome})");
        return ExitCode::FAILURE;
    }
    let status = detect(&inputs).status();
    print_status(&status, false);
    if status.ready {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
