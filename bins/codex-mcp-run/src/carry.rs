//! The Codex home files a run carries in at the head of its stdin, written before the
//! command starts. The frame is the one `sh` reads in mcpd's shell carrier
//! (`crates/runtime/src/docker/carry.rs`): for each file, every line (split at `\n`)
//! prefixed with `|`, then `.` when the file ends with a line end or `-` when it does not.
//!
//! Each file is written beside its target under a name of this run's own and renamed over
//! it, all of them written before any is renamed, so a concurrent run reads the old files
//! or the new ones, whole. A target that is a regular file already holding exactly the
//! carried bytes is left alone (no write, no rename).

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, BufRead, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Why the carried files could not be put in place.
#[derive(Debug)]
pub enum CarryError {
    /// The frame of `target` stopped before its end mark, or held something else.
    Frame { target: PathBuf, what: &'static str },
    /// Reading stdin or writing a file failed.
    Io { target: PathBuf, source: io::Error },
}

impl std::fmt::Display for CarryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Frame { target, what } => write!(f, "the frame of {}: {what}", target.display()),
            Self::Io { target, source } => write!(f, "{}: {source}", target.display()),
        }
    }
}

/// Reads one file's frame from `input`.
pub fn read_frame(input: &mut impl BufRead, target: &Path) -> Result<Vec<u8>, CarryError> {
    let mut out = Vec::new();
    let mut line = Vec::new();
    let mut first = true;
    loop {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(|source| CarryError::Io {
                target: target.to_path_buf(),
                source,
            })?;
        let frame_err = |what| CarryError::Frame {
            target: target.to_path_buf(),
            what,
        };
        if n == 0 || line.last() != Some(&b'\n') {
            return Err(frame_err("stdin ended before the end mark"));
        }
        line.pop();
        match line.split_first() {
            Some((b'|', rest)) => {
                if !first {
                    out.push(b'\n');
                }
                out.extend_from_slice(rest);
                first = false;
            }
            Some((b'.', [])) => {
                out.push(b'\n');
                return Ok(out);
            }
            Some((b'-', [])) => return Ok(out),
            _ => return Err(frame_err("a line that is neither `|...`, `.` nor `-`")),
        }
    }
}

/// Reads the frames of `targets` from `input` and puts each file in place (see the module
/// docs); `tag` makes the temporary names this run's own.
pub fn install(input: &mut impl BufRead, targets: &[PathBuf], tag: u32) -> Result<(), CarryError> {
    let mut staged: Vec<(PathBuf, &Path)> = Vec::new();
    let result = (|| {
        for target in targets {
            let bytes = read_frame(input, target)?;
            if holds(target, &bytes) {
                continue;
            }
            let io_err = |source| CarryError::Io {
                target: target.clone(),
                source,
            };
            if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
                DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(parent)
                    .map_err(io_err)?;
            }
            let mut tmp = target.clone().into_os_string();
            tmp.push(format!(".codex-mcp-{tag}"));
            let tmp = PathBuf::from(tmp);
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(io_err)?;
            staged.push((tmp, target));
            f.write_all(&bytes).map_err(io_err)?;
        }
        Ok(())
    })();
    if let Err(e) = result {
        for (tmp, _) in &staged {
            let _ = fs::remove_file(tmp);
        }
        return Err(e);
    }
    for (tmp, target) in &staged {
        fs::rename(tmp, target).map_err(|source| CarryError::Io {
            target: target.to_path_buf(),
            source,
        })?;
    }
    Ok(())
}

/// Whether `target` is a regular file (not a symlink) holding exactly `bytes`.
fn holds(target: &Path, bytes: &[u8]) -> bool {
    fs::symlink_metadata(target).is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64)
        && fs::read(target).is_ok_and(|b| b == bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn frames(input: &[u8], n: usize) -> Result<Vec<Vec<u8>>, String> {
        let mut r = input;
        (0..n)
            .map(|_| read_frame(&mut r, Path::new("/t")).map_err(|e| e.to_string()))
            .collect()
    }

    #[test]
    fn frames_decode_to_the_bytes_the_shell_carrier_writes() {
        // The frame `carry::frame` in the runtime makes of "x\ny\n", "z" and "".
        let got = frames(b"|x\n|y\n.\n|z\n-\n|\n-\nrest", 3);
        assert_eq!(
            got,
            Ok(vec![b"x\ny\n".to_vec(), b"z".to_vec(), b"".to_vec()])
        );
        assert_eq!(frames(b"|\n|\n.\n", 1), Ok(vec![b"\n\n".to_vec()]));
    }

    #[test]
    fn a_short_or_foreign_frame_is_refused_by_name() {
        let cases: [(&[u8], &str); 4] = [
            (b"|x\n", "the frame of /t: stdin ended before the end mark"),
            (b"|x", "the frame of /t: stdin ended before the end mark"),
            (b"", "the frame of /t: stdin ended before the end mark"),
            (
                b"x\n.\n",
                "the frame of /t: a line that is neither `|...`, `.` nor `-`",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(frames(input, 1), Err(want.to_string()));
        }
    }

    #[test]
    fn files_are_written_0600_in_new_0700_folders_and_the_rest_of_stdin_is_left() {
        let dir = crate::test_folder("carry-new");
        let a = dir.join("home/.codex/auth.json");
        let b = dir.join("home/.codex/config.toml");
        let mut input: &[u8] = b"|{}\n-\n|a = 1\n.\nthe prompt";
        install(&mut input, &[a.clone(), b.clone()], 7).unwrap();
        assert_eq!(input, b"the prompt");
        assert_eq!(fs::read(&a).unwrap(), b"{}");
        assert_eq!(fs::read(&b).unwrap(), b"a = 1\n");
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!([mode(&a), mode(&dir.join("home/.codex"))], [0o600, 0o700]);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_holding_the_bytes_is_left_and_others_and_symlinks_are_replaced() {
        let dir = crate::test_folder("carry-old");
        let same = dir.join("same");
        let other = dir.join("other");
        let link = dir.join("link");
        fs::write(&same, b"s\n").unwrap();
        fs::write(&other, b"old\n").unwrap();
        std::os::unix::fs::symlink(&same, &link).unwrap();
        let inode = fs::metadata(&same).unwrap().ino();
        let mut input: &[u8] = b"|s\n.\n|new\n.\n|s\n.\n";
        install(&mut input, &[same.clone(), other.clone(), link.clone()], 8).unwrap();
        assert_eq!(fs::metadata(&same).unwrap().ino(), inode, "left in place");
        assert_eq!(fs::read(&other).unwrap(), b"new\n");
        assert!(
            !fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&link).unwrap(), b"s\n");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_bad_frame_installs_nothing_and_leaves_no_temporary_file() {
        let dir = crate::test_folder("carry-bad");
        let (a, b) = (dir.join("a"), dir.join("b"));
        fs::write(&a, b"old").unwrap();
        let mut input: &[u8] = b"|new\n.\n|cut";
        let err = install(&mut input, &[a.clone(), b.clone()], 9).unwrap_err();
        assert!(matches!(err, CarryError::Frame { .. }), "{err}");
        assert_eq!(fs::read(&a).unwrap(), b"old");
        let mut left: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, vec!["a".to_string()]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
