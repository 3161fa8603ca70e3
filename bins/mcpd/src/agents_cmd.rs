//! `mcpd agents list|status|cleanup`: the container tools from a shell.
//!
//! A running mcpd owns the store and the agents' environments, so the command asks it
//! (`/tools/{name}` on `MCPD_LISTEN`). When nothing listens there, no mcpd is running
//! on these settings and the command builds the engine itself and calls the same tool
//! in-process; either way the answer is the tool's own.

use std::time::Duration;

use anyhow::{Context as _, bail};
use bytes::Bytes;
use codex_mcp_core::server::CtxParts;
use codex_mcp_protocol::jsonrpc::{Request, RequestId};
use http_body_util::{BodyExt as _, Full};
use serde_json::{Value, json};

use crate::cli::AgentsCommand;
use crate::settings::Settings;

/// How long the command waits for a running server's answer.
const SERVER_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs the subcommand; `Ok(false)` when the tool answered with an error.
pub async fn run(
    settings: &Settings,
    command: &AgentsCommand,
    json_out: bool,
) -> anyhow::Result<bool> {
    let (tool, arguments) = match command {
        AgentsCommand::List => ("list_active_agents", json!({})),
        AgentsCommand::Status { agent_id } => ("get_agent_status", json!({ "agent_id": agent_id })),
        AgentsCommand::Cleanup {
            idle_seconds,
            purge,
        } => {
            let mut args = json!({ "purge": purge });
            if let Some(s) = idle_seconds {
                args["idle_seconds"] = json!(s);
            }
            ("cleanup_inactive_agents", args)
        }
    };
    let result = match ask_server(settings, tool, &arguments).await? {
        Some(result) => result,
        None => {
            tracing::info!(
                listen = %settings.listen,
                "no mcpd answers on MCPD_LISTEN: working on the data dir directly"
            );
            in_process(settings, tool, arguments).await?
        }
    };
    if result.get("isError").and_then(Value::as_bool) == Some(true) {
        let text = result
            .pointer("/content/0/text")
            .and_then(Value::as_str)
            .unwrap_or("the tool failed without a message");
        eprintln!("mcpd agents: {text}");
        return Ok(false);
    }
    let structured = result
        .get("structuredContent")
        .cloned()
        .unwrap_or(Value::Null);
    if json_out {
        println!("{}", serde_json::to_string_pretty(&structured)?);
    } else {
        println!("{}", render(command, &structured));
    }
    Ok(true)
}

/// The tool's result from the server on `MCPD_LISTEN`, or `None` when nothing listens.
async fn ask_server(
    settings: &Settings,
    tool: &str,
    arguments: &Value,
) -> anyhow::Result<Option<Value>> {
    let mut addr = settings.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let stream = match tokio::net::TcpStream::connect(addr).await {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return Ok(None),
        Err(e) => {
            return Err(e).with_context(|| format!("cannot reach mcpd at {addr} (MCPD_LISTEN)"));
        }
    };
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .with_context(|| format!("{addr} (MCPD_LISTEN) does not speak HTTP"))?;
    tokio::spawn(conn);
    let mut request = http::Request::post(format!("/tools/{tool}"))
        .header(http::header::HOST, addr.to_string())
        .header(http::header::CONTENT_TYPE, "application/json");
    if let Some(token) = &settings.token {
        request = request.header(http::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request.body(Full::new(Bytes::from(arguments.to_string())))?;
    let response = tokio::time::timeout(SERVER_TIMEOUT, sender.send_request(request))
        .await
        .with_context(|| format!("mcpd at {addr} did not answer within {SERVER_TIMEOUT:?}"))??;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    let value: Value = serde_json::from_slice(&body).with_context(|| {
        format!("mcpd at {addr} answered {status} with a body that is not JSON")
    })?;
    if let Some(error) = value.get("error").and_then(Value::as_str) {
        bail!("mcpd at {addr} refused the request ({status}): {error}");
    }
    Ok(Some(value))
}

/// Builds the engine on these settings and calls the tool without any transport.
async fn in_process(settings: &Settings, tool: &str, arguments: Value) -> anyhow::Result<Value> {
    let (server, _http, _credentials, _manager) = crate::app::build(settings).await?;
    let request = Request {
        jsonrpc: "2.0".into(),
        id: RequestId::Number(1),
        method: "tools/call".into(),
        params: Some(json!({ "name": tool, "arguments": arguments })),
    };
    let response = server.handle_request(request, CtxParts::default()).await;
    match (response.result, response.error) {
        (Some(result), _) => Ok(result),
        (None, Some(e)) => bail!("{tool}: {}", e.message),
        (None, None) => bail!("{tool} returned nothing"),
    }
}

/// A short human-readable rendering of the tool's answer.
fn render(command: &AgentsCommand, v: &Value) -> String {
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    };
    match command {
        AgentsCommand::List => {
            let agents = v["agents"].as_array().cloned().unwrap_or_default();
            if agents.is_empty() {
                return "no agent environments".into();
            }
            let mut out = format!(
                "{:<24} {:<9} {:>8} {:>7}  {}",
                "AGENT", "STATE", "IDLE_S", "CALLS", "CONTAINER"
            );
            for a in agents {
                let container: String = s(&a["container_id"]).chars().take(12).collect();
                out.push_str(&format!(
                    "\n{:<24} {:<9} {:>8} {:>7}  {}",
                    s(&a["agent_id"]),
                    s(&a["state"]),
                    s(&a["idle_seconds"]),
                    s(&a["running_calls"]),
                    container
                ));
            }
            out
        }
        AgentsCommand::Status { .. } => serde_json::to_string_pretty(v).unwrap_or_default(),
        AgentsCommand::Cleanup { .. } => {
            let removed: Vec<String> = v["removed"]
                .as_array()
                .map(|r| r.iter().map(|a| s(&a["agent_id"])).collect())
                .unwrap_or_default();
            format!(
                "removed {} agent environment(s){}{}; kept {}",
                removed.len(),
                if removed.is_empty() { "" } else { ": " },
                removed.join(", "),
                s(&v["kept"])
            )
        }
    }
}
