//! What the benchmarks in `benches/` share: statistics over call times, the machine they
//! ran on, settings from the environment, and their report files. Every bench prints a
//! markdown table; with `BENCH_OUT_DIR` set it also writes `NAME.md` (that table, with the
//! machine's line) and `NAME.json` (the figures) there, which `scripts/bench-report.sh`
//! gathers into `docs/benchmarks.md` and the charts.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use codex_mcp_testkit::{Reply, ScriptedModel};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;

use crate::Mcpd;

/// A whole number from the environment, or `default` when unset or not a number.
pub fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

/// A comma-separated list of whole numbers from the environment (`"1,5,20"`), or
/// `default`.
pub fn env_list(name: &str, default: &[usize]) -> Vec<usize> {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|n| n.trim().parse().ok())
                .collect::<Vec<usize>>()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_vec())
}

/// `BENCH_QUICK=1`: the short run of `scripts/bench-report.sh` (fewer rows, shorter).
pub fn quick() -> bool {
    std::env::var("BENCH_QUICK").is_ok_and(|v| v.trim() == "1")
}

/// The `p` quantile (0..=1) of `times` by nearest rank; zero when empty.
pub fn percentile(times: &[Duration], p: f64) -> Duration {
    let mut v = times.to_vec();
    v.sort();
    if v.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

/// The median of `times`.
pub fn median(times: &[Duration]) -> Duration {
    percentile(times, 0.5)
}

/// The median of the pairwise differences `through[i] - direct[i]`, in milliseconds
/// (signed): for calls run in alternating pairs, steadier than the difference of the
/// two medians when the load drifts during a run.
pub fn median_pair_difference(through: &[Duration], direct: &[Duration]) -> f64 {
    median_f64(pair_differences(through, direct))
}

/// `through[i] - direct[i]` for each pair, in milliseconds (signed).
pub fn pair_differences(through: &[Duration], direct: &[Duration]) -> Vec<f64> {
    through
        .iter()
        .zip(direct)
        .map(|(a, b)| ms(*a) - ms(*b))
        .collect()
}

/// A 95% interval for the median of `values` that assumes nothing about their
/// distribution: the sorted values at ranks k and n-1-k, k from the normal approximation
/// of Binomial(n, 1/2). It says how far one run's median pair difference can be trusted:
/// a target narrower than the interval cannot be judged from that run. `None` below six
/// values, where even the whole range covers less than 95%.
pub fn median_interval(mut values: Vec<f64>) -> Option<(f64, f64)> {
    let n = values.len();
    if n < 6 {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let k = ((n as f64 - 1.96 * (n as f64).sqrt()) / 2.0).floor() as usize;
    Some((*values.get(k)?, *values.get(n.checked_sub(k + 1)?)?))
}

/// A signed median in ms with its interval: `+2.1 ms (+2.0 to +2.3)`.
pub fn with_interval(median: f64, interval: Option<(f64, f64)>) -> String {
    match interval {
        Some((lo, hi)) => format!("{median:+.1} ms ({lo:+.1} to {hi:+.1})"),
        None => format!("{median:+.1} ms"),
    }
}

/// The pair difference with the order of each pair taken out: the mean of the median
/// difference of the pairs that ran mcpd first (even indices) and of those that ran it
/// second (odd indices). The second turn of a pair runs while the first one's process
/// is still being torn down; with alternating orders that adds to each side alike, but
/// it splits the differences into two groups, and the median of the mix can land in
/// either.
pub fn order_balanced_difference(through: &[Duration], direct: &[Duration]) -> f64 {
    let of_order = |first: usize| {
        median_f64(
            through
                .iter()
                .zip(direct)
                .skip(first)
                .step_by(2)
                .map(|(a, b)| ms(*a) - ms(*b))
                .collect(),
        )
    };
    (of_order(0) + of_order(1)) / 2.0
}

/// The median of `values` (the upper one of an even count); 0 when there are none.
pub fn median_f64(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Milliseconds as a float.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`), e.g. `"3.12 2.80 2.10"`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|e| format!("unknown ({e})"))
}

/// CPU cores and memory of this machine plus the load now, one line for a report.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1048576.0);
    format!(
        "{cores} CPU cores, {mem_gib:.1} GiB RAM, load average {}",
        load_average()
    )
}

/// A markdown table being built.
pub struct Table {
    text: String,
}

impl Table {
    /// A table with these column headers; a header starting with `>` is right-aligned.
    pub fn new(headers: &[&str]) -> Self {
        let names: Vec<&str> = headers.iter().map(|h| h.trim_start_matches('>')).collect();
        let rule: Vec<&str> = headers
            .iter()
            .map(|h| if h.starts_with('>') { "---:" } else { "---" })
            .collect();
        Self {
            text: format!("| {} |\n| {} |\n", names.join(" | "), rule.join(" | ")),
        }
    }

    /// Appends one row.
    pub fn row<S: AsRef<str>>(&mut self, cells: &[S]) {
        let cells: Vec<&str> = cells.iter().map(AsRef::as_ref).collect();
        self.text.push_str(&format!("| {} |\n", cells.join(" | ")));
    }

    /// The markdown.
    pub fn markdown(&self) -> &str {
        &self.text
    }
}

/// Prints a bench's result (the table, then `notes` lines) and, with `BENCH_OUT_DIR` set,
/// writes `NAME.md` (the same plus the machine line) and `NAME.json` (`figures` plus the
/// machine) there for `scripts/bench-report.sh`.
pub fn emit(name: &str, table: &Table, notes: &[String], figures: Value) -> anyhow::Result<()> {
    let machine = machine();
    let mut md = table.markdown().to_string();
    for n in notes {
        md.push_str(&format!("\n{n}\n"));
    }
    md.push_str(&format!("\nMachine at the end of the run: {machine}.\n"));
    println!("\n{md}");
    if let Some(dir) = std::env::var_os("BENCH_OUT_DIR").map(PathBuf::from) {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("{name}.md")), &md)?;
        let doc = json!({"bench": name, "machine": machine, "figures": figures});
        std::fs::write(
            dir.join(format!("{name}.json")),
            serde_json::to_vec_pretty(&doc)?,
        )?;
    }
    Ok(())
}

/// One turn's phases, as mcpd logs them at `LOG_LEVEL=debug` (`turn phases`).
#[derive(Debug, Clone, PartialEq)]
pub struct TurnPhases {
    /// The agent the turn ran as.
    pub agent: String,
    /// Each phase's name and milliseconds, in order, `total` last.
    pub phases: Vec<(String, f64)>,
}

/// Every `turn phases` line of an mcpd log, JSON (mcpd's format when its stderr is not
/// a terminal) or text (`agent=ID phases=name=1.23ms ...`).
pub fn turn_phases(log: &str) -> Vec<TurnPhases> {
    log.lines()
        .filter(|l| l.contains("turn phases"))
        .filter_map(|line| {
            let (agent, phases) = match serde_json::from_str::<Value>(line) {
                Ok(v) => (
                    v["fields"]["agent"].as_str()?.to_string(),
                    v["fields"]["phases"].as_str()?.to_string(),
                ),
                Err(_) => (
                    line.split_whitespace()
                        .find_map(|w| w.strip_prefix("agent="))?
                        .to_string(),
                    line.split_once("phases=")?.1.to_string(),
                ),
            };
            let phases = phases
                .split_whitespace()
                .filter_map(|w| {
                    let (name, value) = w.split_once('=')?;
                    Some((name.to_string(), value.strip_suffix("ms")?.parse().ok()?))
                })
                .collect();
            Some(TurnPhases { agent, phases })
        })
        .collect()
}

/// `name 1.23 ms, ...`: the median of each phase over `turns`, in the first turn's
/// order; `None` when there are none.
pub fn phase_medians(turns: &[TurnPhases]) -> Option<String> {
    let first = turns.first()?;
    let medians: Vec<String> = first
        .phases
        .iter()
        .map(|(name, _)| {
            let mut values: Vec<f64> = turns
                .iter()
                .filter_map(|t| t.phases.iter().find(|(n, _)| n == name).map(|(_, v)| *v))
                .collect();
            values.sort_by(f64::total_cmp);
            format!("{name} {:.2} ms", values[values.len() / 2])
        })
        .collect();
    Some(medians.join(", "))
}

/// The `chat` turn every bench measures: what mcpd gives Codex (prompt, output schema)
/// for `{"message": "ping"}`.
pub fn ping_chat() -> anyhow::Result<codex_mcp_tools::PreparedCall> {
    let args = json!({"message": "ping"});
    let args = args
        .as_object()
        .ok_or_else(|| anyhow::anyhow!("chat arguments are not an object"))?;
    Ok(codex_mcp_tools::prepare("chat", args)?)
}

/// Makes every model request answer with a valid `chat` result ("pong").
pub fn answer_pong(model: &ScriptedModel) {
    let answer = json!({"reply": "pong", "follow_up_suggestions": [], "referenced_files": []});
    model.set_fallback(Reply::json(answer));
}

/// One `chat` through `mcpd` for `agent`; its duration. An error result fails.
pub async fn chat_call(mcpd: &Mcpd, agent: &str) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let r = mcpd
        .call_tool("chat", json!({"message": "ping", "agent_id": agent}))
        .await?;
    let took = t.elapsed();
    anyhow::ensure!(r.get("isError").is_none(), "mcpd call failed: {r}");
    Ok(took)
}

/// Runs `cmd` with `input` on its stdin to the end; its duration and stdout. A non-zero
/// exit fails with its stderr.
pub async fn timed_with_stdin(
    cmd: &mut tokio::process::Command,
    input: &str,
) -> anyhow::Result<(Duration, String)> {
    let t = Instant::now();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes()).await?;
    }
    let out = child.wait_with_output().await?;
    let took = t.elapsed();
    anyhow::ensure!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok((took, String::from_utf8_lossy(&out.stdout).into_owned()))
}

/// The Codex turn mcpd runs in an agent container, done by `docker exec -i CONTAINER codex
/// exec [resume THREAD] ...` with the prompt on stdin and the schema mcpd uploaded: a new
/// thread, or a resume of `thread`. Returns its duration and the thread id. The `docker`
/// client process it starts costs more than the turn's API calls themselves: the fair
/// floor is [`crate::engine_exec::Engine::turn`].
pub async fn docker_exec_turn(
    container: &str,
    thread: Option<&str>,
    prompt: &str,
) -> anyhow::Result<(Duration, Option<String>)> {
    let mut args = vec!["exec", "-i", container];
    args.extend(codex_turn_argv(thread));
    let mut cmd = tokio::process::Command::new("docker");
    cmd.args(&args);
    let (took, stdout) = timed_with_stdin(&mut cmd, prompt).await?;
    Ok((took, thread_started(&stdout)))
}

/// The argv of the floor's Codex turn in an agent container: a new thread in the
/// workspace, or a resume of `thread`, with the schema mcpd uploaded and the prompt on
/// stdin.
pub fn codex_turn_argv(thread: Option<&str>) -> Vec<&str> {
    let mut args = vec!["codex", "exec"];
    if let Some(t) = thread {
        args.extend(["resume", t]);
    }
    args.extend([
        "--json",
        "--skip-git-repo-check",
        "--output-schema",
        "/home/agent/.codex/codex-mcp/schemas/chat.json",
        "--dangerously-bypass-approvals-and-sandbox",
    ]);
    if thread.is_none() {
        args.extend(["-C", "/workspace"]);
    }
    args.push("-");
    args
}

/// The thread id of Codex's `thread.started` event in its `--json` output.
pub fn thread_started(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|e| e["type"] == "thread.started")
        .and_then(|e| e["thread_id"].as_str().map(str::to_string))
}

/// Memory in use (MiB) of each of `containers`, sorted, from one `docker stats` sample
/// (Docker's figure: the cgroup's usage less its inactive file cache).
pub fn container_memory_mib(containers: &[String]) -> anyhow::Result<Vec<f64>> {
    let mut args = vec!["stats", "--no-stream", "--format", "{{.MemUsage}}"];
    args.extend(containers.iter().map(String::as_str));
    let out = crate::docker::docker_ok(&args)?;
    let mut mib: Vec<f64> = out
        .lines()
        .filter_map(|l| l.split('/').next())
        .filter_map(|used| {
            let used = used.trim();
            let (num, unit) = used.split_at(used.find(|c: char| c.is_ascii_alphabetic())?);
            let n: f64 = num.parse().ok()?;
            Some(match unit {
                "GiB" => n * 1024.0,
                "MiB" => n,
                "KiB" | "kB" => n / 1024.0,
                _ => n / (1024.0 * 1024.0),
            })
        })
        .collect();
    anyhow::ensure!(!mib.is_empty(), "no docker stats: {out}");
    mib.sort_by(f64::total_cmp);
    Ok(mib)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&v, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&v, 1.0), Duration::from_millis(100));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    fn millis(v: &[u64]) -> Vec<Duration> {
        v.iter().copied().map(Duration::from_millis).collect()
    }

    #[test]
    fn the_pair_difference_is_signed_and_taken_per_pair() {
        // Medians 20 and 20, yet each pair is 5 ms apart one way or the other.
        let (through, direct) = (millis(&[10, 20, 35]), millis(&[5, 25, 30]));
        assert_eq!(median_pair_difference(&through, &direct), 5.0);
        assert_eq!(median_pair_difference(&direct, &through), -5.0);
        assert_eq!(median_pair_difference(&[], &[]), 0.0);
    }

    #[test]
    fn the_median_interval_takes_order_statistics_by_the_count() {
        let values = |n: u32| (1..=n).rev().map(f64::from).collect::<Vec<_>>();
        let got: Vec<_> = [5, 6, 10, 40, 220]
            .into_iter()
            .map(|n| (n, median_interval(values(n))))
            .collect();
        // 40 pairs: ranks 14 and 27 of 40; 220 pairs: ranks 96 and 125.
        let want = vec![
            (5, None),
            (6, Some((1.0, 6.0))),
            (10, Some((2.0, 9.0))),
            (40, Some((14.0, 27.0))),
            (220, Some((96.0, 125.0))),
        ];
        assert_eq!(got, want);
        assert_eq!(
            with_interval(2.06, Some((1.96, 2.24))),
            "+2.1 ms (+2.0 to +2.2)"
        );
        assert_eq!(with_interval(-0.5, None), "-0.5 ms");
    }

    #[test]
    fn the_order_balanced_difference_takes_each_order_apart() {
        // mcpd first (even): 4 ms faster each time; second (odd): 8 ms slower each time.
        // The median of all four is +8; each order's median is -4 and +8: +2 balanced.
        let through = millis(&[100, 208, 100, 208]);
        let direct = millis(&[104, 200, 104, 200]);
        assert_eq!(median_pair_difference(&through, &direct), 8.0);
        assert_eq!(order_balanced_difference(&through, &direct), 2.0);
    }

    #[test]
    fn a_table_is_markdown_with_aligned_columns() {
        let mut t = Table::new(&["case", ">ms"]);
        t.row(&["warm", "1.5"]);
        assert_eq!(
            t.markdown(),
            "| case | ms |\n| --- | ---: |\n| warm | 1.5 |\n"
        );
    }

    #[test]
    fn lists_from_the_environment_fall_back_when_unset() {
        assert_eq!(env_list("BENCH_NO_SUCH_LIST_X", &[1, 5]), vec![1, 5]);
    }

    #[test]
    fn turn_phases_are_read_from_the_debug_lines_and_summed_up_by_median() {
        let log = r#"2026-12-07T12:00:00Z  INFO mcpd: codex call finished call=c1 agent=a
2026-12-07T12:00:00Z DEBUG codex_mcp_core::agents::turn: turn phases call=c1 agent=a phases=open_call=0.50ms ready=2.00ms total=10.00ms
2026-12-07T12:00:01Z DEBUG codex_mcp_core::agents::turn: turn phases call=c2 agent=b phases=open_call=0.30ms ready=4.00ms total=12.00ms
{"level":"DEBUG","fields":{"message":"turn phases","call":"c3","agent":"b","phases":"open_call=0.10ms ready=1.00ms total=8.00ms"}}
"#;
        let turns = turn_phases(log);
        let phases = |v: &[(&str, f64)]| v.iter().map(|(n, v)| (n.to_string(), *v)).collect();
        assert_eq!(
            turns[0],
            TurnPhases {
                agent: "a".into(),
                phases: phases(&[("open_call", 0.5), ("ready", 2.0), ("total", 10.0)]),
            }
        );
        assert_eq!(turns.len(), 3);
        assert_eq!(
            phase_medians(&turns).as_deref(),
            Some("open_call 0.30 ms, ready 2.00 ms, total 10.00 ms")
        );
        assert_eq!(phase_medians(&[]), None);
    }
}
