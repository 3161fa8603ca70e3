//! Keeping a run's output and status where a reader that attaches later finds them: the
//! files `<base>.out`, `<base>.err` and `<base>.rc` beside the pid file `<base>.pid`.
//!
//! The process writes into pipes this program holds, which never break: when the stream
//! to mcpd goes (mcpd restarted), the copy to it stops and the copy to the file goes on.
//! The layout is the shell wrapper's (`crates/runtime/src/docker/durable.rs`), so its
//! reader, probe, stopper and reaper work on runs of either.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

/// Files of one run kept for re-attaching.
pub const SUFFIXES: [&str; 5] = ["out", "err", "code", "pid", "rc"];

/// How many ended runs' files wait before one sweep removes them all.
pub const SWEEP_AT: usize = 4;

/// `<base>.<suffix>` for the pid file `<base>.pid`.
pub fn sibling(pid_file: &Path, suffix: &str) -> PathBuf {
    pid_file.with_extension(suffix)
}

/// Removes the files of the runs named `prefix*` that have ended (those with an `.rc`)
/// once there are [`SWEEP_AT`] of them; returns how many runs it removed. A folder that
/// cannot be read sweeps nothing: the sweep only saves space.
pub fn sweep(prefix: &str) -> usize {
    let prefix = Path::new(prefix);
    let (Some(dir), Some(stem)) = (prefix.parent(), prefix.file_name()) else {
        return 0;
    };
    let stem = stem.as_encoded_bytes();
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    let ended: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .filter(|n| {
            let n = n.as_encoded_bytes();
            n.starts_with(stem) && n.ends_with(b".rc")
        })
        .map(|n| dir.join(n))
        .collect();
    if ended.len() < SWEEP_AT {
        return 0;
    }
    for rc in &ended {
        for suffix in SUFFIXES {
            let _ = fs::remove_file(rc.with_extension(suffix));
        }
    }
    ended.len()
}

/// A file only this run's user reads (`/tmp` is the container's own; the mode is for a
/// host folder in tests).
pub fn create_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

/// Copies `from` to `stream` and to `file` until `from` ends, in a thread of its own.
/// A write to the stream that fails (the reader went away) ends the copies to the stream
/// only; a write to the file that fails ends the copies to the file only, as `tee` does.
pub fn tee(
    mut from: impl Read + Send + 'static,
    stream: Option<File>,
    file: Option<File>,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("tee".into())
        .spawn(move || {
            let (mut stream, mut file) = (stream, file);
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match from.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => return,
                };
                if stream
                    .as_mut()
                    .is_some_and(|s| s.write_all(&buf[..n]).is_err())
                {
                    stream = None;
                }
                if file
                    .as_mut()
                    .is_some_and(|f| f.write_all(&buf[..n]).is_err())
                {
                    file = None;
                }
            }
        })
}

/// Records the end of the run: its status in `<base>.rc`, then an empty pid file (the run
/// no longer runs; the probe and the reader look at both).
pub fn record_end(pid_file: &Path, code: i32) -> io::Result<()> {
    let rc = sibling(pid_file, "rc");
    let mut tmp = OsString::from(rc.as_os_str());
    tmp.push(".tmp");
    // Whole or absent: a reader sees no `.rc` until it holds the status.
    fs::write(&tmp, format!("{code}\n"))?;
    fs::rename(&tmp, &rc)?;
    File::create(pid_file).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn the_sweep_waits_for_four_ended_runs_and_leaves_running_ones_and_strangers() {
        let dir = crate::test_folder("keep-sweep");
        let prefix = format!("{}/.run-", dir.display());
        let touch = |n: &str| fs::write(dir.join(n), b"x").unwrap();
        for run in ["a", "b", "c"] {
            for s in SUFFIXES {
                touch(&format!(".run-{run}.{s}"));
            }
        }
        touch(".run-live.pid");
        touch(".run-live.out");
        touch("other.rc");
        assert_eq!(sweep(&prefix), 0, "three ended runs wait");
        assert_eq!(names(&dir).len(), 18);
        touch(".run-d.rc");
        assert_eq!(sweep(&prefix), 4);
        assert_eq!(
            names(&dir),
            vec![".run-live.out", ".run-live.pid", "other.rc"]
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_end_is_the_status_then_an_empty_pid_file() {
        let dir = crate::test_folder("keep-end");
        let pid = dir.join("r.pid");
        fs::write(&pid, b"42\n").unwrap();
        record_end(&pid, 3).unwrap();
        assert_eq!(
            (fs::read(&pid).unwrap(), fs::read(dir.join("r.rc")).unwrap()),
            (Vec::new(), b"3\n".to_vec())
        );
        assert_eq!(names(&dir), vec!["r.pid", "r.rc"]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_tee_whose_stream_breaks_goes_on_writing_the_file() {
        let dir = crate::test_folder("keep-tee");
        let out = dir.join("r.out");
        // A stream that refuses every write: a file opened read-only.
        fs::write(dir.join("closed"), b"").unwrap();
        let stream = File::open(dir.join("closed")).unwrap();
        let input: &'static [u8] = b"line one\nline two\n";
        tee(input, Some(stream), Some(create_private(&out).unwrap()))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(fs::read(&out).unwrap(), input);
        fs::remove_dir_all(&dir).unwrap();
    }
}
