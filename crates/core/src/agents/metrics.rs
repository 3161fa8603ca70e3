//! Counters of Codex tool calls for `/metrics`: how many by tool and outcome, how long
//! they took, the tokens they used, and what runs now.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use codex_mcp_store::CallStatus;
use parking_lot::Mutex;

use super::AgentManager;
use crate::transport::http::metrics::{MetricsReporter, gauge};

/// Totals since the server started.
#[derive(Default)]
pub(super) struct CallMetrics {
    by_tool: Mutex<BTreeMap<(String, &'static str), Totals>>,
}

#[derive(Default, Clone, Copy)]
struct Totals {
    calls: u64,
    millis: u64,
    tokens_in: u64,
    tokens_out: u64,
}

impl CallMetrics {
    pub(super) fn record(&self, tool: &str, status: CallStatus, millis: u64, tokens: (u64, u64)) {
        let mut by_tool = self.by_tool.lock();
        let t = by_tool
            .entry((tool.to_string(), status.as_str()))
            .or_default();
        t.calls += 1;
        t.millis += millis;
        t.tokens_in += tokens.0;
        t.tokens_out += tokens.1;
    }

    fn snapshot(&self) -> Vec<((String, &'static str), Totals)> {
        self.by_tool
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}

impl MetricsReporter for AgentManager {
    fn render(&self, out: &mut String) {
        let rows = self.metrics.snapshot();
        let _ = writeln!(
            out,
            "# HELP mcpd_tool_calls_total Codex tool calls finished, by tool and status.\n\
             # TYPE mcpd_tool_calls_total counter"
        );
        for ((tool, status), t) in &rows {
            let _ = writeln!(
                out,
                "mcpd_tool_calls_total{{tool=\"{tool}\",status=\"{status}\"}} {}",
                t.calls
            );
        }
        let mut per_tool: BTreeMap<&str, Totals> = BTreeMap::new();
        for ((tool, _), t) in &rows {
            let e = per_tool.entry(tool).or_default();
            e.calls += t.calls;
            e.millis += t.millis;
            e.tokens_in += t.tokens_in;
            e.tokens_out += t.tokens_out;
        }
        let _ = writeln!(
            out,
            "# HELP mcpd_tool_call_duration_seconds Time Codex tool calls took, by tool.\n\
             # TYPE mcpd_tool_call_duration_seconds summary"
        );
        for (tool, t) in &per_tool {
            let _ = writeln!(
                out,
                "mcpd_tool_call_duration_seconds_sum{{tool=\"{tool}\"}} {:.3}\n\
                 mcpd_tool_call_duration_seconds_count{{tool=\"{tool}\"}} {}",
                t.millis as f64 / 1000.0,
                t.calls
            );
        }
        let _ = writeln!(
            out,
            "# HELP mcpd_model_tokens_total Model tokens Codex reported, by direction.\n\
             # TYPE mcpd_model_tokens_total counter\n\
             mcpd_model_tokens_total{{direction=\"in\"}} {}\n\
             mcpd_model_tokens_total{{direction=\"out\"}} {}",
            per_tool.values().map(|t| t.tokens_in).sum::<u64>(),
            per_tool.values().map(|t| t.tokens_out).sum::<u64>()
        );
        let live = self.live_agents();
        gauge(
            out,
            "mcpd_tool_calls_running",
            "gauge",
            "Codex tool calls running now.",
            live.iter().map(|(_, l)| u64::from(l.running)).sum::<u64>(),
        );
        gauge(
            out,
            "mcpd_agent_environments_running",
            "gauge",
            "Agent environments this server counts as running (MAX_CONCURRENT_SESSIONS bounds it).",
            self.running_environments(),
        );
    }
}
