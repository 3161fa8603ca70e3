//! The helper as mcpd runs it: a real process with real pipes, as `docker exec` gives it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use pretty_assertions::assert_eq;

const BIN: &str = env!("CARGO_BIN_EXE_codex-mcp-run");

/// A private folder for one test.
fn folder(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("codex-mcp-run-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn run(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn text(p: &Path) -> String {
    String::from_utf8(fs::read(p).unwrap()).unwrap()
}

#[test]
fn a_kept_run_carries_its_files_passes_the_prompt_and_keeps_output_and_status() {
    let d = folder("kept");
    let pid = d.join(".run-r1.pid");
    let home = d.join("home/.codex");
    let (auth, config) = (home.join("auth.json"), home.join("config.toml"));
    let script = "cat; echo to-err >&2; cat \"$1\"; exit 7";
    let out = run(
        &[
            "--pid-file",
            pid.to_str().unwrap(),
            "--keep-output",
            "--sweep",
            &format!("{}/.run-", d.display()),
            "--carry",
            auth.to_str().unwrap(),
            "--carry",
            config.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            script,
            "sh",
            config.to_str().unwrap(),
        ],
        b"|{\"k\":1}\n-\n|a = 1\n.\nthe prompt\n",
    );
    let seen = (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
        text(&d.join(".run-r1.out")),
        text(&d.join(".run-r1.err")),
        text(&d.join(".run-r1.rc")),
        text(&pid),
        text(&auth),
    );
    let want = (
        Some(7),
        "the prompt\na = 1\n".to_string(),
        "to-err\n".to_string(),
        "the prompt\na = 1\n".to_string(),
        "to-err\n".to_string(),
        "7\n".to_string(),
        String::new(),
        "{\"k\":1}".to_string(),
    );
    assert_eq!(seen, want);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_run_whose_reader_goes_away_runs_to_the_end_and_keeps_everything() {
    let d = folder("gone");
    let pid = d.join(".run-r2.pid");
    // The command prints a line, waits until its reader is gone, then prints more.
    let script = "echo first; while [ ! -e \"$1\" ]; do sleep 0.02; done; \
                  i=0; while [ $i -lt 2000 ]; do echo \"line $i\"; i=$((i+1)); done";
    let go = d.join("go");
    let mut child = Command::new(BIN)
        .args(["--pid-file", pid.to_str().unwrap(), "--keep-output", "--"])
        .args(["sh", "-c", script, "sh", go.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 6];
    stdout.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"first\n");
    drop(stdout);
    fs::write(&go, b"").unwrap();
    let status = child.wait().unwrap();
    let kept = text(&d.join(".run-r2.out"));
    assert_eq!(
        (
            status.code(),
            kept.lines().count(),
            kept.lines().last(),
            text(&d.join(".run-r2.rc"))
        ),
        (Some(0), 2001, Some("line 1999"), "0\n".to_string())
    );
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn statuses_are_the_shells_and_an_anonymous_run_leaves_no_file() {
    let d = folder("status");
    let pid = d.join("p");
    let pid_s = pid.to_str().unwrap();
    let code = |args: &[&str]| {
        let mut all = vec!["--pid-file", pid_s, "--"];
        all.extend_from_slice(args);
        let out = run(&all, b"");
        (out.status.code(), String::from_utf8(out.stderr).unwrap())
    };
    assert_eq!(code(&["sh", "-c", "exit 3"]), (Some(3), String::new()));
    assert_eq!(
        code(&["sh", "-c", "kill -TERM $$"]),
        (Some(128 + 15), String::new())
    );
    let (missing, said) = code(&["/no/such/program"]);
    assert_eq!(missing, Some(127));
    assert!(
        said.starts_with("codex-mcp-run: /no/such/program: "),
        "{said}"
    );
    assert!(!pid.exists(), "an anonymous run removes its pid file");
    // What the pid file held while the run ran: the helper's own pid.
    let out = run(
        &[
            "--pid-file",
            pid_s,
            "--",
            "sh",
            "-c",
            "cat \"$1\"; echo $PPID",
            "sh",
            pid_s,
        ],
        b"",
    );
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(lines[0], lines[1]);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn bad_input_is_refused_with_what_was_wrong_and_runs_nothing() {
    let d = folder("bad");
    let pid = d.join(".run-r3.pid");
    let marker = d.join("ran");
    let touch = format!("touch {}", marker.display());
    let out = run(
        &[
            "--pid-file",
            pid.to_str().unwrap(),
            "--keep",
            "--",
            "sh",
            "-c",
            &touch,
        ],
        b"",
    );
    assert_eq!(
        (out.status.code(), String::from_utf8(out.stderr).unwrap()),
        (
            Some(2),
            "codex-mcp-run: unknown argument \"--keep\"\n".to_string()
        )
    );
    // A frame cut short: nothing is written, the command does not run, and the status
    // and the reason are kept for a reader.
    let target = d.join("home/auth.json");
    let out = run(
        &[
            "--pid-file",
            pid.to_str().unwrap(),
            "--keep-output",
            "--carry",
            target.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            &touch,
        ],
        b"|{\"k\":",
    );
    let said = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(126));
    assert!(
        said.contains("could not write the files of this run") && said.contains("auth.json"),
        "{said}"
    );
    assert_eq!(text(&d.join(".run-r3.err")), said);
    assert_eq!(text(&d.join(".run-r3.rc")), "126\n");
    assert!(!marker.exists() && !target.exists());
    fs::remove_dir_all(&d).unwrap();
}
