//! Benchmark (not a test): what running a Codex call as a task costs, and how `tasks/get`
//! holds up under many pollers (issue 12).
//!
//! 1. Overhead: the same scripted `chat` turn (local runtime, one warm agent), run
//!    alternately as a foreground `tools/call` and as a task of the 2026-07-28 tasks
//!    extension (`tools/call` answered with a task id, then `tasks/get` every
//!    `TASKS_POLL_MS`, default 5 ms, until completed); `TASKS_PAIRS` pairs (default 20).
//!    Both sides are timed from the request to the result in hand, so the task side
//!    includes its polling granularity (at most one interval).
//! 2. `tasks/get` throughput: `TASKS_CLIENTS` clients (default 64) asking for one finished
//!    task back to back for `TASKS_SECONDS` (default 10); requests/s, p50, p99.
//!
//! `cargo build --release -p mcpd && MCPD_BIN=target/release/mcpd cargo bench --profile
//! dev -p codex-mcp-e2e --bench tasks`

use std::time::{Duration, Instant};

use codex_mcp_e2e::bench::{
    Table, answer_pong, emit, env_or, load_average, median, ms, percentile,
};
use codex_mcp_e2e::{Mcpd, Runtime, Setup, last_message};
use serde_json::{Value, json};

const EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// A stateless 2026-07-28 request that declares the tasks extension.
async fn ext_rpc(
    http: &reqwest::Client,
    mcpd: &Mcpd,
    method: &str,
    mut params: Value,
) -> anyhow::Result<Value> {
    params["_meta"] = json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {"extensions": {EXTENSION: {}}}
    });
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut req = http
        .post(format!("{}/mcp", mcpd.base))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", method);
    // The request names its target: the tool, or the task.
    let target = params.get("name").or_else(|| params.get("taskId"));
    if let Some(name) = target.and_then(Value::as_str) {
        req = req.header("mcp-name", name);
    }
    let text = req.body(body.to_string()).send().await?.text().await?;
    let answer = last_message(&text)?;
    anyhow::ensure!(answer.get("error").is_none(), "{method} failed: {answer}");
    Ok(answer["result"].clone())
}

async fn foreground(mcpd: &Mcpd) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let r = mcpd
        .call_tool(
            "chat",
            json!({"message": "ping", "agent_id": "bench-tasks"}),
        )
        .await?;
    anyhow::ensure!(r.get("isError").is_none(), "foreground call failed: {r}");
    Ok(t.elapsed())
}

/// One call as a task, polled to completion; its duration and the task id.
async fn as_task(
    http: &reqwest::Client,
    mcpd: &Mcpd,
    poll: Duration,
) -> anyhow::Result<(Duration, String)> {
    let t = Instant::now();
    let args = json!({"message": "ping", "agent_id": "bench-tasks"});
    let created = ext_rpc(
        http,
        mcpd,
        "tools/call",
        json!({"name": "chat", "arguments": args}),
    )
    .await?;
    let id = created["taskId"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("no taskId in {created}"))?
        .to_string();
    loop {
        let got = ext_rpc(http, mcpd, "tasks/get", json!({"taskId": id})).await?;
        match got["status"].as_str() {
            Some("completed") => return Ok((t.elapsed(), id)),
            Some("working") => tokio::time::sleep(poll).await,
            _ => anyhow::bail!("task {id} ended badly: {got}"),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let pairs = env_or("TASKS_PAIRS", 20);
    let poll = Duration::from_millis(env_or("TASKS_POLL_MS", 5) as u64);
    let clients = env_or("TASKS_CLIENTS", 64);
    let secs = env_or("TASKS_SECONDS", 10) as u64;
    let Some(s) = Setup::start(Runtime::Local, "suggest", &[]).await else {
        anyhow::bail!("the tasks bench needs the Codex CLI");
    };
    answer_pong(&s.model);
    let http = reqwest::Client::new();
    // Warm the agent: its environment, thread and files exist before timing.
    foreground(&s.mcpd).await?;
    let (_, _) = as_task(&http, &s.mcpd, poll).await?;

    let (mut fg, mut tk) = (Vec::new(), Vec::new());
    let mut finished = String::new();
    for _ in 0..pairs {
        fg.push(foreground(&s.mcpd).await?);
        let (took, id) = as_task(&http, &s.mcpd, poll).await?;
        tk.push(took);
        finished = id;
    }
    let ratio = ms(median(&tk)) / ms(median(&fg));

    // Many pollers on one finished task.
    let deadline = Instant::now() + Duration::from_secs(secs);
    let started = Instant::now();
    let workers = (0..clients).map(|_| {
        let (http, mcpd, id) = (http.clone(), &s.mcpd, finished.clone());
        async move {
            let mut times = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                ext_rpc(&http, mcpd, "tasks/get", json!({"taskId": id})).await?;
                times.push(t.elapsed());
            }
            anyhow::Ok(times)
        }
    });
    let mut gets = Vec::new();
    for times in futures::future::join_all(workers).await {
        gets.extend(times?);
    }
    let took = started.elapsed();
    let per_s = gets.len() as f64 / took.as_secs_f64();

    let mut table = Table::new(&["measure", "figure"]);
    table.row(&[
        "foreground chat, median".to_string(),
        format!("{:.1} ms", ms(median(&fg))),
    ]);
    table.row(&[
        format!("as a task (poll {} ms), median", poll.as_millis()),
        format!("{:.1} ms", ms(median(&tk))),
    ]);
    table.row(&[
        "task / foreground (target ≤ 1.02)".to_string(),
        format!("{ratio:.3}"),
    ]);
    table.row(&[
        format!("tasks/get at {clients} clients"),
        format!("{per_s:.0} req/s"),
    ]);
    table.row(&[
        "tasks/get p50 / p99".to_string(),
        format!(
            "{:.2} / {:.2} ms",
            ms(percentile(&gets, 0.5)),
            ms(percentile(&gets, 0.99))
        ),
    ]);
    let notes = vec![format!(
        "{pairs} alternating pairs on one warm local agent; {} tasks/get in {:.1} s; load {}.",
        gets.len(),
        took.as_secs_f64(),
        load_average()
    )];
    let figures = json!({
        "foreground_ms": fg.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
        "task_ms": tk.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
        "ratio": ratio, "clients": clients, "gets_per_s": per_s,
        "get_p50_ms": ms(percentile(&gets, 0.5)), "get_p99_ms": ms(percentile(&gets, 0.99)),
    });
    emit("tasks", &table, &notes, figures)
}
