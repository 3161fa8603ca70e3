//! `mcpd`: the codex-mcp server binary. Thin on purpose: it parses the command line and
//! settings, sets up logging, and hands over to `codex-mcp-core`.

mod agents_cmd;
mod app;
mod auth_cmd;
mod bridge;
mod cli;
mod credentials;
mod dashboard_cmd;
mod doctor;
mod exposure;
mod settings;
mod tokens;

use std::process::ExitCode;

use clap::Parser as _;
use codex_mcp_core::StdioOptions;
use tokio_util::sync::CancellationToken;

use crate::cli::{Cli, Command, ServeArgs};
use crate::settings::{LogFormat, Settings, Sources};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let sources = Sources {
        file: cli.config.clone(),
        env: std::env::vars().collect(),
        flags: cli.flag_settings(),
        home: std::env::var_os("HOME").map(Into::into),
    };
    let mut settings = match Settings::load(&sources) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mcpd: invalid configuration: {e}");
            return ExitCode::from(2);
        }
    };
    for (agent, folder) in &settings.agent_workspaces {
        if let Err(e) = codex_mcp_runtime::resolve_workspace(folder, &settings.workspace_roots) {
            eprintln!(
                "mcpd: invalid configuration: CODEX_MCP_AGENT_WORKSPACES: agent {agent}: {e}"
            );
            return ExitCode::from(2);
        }
    }
    if let Some(path) = &settings.tokens_file {
        match tokens::load(path) {
            Ok(table) => settings.tokens = Some(table),
            Err(e) => {
                eprintln!("mcpd: invalid configuration: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let serves_http = match &cli.command {
        None => true,
        Some(Command::Serve(args)) => !args.stdio,
        Some(_) => false,
    };
    if serves_http {
        match exposure::assess(&settings) {
            Ok(warnings) => settings.exposure_warnings = warnings,
            Err(e) => {
                eprintln!("mcpd: invalid configuration: {e}");
                return ExitCode::from(2);
            }
        }
    }
    init_logging(&settings);
    for warning in &settings.exposure_warnings {
        tracing::warn!("{warning}");
    }
    let runtime = match runtime_builder().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mcpd: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Some(Command::Config { list: true }) => {
            println!("{}", Settings::describe());
            Ok(())
        }
        Some(Command::Config { list: false }) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&settings.redacted()).unwrap_or_default()
            );
            Ok(())
        }
        Some(Command::Dashboard) => dashboard_cmd::run(&settings),
        Some(Command::Doctor) => return runtime.block_on(doctor::run(&settings)),
        Some(Command::Agents { command, json }) => {
            match runtime.block_on(agents_cmd::run(&settings, &command, json)) {
                Ok(true) => Ok(()),
                Ok(false) => return ExitCode::FAILURE,
                Err(e) => Err(e),
            }
        }
        Some(Command::Auth { command }) => return auth_cmd::run(&settings, &command),
        Some(Command::Serve(args)) => runtime.block_on(serve(settings, args)),
        None => runtime.block_on(serve(settings, ServeArgs::default())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mcpd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The async runtime: one worker thread fewer than there are cores (at least one),
/// unless `TOKIO_WORKER_THREADS` says otherwise. mcpd's own work is light (tens of
/// microseconds of CPU per MCP request); the heavy work runs in Codex processes, Docker
/// and blocking threads, which get the core left over. On a 2-core machine this halved
/// p99 latency under load without lowering throughput (docs/benchmarks.md).
fn runtime_builder() -> tokio::runtime::Builder {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        builder.worker_threads(cores.saturating_sub(1).max(1));
    }
    builder
}

/// Logs to stderr (stdout may be the stdio transport). JSON lines carry the fields of
/// every span they ran in, so a tool call's correlation id is on each line of that call.
fn init_logging(settings: &Settings) {
    use std::io::IsTerminal as _;
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("{},hyper=warn", settings.log_level))
    });
    let format = settings
        .log_format
        .unwrap_or(if std::io::stderr().is_terminal() {
            LogFormat::Text
        } else {
            LogFormat::Json
        });
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter)
        .with_target(false);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(false)
            .with_span_list(true)
            .init(),
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}

async fn serve(settings: Settings, args: ServeArgs) -> anyhow::Result<()> {
    if args.stdio {
        // Another mcpd owns the data dir: serve this client through it. Checked before
        // building anything, so that nothing here touches the owner's agents.
        if let Some(stream) = bridge::connect(&settings.data_dir).await? {
            return bridge_stdio(stream, &settings, args).await;
        }
    }
    let mcp = match app::build(&settings).await {
        Ok(mcp) => mcp,
        Err(e) if args.stdio && store_in_use(&e) => {
            // Another mcpd took the data dir a moment ago: wait for its socket.
            match bridge::wait_for_owner(&settings.data_dir, OWNER_SOCKET_PATIENCE).await? {
                Some(stream) => return bridge_stdio(stream, &settings, args).await,
                None => return Err(e),
            }
        }
        Err(e) => return Err(e),
    };
    let socket_stop = CancellationToken::new();
    let socket_task = owner_socket(&mcp, &settings, socket_stop.clone());
    let served = serve_owner(&mcp, &settings, args).await;
    socket_stop.cancel();
    if let Some(task) = socket_task {
        let _ = task.await;
    }
    served
}

/// How long a stdio mcpd that lost the race for the data dir waits for the winner's
/// socket.
const OWNER_SOCKET_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// Whether building failed because another mcpd holds the data dir's store.
fn store_in_use(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<codex_mcp_core::EmbedError>(),
            Some(codex_mcp_core::EmbedError::Store {
                source: codex_mcp_store::StoreError::InUse { .. },
                ..
            })
        )
    })
}

async fn bridge_stdio(
    stream: tokio::net::UnixStream,
    settings: &Settings,
    args: ServeArgs,
) -> anyhow::Result<()> {
    tracing::info!(
        data_dir = %settings.data_dir.display(),
        "another mcpd owns the data dir: serving this stdio client through it"
    );
    bridge::run(stream, &settings.data_dir, args.agent_id, shutdown_signal()).await?;
    Ok(())
}

/// The owner's socket for stdio mcpd processes started later on the same data dir,
/// served until `stop` is cancelled. Without it (say, a path too long for a socket) this
/// mcpd still serves, but those processes cannot start.
fn owner_socket(
    mcp: &codex_mcp_core::CodexMcp,
    settings: &Settings,
    stop: CancellationToken,
) -> Option<tokio::task::JoinHandle<()>> {
    use codex_mcp_core::transport::local_socket::{LocalSocket, SOCKET_FILE};
    let path = settings.data_dir.join(SOCKET_FILE);
    match LocalSocket::bind(&path) {
        Ok(socket) => {
            tracing::info!(path = %path.display(), "serving other stdio mcpd processes on this data dir through its socket");
            Some(tokio::spawn(socket.serve(mcp.server().clone(), stop)))
        }
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot open the data dir's socket: a second `mcpd serve --stdio` on this data dir will not start");
            None
        }
    }
}

async fn serve_owner(
    mcp: &codex_mcp_core::CodexMcp,
    settings: &Settings,
    args: ServeArgs,
) -> anyhow::Result<()> {
    if args.stdio {
        tracing::info!("serving MCP on stdio");
        let token = CancellationToken::new();
        let stop = token.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            stop.cancel();
        });
        let options = StdioOptions {
            agent: args.agent_id,
            ..Default::default()
        };
        mcp.serve_stdio(options, token).await?;
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {} (MCPD_LISTEN): {e}", settings.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "mcpd listening: streamable HTTP at http://{addr}/mcp, legacy SSE at http://{addr}/sse");
    mcp.serve_http(listener, shutdown_signal()).await?;
    tracing::info!("mcpd stopped");
    Ok(())
}
