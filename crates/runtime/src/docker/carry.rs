//! Files a run carries in with it: the Codex home files a turn installs (`auth.json`,
//! `config.toml`, an output schema) travel at the head of the run's stdin, and the run
//! writes them itself before it becomes Codex. No archive upload: that `PUT` was the
//! dearest Docker API call of a warm turn (the engine re-executes a helper to unpack
//! it; 20-90 ms measured, against under a millisecond for the others).
//!
//! Each file is written beside its target under a name of the run's own (the shell's
//! pid, unique in the container) and renamed over it, so a process of another run
//! reading the target meanwhile finds the old file or the new one, whole (as with the
//! uploads of `archive::stage_files`). The bytes never appear in an environment, an
//! argument or a label: the run reads them from its stdin, which nothing else sees.
//!
//! The frame, for each file in the order of the targets: every line of the file
//! (split at `\n`) prefixed with `|`, then `.` when the file ends with a line end, or
//! `-` when it does not. The shell's `read` builtin takes exactly one line from a pipe,
//! so what follows the frame (the prompt) is left for the process.

use crate::{CarriedFile, FileToWrite};

/// Writes the files framed at the head of stdin to the targets given up to `--` (their
/// folders created, `0700`, when missing; the files `0600`), then becomes the process
/// after `--`. The umask is set in a subshell, so the process keeps its own.
///
/// A target that is a regular file (not a symlink) already holding exactly the carried
/// bytes is left as it is: read in the shell, the comparison costs less than the `mv`
/// it saves (a process start, about 1.5 ms in a container), and a file that differs in
/// any byte, or is a symlink, is replaced as before. The shell cannot hold a NUL byte,
/// so a file that differs from the carried one only by NULs counts as the same (the
/// carried files never hold one, see [`carriable`]); nor is the mode of a file left in
/// place checked: in the container every process runs as the user that owns it.
pub(crate) const CARRIER: &str = r#"nl='
'
( umask 077
for t; do
  [ "$t" = -- ] && break
  p=${t%/*}; [ -d "$p" ] || mkdir -p -m 700 "$p" || exit 126
  c= n=
  while IFS= read -r l; do
    case $l in "|"*) c="$c$n${l#?}"; n=$nl;; .) c="$c$nl"; break;; *) break;; esac
  done
  if [ -f "$t" ] && [ ! -h "$t" ]; then
    o= l=
    { while IFS= read -r l; do o="$o$l$nl"; done; o="$o$l"; } 2>/dev/null < "$t"
    [ "$o" = "$c" ] && continue
  fi
  printf %s "$c" > "$t.codex-mcp-$$" || exit 126
done ) || { echo "codex-mcp: could not write the files of this run" >&2; exit 126; }
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  if [ -e "$1.codex-mcp-$$" ]; then
    mv -f "$1.codex-mcp-$$" "$1" || { echo "codex-mcp: could not install $1" >&2; exit 126; }
  fi
  shift
done
shift; exec "$@""#;

/// Whether the run can carry `files` in: text without NUL bytes (the shell cannot hold
/// one), each of mode `0600` (what the carrier's umask gives).
pub(crate) fn carriable(files: &[FileToWrite<'_>]) -> bool {
    files
        .iter()
        .all(|f| f.mode & 0o7777 == 0o600 && !f.bytes.contains(&0))
}

/// The carried form of `files`.
pub(crate) fn carried(files: &[FileToWrite<'_>]) -> Vec<CarriedFile> {
    files
        .iter()
        .map(|f| CarriedFile {
            target: f.path.to_string(),
            bytes: f.bytes.to_vec(),
        })
        .collect()
}

/// `argv` preceded by the carrier of `files`, and the frame to send ahead of its stdin;
/// `argv` as it is and no frame when there is nothing to carry.
pub(crate) fn wrap(files: &[CarriedFile], argv: Vec<String>) -> (Vec<String>, Vec<u8>) {
    if files.is_empty() {
        return (argv, Vec::new());
    }
    let mut out = vec![
        "sh".to_string(),
        "-c".into(),
        CARRIER.into(),
        "codex-mcp-carry".into(),
    ];
    out.extend(files.iter().map(|f| f.target.clone()));
    out.push("--".into());
    out.extend(argv);
    (out, frame(files))
}

/// The frame of `files` (see the module docs).
pub(crate) fn frame(files: &[CarriedFile]) -> Vec<u8> {
    let mut out = Vec::with_capacity(files.iter().map(|f| f.bytes.len() + 64).sum());
    for f in files {
        let (body, end) = match f.bytes.strip_suffix(b"\n") {
            Some(body) => (body, b".\n"),
            None => (f.bytes.as_slice(), b"-\n"),
        };
        for line in body.split(|b| *b == b'\n') {
            out.push(b'|');
            out.extend_from_slice(line);
            out.push(b'\n');
        }
        out.extend_from_slice(end);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    fn file(path: &str, bytes: &[u8]) -> CarriedFile {
        CarriedFile {
            target: path.to_string(),
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn the_frame_marks_each_line_and_whether_the_file_ends_with_one() {
        let f = frame(&[file("/a", b"x\ny\n"), file("/b", b"z"), file("/c", b"")]);
        assert_eq!(String::from_utf8_lossy(&f), "|x\n|y\n.\n|z\n-\n|\n-\n");
    }

    #[test]
    fn only_text_of_mode_0600_is_carried() {
        let f = |bytes: &'static [u8], mode| FileToWrite {
            path: "/home/agent/.codex/a",
            bytes,
            mode,
        };
        assert!(carriable(&[f(b"{}", 0o600), f(b"", 0o100600)]));
        assert!(!carriable(&[f(b"{}", 0o600), f(b"a\0b", 0o600)]));
        assert!(!carriable(&[f(b"{}", 0o644)]));
    }

    /// Runs the carrier of `files` with the host's `sh` and `cat` as the process, a
    /// prompt after the frame: the exit code and what `cat` printed.
    fn carry(files: &[CarriedFile]) -> (Option<i32>, String) {
        let (argv, head) = wrap(files, vec!["cat".into()]);
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(&head).unwrap();
        stdin.write_all(b"the prompt\nline 2").unwrap();
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    }

    /// A file already holding the carried bytes keeps its inode; one that differs in a
    /// byte (a line end, a trailing one), a symlink, and a missing one are written anew.
    #[test]
    fn the_carrier_leaves_identical_files_alone_and_replaces_the_rest() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap();
        let at = |p: &str| dir.path().join(p).display().to_string();
        let names = [
            "same",
            "one-more-byte",
            "no-line-end",
            "symlink",
            "missing",
            "empty",
        ];
        let files: Vec<CarriedFile> = names
            .iter()
            .map(|n| match *n {
                "empty" => file(&at(n), b""),
                _ => file(&at(n), b"line one\n  line $two \\ %s\n"),
            })
            .collect();
        assert_eq!(carry(&files).0, Some(0));
        let inode = |n: &str| std::fs::symlink_metadata(at(n)).map(|m| m.ino()).ok();
        let before: Vec<Option<u64>> = names.iter().map(|n| inode(n)).collect();

        let elsewhere = at("elsewhere");
        std::fs::write(&elsewhere, b"line one\n  line $two \\ %s\n").unwrap();
        std::fs::write(at("one-more-byte"), b"line one\n  line $two \\ %s\n\n").unwrap();
        std::fs::write(at("no-line-end"), b"line one\n  line $two \\ %s").unwrap();
        std::fs::remove_file(at("symlink")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, at("symlink")).unwrap();
        std::fs::remove_file(at("missing")).unwrap();
        let touched: Vec<Option<u64>> = names.iter().map(|n| inode(n)).collect();
        assert_eq!(carry(&files), (Some(0), "the prompt\nline 2".into()));

        let replaced: Vec<(&str, bool)> = names
            .iter()
            .zip(&touched)
            .map(|(n, i)| (*n, inode(n) != *i))
            .collect();
        assert_eq!(
            replaced,
            vec![
                ("same", false),
                ("one-more-byte", true),
                ("no-line-end", true),
                ("symlink", true),
                ("missing", true),
                ("empty", false),
            ]
        );
        assert_eq!((inode("same"), inode("empty")), (before[0], before[5]));
        for f in &files {
            let meta = std::fs::symlink_metadata(&f.target).unwrap();
            assert!(meta.is_file(), "{}", f.target);
            assert_eq!(std::fs::read(&f.target).unwrap(), f.bytes, "{}", f.target);
        }
        assert_eq!(
            std::fs::read(&elsewhere).unwrap(),
            b"line one\n  line $two \\ %s\n",
            "a symlink's target untouched"
        );
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        left.sort();
        let mut want: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        want.push("elsewhere".into());
        want.sort();
        assert_eq!(left, want, "no temporary file left behind");
    }

    /// The carrier, run by the host's `sh`, writes every file byte for byte (mode 0600,
    /// a missing folder created) and leaves the rest of stdin to the process.
    #[test]
    fn the_carrier_writes_the_files_and_hands_the_rest_of_stdin_on() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let at = |p: &str| dir.path().join(p).display().to_string();
        let files = vec![
            file(&at("auth.json"), b"{\"k\": \"a\\\\b %s $x `y`\"}"),
            file(&at("config.toml"), b"model = \"m\"\n\n# end\n"),
            file(&at("schemas/chat.json"), b"\n"),
            file(&at("empty"), b""),
        ];
        // Replaced, not appended to.
        std::fs::write(
            at("config.toml"),
            "old contents, longer than the new ones\n",
        )
        .unwrap();
        assert_eq!(carry(&files), (Some(0), "the prompt\nline 2".into()));
        for f in &files {
            assert_eq!(std::fs::read(&f.target).unwrap(), f.bytes, "{}", f.target);
            let mode = std::fs::metadata(&f.target).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", f.target);
        }
        let mode = std::fs::metadata(at("schemas"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .collect();
        left.sort();
        assert_eq!(left, ["auth.json", "config.toml", "empty", "schemas"]);
    }
}
