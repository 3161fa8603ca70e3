//! How exposed a server is, checked before it starts: who can reach it and what a
//! caller's Codex can read. Dangerous combinations stop startup (exit 2) unless their
//! opt-in is set; an opt-in, or a tokens file other users can read, is a warning shown
//! in the log and in `/health` (`docs/security.md`).

use std::net::SocketAddr;

use crate::settings::{RuntimeChoice, Settings};

/// Whether agents of these settings run on the host (the local runtime): chosen, or
/// `auto` with `PERSISTENT_MODE=false`.
pub fn runs_locally(settings: &Settings) -> bool {
    match settings.runtime {
        RuntimeChoice::Local => true,
        RuntimeChoice::Auto => !settings.persistent_mode,
        RuntimeChoice::Docker | RuntimeChoice::Kubernetes => false,
    }
}

/// The warning for the local runtime with tokens, once opted in.
pub fn local_with_tokens_warning() -> String {
    "MCPD_ALLOW_LOCAL_RUNTIME_WITH_TOKENS=1: agents run on this host (local runtime) while \
     MCPD_TOKENS_FILE shares the server; every token holder's Codex can read this host's \
     files, including ~/.codex/auth.json and the tokens file"
        .to_string()
}

/// Checks the settings of an HTTP server before it starts. `Err`: why it must not
/// start, naming the settings to change; `Ok`: warnings to log and show in `/health`.
pub fn assess(settings: &Settings) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    let tokens = settings.tokens_file.is_some();
    if !tokens && !is_loopback(settings.listen) {
        if !settings.allow_unauthenticated {
            return Err(format!(
                "MCPD_LISTEN={} is reachable from other machines and MCPD_TOKENS_FILE is not \
                 set, so anyone who reaches the port could run Codex here. Set \
                 MCPD_TOKENS_FILE, listen on 127.0.0.1, or set MCPD_ALLOW_UNAUTHENTICATED=1 \
                 to accept this",
                settings.listen
            ));
        }
        warnings.push(format!(
            "MCPD_ALLOW_UNAUTHENTICATED=1: listening on {} without bearer tokens \
             (MCPD_TOKENS_FILE); anyone who reaches the port may use this server",
            settings.listen
        ));
    }
    if tokens && runs_locally(settings) {
        if !settings.allow_local_runtime_with_tokens {
            return Err(format!(
                "MCPD_TOKENS_FILE is set and agents would run on this host \
                 (CODEX_MCP_RUNTIME={}{}): Codex there can read every file of the host, \
                 so any token holder could read ~/.codex/auth.json or the tokens file. Use \
                 CODEX_MCP_RUNTIME=docker, or set MCPD_ALLOW_LOCAL_RUNTIME_WITH_TOKENS=1 to \
                 accept this",
                runtime_name(settings.runtime),
                if settings.runtime == RuntimeChoice::Auto {
                    " with PERSISTENT_MODE=false"
                } else {
                    ""
                }
            ));
        }
        warnings.push(local_with_tokens_warning());
    }
    if let Some(path) = &settings.tokens_file
        && let Some(mode) = codex_mcp_core::embed::file_modes::loose_mode(path)
    {
        warnings.push(format!(
            "MCPD_TOKENS_FILE={} can be read or written by other users (mode {mode:04o}); \
             run chmod 600 {}",
            path.display(),
            path.display()
        ));
    }
    Ok(warnings)
}

fn runtime_name(choice: RuntimeChoice) -> &'static str {
    match choice {
        RuntimeChoice::Auto => "auto",
        RuntimeChoice::Docker => "docker",
        RuntimeChoice::Local => "local",
        RuntimeChoice::Kubernetes => "kubernetes",
    }
}

/// Whether only this machine can reach `addr`.
fn is_loopback(addr: SocketAddr) -> bool {
    addr.ip().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Sources;
    use pretty_assertions::assert_eq;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        let sources = Sources {
            env: pairs
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            home: Some("/home/u".into()),
            ..Sources::default()
        };
        Settings::load(&sources).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn loopback_without_tokens_and_docker_with_tokens_start_quietly() {
        let quiet = [
            settings(&[]),
            settings(&[("MCPD_LISTEN", "[::1]:8210")]),
            settings(&[
                ("MCPD_LISTEN", "0.0.0.0:8210"),
                ("MCPD_TOKENS_FILE", "/nonexistent/tokens.toml"),
                ("CODEX_MCP_RUNTIME", "docker"),
            ]),
        ];
        for s in quiet {
            assert_eq!(assess(&s), Ok(Vec::new()), "{:?}", s.listen);
        }
    }

    #[test]
    fn opt_ins_turn_refusals_into_warnings() {
        let wide = settings(&[("MCPD_LISTEN", "0.0.0.0:8210")]);
        let err = assess(&wide).unwrap_err();
        assert!(
            err.contains("MCPD_LISTEN=0.0.0.0:8210")
                && err.contains("MCPD_TOKENS_FILE")
                && err.contains("MCPD_ALLOW_UNAUTHENTICATED=1"),
            "{err}"
        );
        let local = settings(&[
            ("MCPD_TOKENS_FILE", "/nonexistent/tokens.toml"),
            ("CODEX_MCP_RUNTIME", "auto"),
            ("PERSISTENT_MODE", "false"),
        ]);
        let err = assess(&local).unwrap_err();
        assert!(
            err.contains("CODEX_MCP_RUNTIME=auto with PERSISTENT_MODE=false")
                && err.contains("MCPD_ALLOW_LOCAL_RUNTIME_WITH_TOKENS=1"),
            "{err}"
        );
        let both = settings(&[
            ("MCPD_LISTEN", "0.0.0.0:8210"),
            ("MCPD_ALLOW_UNAUTHENTICATED", "1"),
        ]);
        assert_eq!(assess(&both).map(|w| w.len()), Ok(1));
        let local = settings(&[
            ("MCPD_TOKENS_FILE", "/nonexistent/tokens.toml"),
            ("CODEX_MCP_RUNTIME", "local"),
            ("MCPD_ALLOW_LOCAL_RUNTIME_WITH_TOKENS", "true"),
        ]);
        assert_eq!(assess(&local), Ok(vec![local_with_tokens_warning()]));
    }
}
