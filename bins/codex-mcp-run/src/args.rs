//! The command line: `codex-mcp-run --pid-file F [--keep-output] [--sweep PREFIX]
//! [--carry TARGET]... -- CMD [ARG]...`.

use std::ffi::OsString;
use std::path::PathBuf;

/// What one run is asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// Where the run's pid goes (the killer and the re-attaching reader read it).
    pub pid_file: PathBuf,
    /// Keep the output in `<base>.out` / `<base>.err` and the status in `<base>.rc`
    /// (`<base>` is the pid file without `.pid`), so the run outlives its reader.
    pub keep_output: bool,
    /// Remove the files of ended runs named `PREFIX*` once four of them have ended.
    pub sweep: Option<String>,
    /// Files framed at the head of stdin, in this order (see `carry`).
    pub carry: Vec<PathBuf>,
    /// The process to run.
    pub command: Vec<OsString>,
}

/// A command line that cannot be run, with what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadArgs(pub String);

impl std::fmt::Display for BadArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Args, BadArgs> {
    let mut it = args.into_iter();
    let mut pid_file = None;
    let mut keep_output = false;
    let mut sweep = None;
    let mut carry = Vec::new();
    loop {
        let Some(arg) = it.next() else {
            return Err(BadArgs("no `--` before the command to run".into()));
        };
        let Some(flag) = arg.to_str() else {
            return Err(BadArgs(format!("unknown argument {arg:?}")));
        };
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| BadArgs(format!("{name} needs a value")))
        };
        match flag {
            "--" => break,
            "--pid-file" => pid_file = Some(PathBuf::from(value(flag)?)),
            "--keep-output" => keep_output = true,
            "--sweep" => {
                let v = value(flag)?;
                let v = v
                    .into_string()
                    .map_err(|v| BadArgs(format!("--sweep {v:?} is not UTF-8")))?;
                sweep = Some(v);
            }
            "--carry" => carry.push(PathBuf::from(value(flag)?)),
            other => return Err(BadArgs(format!("unknown argument {other:?}"))),
        }
    }
    let pid_file = pid_file.ok_or_else(|| BadArgs("--pid-file is required".into()))?;
    if keep_output && pid_file.extension().is_none_or(|e| e != "pid") {
        return Err(BadArgs(format!(
            "--keep-output needs a pid file ending in .pid, got {}",
            pid_file.display()
        )));
    }
    let command: Vec<OsString> = it.collect();
    if command.is_empty() {
        return Err(BadArgs("no command after `--`".into()));
    }
    Ok(Args {
        pid_file,
        keep_output,
        sweep,
        carry,
        command,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn parse_str(args: &[&str]) -> Result<Args, BadArgs> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn a_full_command_line_is_read_in_order() {
        let got = parse_str(&[
            "--pid-file",
            "/tmp/r.pid",
            "--keep-output",
            "--sweep",
            "/tmp/r-",
            "--carry",
            "/h/a",
            "--carry",
            "/h/b",
            "--",
            "codex",
            "--",
            "exec",
        ]);
        assert_eq!(
            got,
            Ok(Args {
                pid_file: "/tmp/r.pid".into(),
                keep_output: true,
                sweep: Some("/tmp/r-".into()),
                carry: vec!["/h/a".into(), "/h/b".into()],
                command: vec!["codex".into(), "--".into(), "exec".into()],
            })
        );
    }

    #[test]
    fn each_bad_command_line_says_what_is_wrong() {
        let cases: [(&[&str], &str); 6] = [
            (
                &["--pid-file", "/p.pid"],
                "no `--` before the command to run",
            ),
            (&["--pid-file", "/p.pid", "--"], "no command after `--`"),
            (&["--", "true"], "--pid-file is required"),
            (&["--pid-file"], "--pid-file needs a value"),
            (
                &["--pid-file", "/p", "--bogus", "--", "x"],
                "unknown argument \"--bogus\"",
            ),
            (
                &["--pid-file", "/p.run", "--keep-output", "--", "x"],
                "--keep-output needs a pid file ending in .pid, got /p.run",
            ),
        ];
        for (args, want) in cases {
            assert_eq!(parse_str(args), Err(BadArgs(want.into())), "{args:?}");
        }
    }
}
