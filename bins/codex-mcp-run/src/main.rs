//! `codex-mcp-run`: what mcpd starts a turn under inside an agent container, in place of
//! two shell scripts (`crates/runtime/src/docker/{carry,durable}.rs`) that did the same
//! with `sh`, two `tee`s and an `mv` per file. Each process started in a container costs
//! about 1.5 ms; this does all of it in one, started once.
//!
//! In order, it
//! 1. removes the files of ended runs once four have ended (`--sweep PREFIX`),
//! 2. records its pid in `--pid-file` (the exec's session leader: the killer signals its
//!    session, which holds the command and everything it starts),
//! 3. writes the Codex home files framed at the head of stdin (`--carry TARGET`, see
//!    [`carry`]) and hands the rest of stdin to the command,
//! 4. runs the command, copying its output to its own stdout and stderr and, with
//!    `--keep-output`, to files that outlive the stream (see [`keep`]),
//! 5. records the status (`<base>.rc`) and empties the pid file, or, without
//!    `--keep-output`, removes the pid file; and exits with the command's status.
//!
//! Exit statuses of its own, as `sh` gives them: 2 for a bad command line, 126 when the
//! files cannot be written or the command cannot be run, 127 when the command is not
//! found; a command killed by signal `N` gives `128 + N`.
//!
//! It uses nothing but `std` and is linked statically (`scripts/build-run-helper.sh`), so
//! it runs in any agent image. It comes into a container with mcpd's pinned Codex, in the
//! read-only volume every agent container mounts.

mod args;
mod carry;
mod keep;

/// A new empty folder of the system's temporary one for the unit test `name`.
#[cfg(test)]
fn test_folder(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

use std::fs::File;
use std::io::{self, BufRead};
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, Command, Stdio};

fn main() {
    let code = match args::parse(std::env::args_os().skip(1)) {
        Ok(a) => run(&a),
        Err(e) => {
            eprintln!("codex-mcp-run: {e}");
            2
        }
    };
    std::process::exit(code);
}

/// Does one run (see the crate docs) and returns the exit status to leave with.
fn run(a: &args::Args) -> i32 {
    if let Some(prefix) = a.sweep.as_deref() {
        keep::sweep(prefix);
    }
    let me = std::process::id();
    if let Err(e) = std::fs::write(&a.pid_file, format!("{me}\n")) {
        eprintln!(
            "codex-mcp-run: cannot record the pid in {}: {e}",
            a.pid_file.display()
        );
        return 126;
    }
    let code = match start(a, me) {
        Ok((child, tees)) => finish(child, tees),
        Err(code) => code,
    };
    let ended = if a.keep_output {
        keep::record_end(&a.pid_file, code)
    } else {
        std::fs::remove_file(&a.pid_file)
    };
    if let Err(e) = ended {
        eprintln!(
            "codex-mcp-run: cannot record the end in {}: {e}",
            a.pid_file.display()
        );
    }
    code
}

/// Installs the carried files and starts the command with its copies; the exit status
/// to record when either fails (said on stderr, and so kept in `<base>.err`).
fn start(a: &args::Args, me: u32) -> Result<(Child, Vec<std::thread::JoinHandle<()>>), i32> {
    let kept = |suffix| -> Result<Option<File>, i32> {
        if !a.keep_output {
            return Ok(None);
        }
        let path = keep::sibling(&a.pid_file, suffix);
        keep::create_private(&path).map(Some).map_err(|e| {
            eprintln!("codex-mcp-run: cannot create {}: {e}", path.display());
            126
        })
    };
    let (out_file, err_file) = (kept("out")?, kept("err")?);
    // Said to the stream and, when kept, to the run's own stderr file.
    let say = |msg: String| {
        eprintln!("codex-mcp-run: {msg}");
        if let Some(mut f) = err_file.as_ref().and_then(|f| f.try_clone().ok()) {
            let _ = io::Write::write_all(&mut f, format!("codex-mcp-run: {msg}\n").as_bytes());
        }
    };
    let mut stdin = io::stdin().lock();
    if !a.carry.is_empty()
        && let Err(e) = carry::install(&mut stdin, &a.carry, me)
    {
        say(format!("could not write the files of this run: {e}"));
        return Err(126);
    }
    let mut cmd = Command::new(&a.command[0]);
    cmd.args(&a.command[1..]);
    // Carried files came out of stdin's buffer: what is left of it goes through a pipe.
    let forward = !a.carry.is_empty();
    if forward {
        cmd.stdin(Stdio::piped());
    }
    if a.keep_output {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            say(format!("{}: {e}", a.command[0].to_string_lossy()));
            return Err(if e.kind() == io::ErrorKind::NotFound {
                127
            } else {
                126
            });
        }
    };
    if forward && let Some(mut to_child) = child.stdin.take() {
        // Not joined: the command may end without reading all of it.
        let _ = std::thread::Builder::new()
            .name("stdin".into())
            .spawn(move || {
                let mut stdin = io::stdin().lock();
                let Ok(rest) = stdin.fill_buf().map(<[u8]>::to_vec) else {
                    return;
                };
                stdin.consume(rest.len());
                if io::Write::write_all(&mut to_child, &rest).is_ok() {
                    let _ = io::copy(&mut stdin, &mut to_child);
                }
            });
    }
    drop(stdin);
    let mut tees = Vec::new();
    // Both pipes as plain files: one type for the two copies.
    let pipe = |p: Option<std::os::fd::OwnedFd>| p.map(File::from);
    let streams = [
        (
            pipe(child.stdout.take().map(Into::into)),
            own(io::stdout().as_fd()),
            out_file,
        ),
        (
            pipe(child.stderr.take().map(Into::into)),
            own(io::stderr().as_fd()),
            err_file,
        ),
    ];
    for (pipe, stream, file) in streams {
        if let Some(pipe) = pipe {
            match keep::tee(pipe, stream, file) {
                Ok(t) => tees.push(t),
                Err(e) => eprintln!("codex-mcp-run: cannot start a copy thread: {e}"),
            }
        }
    }
    Ok((child, tees))
}

/// An unbuffered handle on one of this process's own streams (`None` when it is closed).
fn own(fd: std::os::fd::BorrowedFd<'_>) -> Option<File> {
    fd.try_clone_to_owned().ok().map(File::from)
}

/// Waits for the command and its copies; the command's exit status as `sh` gives it.
fn finish(mut child: Child, tees: Vec<std::thread::JoinHandle<()>>) -> i32 {
    let status = child.wait();
    // The copies end when every writer of the pipes is gone (the command's children
    // included), as the pipeline of the shell wrapper did.
    for t in tees {
        let _ = t.join();
    }
    match status {
        Ok(s) => s
            .code()
            .or_else(|| s.signal().map(|n| 128 + n))
            .unwrap_or(125),
        Err(e) => {
            eprintln!("codex-mcp-run: cannot wait for the command: {e}");
            125
        }
    }
}
