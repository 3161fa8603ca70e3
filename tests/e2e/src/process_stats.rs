//! What a running process holds, read from `/proc`: resident memory and open file
//! descriptors, sampled over time for the soak test's "nothing grows" checks.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `VmRSS` of `pid` in KiB, `None` once it is gone.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// How many file descriptors `pid` has open, `None` once it is gone.
pub fn fd_count(pid: u32) -> Option<usize> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(|d| d.count())
}

/// One sample: seconds since sampling began, RSS in KiB, open file descriptors.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Seconds since the sampler started.
    pub at: f64,
    /// `VmRSS` in KiB.
    pub rss_kib: u64,
    /// Open file descriptors.
    pub fds: usize,
}

/// Samples a process every `every` on a Tokio task until dropped.
pub struct Sampler {
    samples: Arc<Mutex<Vec<Sample>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Sampler {
    /// Starts sampling `pid`.
    pub fn start(pid: u32, every: Duration) -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let into = Arc::clone(&samples);
        let task = tokio::spawn(async move {
            let started = Instant::now();
            loop {
                if let (Some(rss_kib), Some(fds)) = (rss_kib(pid), fd_count(pid)) {
                    let at = started.elapsed().as_secs_f64();
                    into.lock().unwrap_or_else(|p| p.into_inner()).push(Sample {
                        at,
                        rss_kib,
                        fds,
                    });
                }
                tokio::time::sleep(every).await;
            }
        });
        Self { samples, task }
    }

    /// Every sample so far.
    pub fn samples(&self) -> Vec<Sample> {
        self.samples
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The samples as a short table (at most `points` rows, evenly spaced): time, RSS in MiB
/// and file descriptors, for a test's output.
pub fn curve(samples: &[Sample], points: usize) -> String {
    let step = samples.len().div_ceil(points.max(1)).max(1);
    let mut out = String::from("    t(s)  RSS(MiB)  fds\n");
    let picked = samples.iter().step_by(step).chain(samples.last());
    for s in picked {
        out.push_str(&format!(
            "{:8.1}  {:8.1}  {:3}\n",
            s.at,
            s.rss_kib as f64 / 1024.0,
            s.fds
        ));
    }
    out
}
