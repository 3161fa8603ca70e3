//! Finding and killing a process tree on the host through `/proc` (local backend).
//!
//! A process group alone is not enough: Codex starts the commands it runs in process
//! groups of their own. So the tree is the root's process group and session plus every
//! descendant by parent pid, repeated until nothing new turns up.

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The fields of `/proc/<pid>/stat` that matter here.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ProcInfo {
    pub pid: i32,
    pub ppid: i32,
    pub pgrp: i32,
    pub session: i32,
    pub zombie: bool,
}

/// Reads one process's stat line; `None` when it is gone.
pub(crate) fn read_stat(pid: i32) -> Option<ProcInfo> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may itself contain spaces or parentheses.
    let rest = &s[s.rfind(')')? + 2..];
    let mut f = rest.split_ascii_whitespace();
    let state = f.next()?;
    let ppid = f.next()?.parse().ok()?;
    let pgrp = f.next()?.parse().ok()?;
    let session = f.next()?.parse().ok()?;
    Some(ProcInfo {
        pid,
        ppid,
        pgrp,
        session,
        zombie: state == "Z" || state == "X",
    })
}

fn all() -> Vec<ProcInfo> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(read_stat)
        .collect()
}

/// Live processes whose environment holds exactly `entry` (`KEY=VALUE`): how the local
/// backend finds processes it started in an earlier life. Unreadable ones are skipped.
pub(crate) fn with_env_entry(entry: &str) -> Vec<i32> {
    let wanted = entry.as_bytes();
    all()
        .into_iter()
        .filter(|p| !p.zombie)
        .filter(|p| {
            std::fs::read(format!("/proc/{}/environ", p.pid))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|e| e == wanted))
        })
        .map(|p| p.pid)
        .collect()
}

/// The live (non-zombie) members of `root`'s tree.
pub(crate) fn tree(root: i32) -> Vec<i32> {
    let procs = all();
    let mut members: Vec<i32> = vec![root];
    loop {
        let before = members.len();
        for p in &procs {
            if !members.contains(&p.pid)
                && (p.pgrp == root || p.session == root || members.contains(&p.ppid))
            {
                members.push(p.pid);
            }
        }
        if members.len() == before {
            break;
        }
    }
    members
        .into_iter()
        .filter(|pid| procs.iter().any(|p| p.pid == *pid && !p.zombie))
        .collect()
}

/// SIGTERM to the whole tree, up to `grace` for it to go, then SIGKILL to what is left.
pub(crate) async fn kill_tree(root: i32, grace: Duration) {
    let signal_all = |sig: Signal| {
        let pids = tree(root);
        for pid in &pids {
            let _ = kill(Pid::from_raw(*pid), sig);
        }
        pids.len()
    };
    if signal_all(Signal::SIGTERM) == 0 {
        return;
    }
    let deadline = tokio::time::Instant::now() + grace;
    while tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(25)).await;
        if tree(root).is_empty() {
            return;
        }
    }
    // Repeat until nothing is left: a dying process may still fork.
    for _ in 0..20 {
        if signal_all(Signal::SIGKILL) == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}
