//! Where a turn's time goes: one debug line per turn with each phase's milliseconds
//! (`turn phases`), so mcpd's own share of a call (records, file uploads, look-ups)
//! can be told apart from Codex's.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Phase durations of one turn, in the order they ended.
#[derive(Debug)]
pub(super) struct Phases {
    start: Instant,
    last: Instant,
    marks: Vec<(&'static str, Duration)>,
}

impl Phases {
    /// Starts the clock.
    pub(super) fn start() -> Self {
        let now = Instant::now();
        Self {
            start: now,
            last: now,
            marks: Vec::with_capacity(8),
        }
    }

    /// Ends `phase`: the time since the previous mark (or the start).
    pub(super) fn mark(&mut self, phase: &'static str) {
        let now = Instant::now();
        self.marks.push((phase, now - self.last));
        self.last = now;
    }

    /// `name=1.23ms ...` for every phase, then `total`.
    pub(super) fn summary(&self) -> String {
        let mut out = String::new();
        for (phase, took) in &self.marks {
            let _ = write!(out, "{phase}={:.2}ms ", took.as_secs_f64() * 1e3);
        }
        let _ = write!(
            out,
            "total={:.2}ms",
            (self.last - self.start).as_secs_f64() * 1e3
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Phases;

    #[test]
    fn summary_names_every_phase_in_order_then_the_total() {
        let mut p = Phases::start();
        p.mark("open");
        std::thread::sleep(std::time::Duration::from_millis(2));
        p.mark("codex");
        let s = p.summary();
        let names: Vec<&str> = s
            .split(' ')
            .map(|f| f.split('=').next().unwrap_or(""))
            .collect();
        assert_eq!(names, vec!["open", "codex", "total"]);
        let codex: f64 = s
            .split(' ')
            .nth(1)
            .and_then(|f| f.strip_prefix("codex="))
            .and_then(|v| v.strip_suffix("ms"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        assert!(codex >= 2.0, "{s}");
    }
}
