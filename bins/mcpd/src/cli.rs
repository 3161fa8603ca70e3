//! Command-line interface.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// codex-mcp: MCP tools backed by the Codex CLI, one persistent environment per agent.
#[derive(Debug, Parser)]
#[command(name = "mcpd", version, about, long_about = None)]
pub struct Cli {
    /// Config file (TOML; keys are the setting names in lower case).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on (MCPD_LISTEN).
    #[arg(long, global = true, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Data directory (CODEX_MCP_DATA_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Agent runtime: auto, docker, local or kubernetes (CODEX_MCP_RUNTIME).
    #[arg(long, global = true, value_name = "RUNTIME")]
    pub runtime: Option<String>,
    /// Log level (LOG_LEVEL).
    #[arg(long, global = true, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve MCP over HTTP (default) or stdio.
    Serve(ServeArgs),
    /// Inspect and clean up agent environments (through the running mcpd if one
    /// listens on MCPD_LISTEN, else directly on the data dir).
    Agents {
        /// What to do.
        #[command(subcommand)]
        command: AgentsCommand,
        /// Print the tool's structured answer as JSON.
        #[arg(long, global = true)]
        json: bool,
    },
    /// Print the effective settings (secrets redacted) and exit.
    Config {
        /// List every setting with its default and meaning instead.
        #[arg(long)]
        list: bool,
    },
    /// Check the engine, agent image, Codex, data directory and credentials; say how to
    /// fix each problem (exit code 1 when any check fails).
    Doctor,
    /// Open the live dashboard of the server on MCPD_LISTEN in a browser (prints its
    /// address when no browser can be opened).
    Dashboard,
    /// Show or set up the credentials agents use.
    Auth {
        /// What to do.
        #[command(subcommand)]
        command: AuthCommand,
    },
}

/// Subcommands of `mcpd auth`.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Which credentials agents would get: method, source, expiry, problems (never the
    /// secret). Exits with 1 when they cannot serve a call.
    Status {
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sign in with ChatGPT using Codex's device-code login (`codex login --device-auth`),
    /// writing the login where mcpd looks for it.
    Login,
}

/// `mcpd agents` subcommands.
#[derive(Debug, Subcommand)]
pub enum AgentsCommand {
    /// Every agent environment: state, idle time, calls running, container.
    List,
    /// One agent: its session, recent calls, threads and resource use.
    Status {
        /// The agent id.
        agent_id: String,
    },
    /// Remove the environments of stopped agents and of agents idle long enough.
    Cleanup {
        /// Idle time that makes an agent inactive (default SESSION_TIMEOUT).
        #[arg(long, value_name = "SECONDS")]
        idle_seconds: Option<u64>,
        /// Also delete their workspaces, Codex homes and records.
        #[arg(long)]
        purge: bool,
    },
}

/// Arguments of `mcpd serve`.
#[derive(Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// Speak MCP on stdin/stdout instead of HTTP.
    #[arg(long)]
    pub stdio: bool,
    /// Agent id for every call of this stdio connection.
    #[arg(long, value_name = "ID", requires = "stdio")]
    pub agent_id: Option<String>,
}

impl Cli {
    /// Command-line overrides, by setting name.
    pub fn flag_settings(&self) -> Vec<(&'static str, String)> {
        let mut flags = Vec::new();
        if let Some(v) = &self.listen {
            flags.push(("MCPD_LISTEN", v.clone()));
        }
        if let Some(v) = &self.data_dir {
            flags.push(("CODEX_MCP_DATA_DIR", v.display().to_string()));
        }
        if let Some(v) = &self.runtime {
            flags.push(("CODEX_MCP_RUNTIME", v.clone()));
        }
        if let Some(v) = &self.log_level {
            flags.push(("LOG_LEVEL", v.clone()));
        }
        flags
    }
}
