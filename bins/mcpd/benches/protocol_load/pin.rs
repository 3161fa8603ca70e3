//! Where the load generator and `mcpd` run. Sharing every core lets the scheduler stack
//! both on one core whenever a loopback write wakes the other side, and that, not
//! `mcpd`, then sets the tail latency. So by default the load generator gets its own
//! core(s) and `mcpd` the rest; `MCPD_BENCH_PIN=0` shares them all as before.

use nix::sched::{CpuSet, sched_getaffinity, sched_setaffinity};
use nix::unistd::Pid;

/// The cores each side may use.
pub(crate) struct Placement {
    pub(crate) client: Vec<usize>,
    pub(crate) server: Vec<usize>,
}

impl Placement {
    /// Splits the cores this process may use: the first `client_threads` (leaving at
    /// least one) for the load generator, the rest for `mcpd`. `None` on one core.
    pub(crate) fn split(client_threads: usize) -> Result<Option<Self>, String> {
        let allowed = allowed_cpus()?;
        if allowed.len() < 2 {
            return Ok(None);
        }
        let take = client_threads.clamp(1, allowed.len() - 1);
        Ok(Some(Self {
            client: allowed[..take].to_vec(),
            server: allowed[take..].to_vec(),
        }))
    }
}

/// The CPUs the calling thread may run on.
pub(crate) fn allowed_cpus() -> Result<Vec<usize>, String> {
    let set = sched_getaffinity(Pid::from_raw(0)).map_err(|e| format!("sched_getaffinity: {e}"))?;
    Ok((0..CpuSet::count())
        .filter(|&cpu| set.is_set(cpu).unwrap_or(false))
        .collect())
}

/// Restricts the calling thread, and every thread or process it starts afterwards, to
/// `cpus`.
pub(crate) fn pin_current_thread(cpus: &[usize]) -> Result<(), String> {
    let mut set = CpuSet::new();
    for &cpu in cpus {
        set.set(cpu).map_err(|e| format!("CPU {cpu}: {e}"))?;
    }
    sched_setaffinity(Pid::from_raw(0), &set).map_err(|e| format!("sched_setaffinity: {e}"))
}

/// The CPU numbers as a comma-separated list, for the report.
pub(crate) fn describe(cpus: &[usize]) -> String {
    let list: Vec<String> = cpus.iter().map(ToString::to_string).collect();
    list.join(",")
}
