//! CPU and memory figures from the engine's stats API.

use bollard::models::ContainerStatsResponse;
use bollard::query_parameters::StatsOptionsBuilder;
use futures::StreamExt;

use super::DockerRuntime;
use crate::AgentStatus;

/// Fills in CPU and memory use of a running container with one non-streaming stats call,
/// in which the engine takes two samples of its own (its collector ticks once a second),
/// so this takes 1–2 s. Two one-shot calls are no faster: after the first, every one-shot
/// call also waits for the next tick (measured on Docker 20.10). Failures leave the fields
/// empty: the figures are informative.
pub(super) async fn fill(rt: &DockerRuntime, id: &str, st: &mut AgentStatus) {
    let opts = StatsOptionsBuilder::new()
        .stream(false)
        .one_shot(false)
        .build();
    let Some(Ok(s)) = rt.docker.stats(id, Some(opts)).next().await else {
        return;
    };
    st.cpu_percent = cpu_percent(&s);
    st.memory_bytes = memory_in_use(&s);
    if st.memory_limit_bytes.is_none() {
        st.memory_limit_bytes = s.memory_stats.as_ref().and_then(|m| m.limit);
    }
}

/// CPU use in percent of one CPU, computed as the Docker CLI does.
pub(crate) fn cpu_percent(s: &ContainerStatsResponse) -> Option<f64> {
    let cpu = s.cpu_stats.as_ref()?;
    let pre = s.precpu_stats.as_ref()?;
    let total = cpu.cpu_usage.as_ref()?.total_usage?;
    let pre_total = pre.cpu_usage.as_ref()?.total_usage?;
    let system = cpu.system_cpu_usage?;
    let pre_system = pre.system_cpu_usage?;
    let cpus = cpu.online_cpus.map(f64::from).or_else(|| {
        let n = cpu.cpu_usage.as_ref()?.percpu_usage.as_ref()?.len();
        u32::try_from(n).ok().map(f64::from)
    })?;
    let cpu_delta = total.checked_sub(pre_total)? as f64;
    let system_delta = system.checked_sub(pre_system)? as f64;
    (system_delta > 0.0).then(|| cpu_delta / system_delta * cpus * 100.0)
}

/// Memory in use without reclaimable page cache, as the Docker CLI shows it (cgroup v1
/// `total_inactive_file`, v2 `inactive_file`).
pub(crate) fn memory_in_use(s: &ContainerStatsResponse) -> Option<u64> {
    let m = s.memory_stats.as_ref()?;
    let usage = m.usage?;
    let inactive = m
        .stats
        .as_ref()
        .and_then(|st| {
            st.get("total_inactive_file")
                .or_else(|| st.get("inactive_file"))
                .copied()
        })
        .unwrap_or(0);
    Some(usage.saturating_sub(inactive))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::{ContainerCpuStats, ContainerCpuUsage, ContainerMemoryStats};
    use std::collections::HashMap;

    fn cpu(total: u64, system: u64) -> ContainerCpuStats {
        ContainerCpuStats {
            cpu_usage: Some(ContainerCpuUsage {
                total_usage: Some(total),
                ..Default::default()
            }),
            system_cpu_usage: Some(system),
            online_cpus: Some(2),
            ..Default::default()
        }
    }

    #[test]
    fn figures_like_the_cli() {
        let s = ContainerStatsResponse {
            cpu_stats: Some(cpu(1_500, 20_000)),
            precpu_stats: Some(cpu(1_000, 10_000)),
            memory_stats: Some(ContainerMemoryStats {
                usage: Some(10_000),
                stats: Some(HashMap::from([("total_inactive_file".to_string(), 4_000)])),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(cpu_percent(&s), Some(10.0));
        assert_eq!(memory_in_use(&s), Some(6_000));
        assert_eq!(cpu_percent(&ContainerStatsResponse::default()), None);
    }
}
