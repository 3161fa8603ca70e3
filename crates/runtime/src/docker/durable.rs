//! Runs that outlive the server: a process started through the exec API keeps running
//! and keeps its output when the server that attached to it dies, and a restarted server
//! can attach to it again ([`crate::AgentRuntime::reattach`]).
//!
//! When the server dies, the engine drops the exec's attach stream, and a process writing
//! to it would get `EPIPE` (Codex panics on it). So a named run ([`crate::ExecSpec::run_id`],
//! what the turn service starts Codex as) runs under [`WRAPPER`], which puts a `tee`
//! between the process and each stream: the process writes into a pipe that never breaks,
//! and `tee` (GNU or busybox), ignoring `SIGPIPE`, copies to the stream and to a file in
//! `/tmp` (the container's private tmpfs) next to the pid file, and goes on writing the
//! file once the stream is gone. When the run ends, the wrapper records its exit status
//! and empties its pid file (a shell builtin: the run is no longer running).
//!
//! Every process started in a container costs about 1.5 ms, a good part of a turn's
//! budget, so the wrapper starts none but the two `tee`s on most turns. The files of
//! ended runs are removed in batches: a named run's wrapper removes them all with one
//! `rm` once four runs have ended (an ended run's output stays in `/tmp` a few
//! turns longer, and the `rm` costs one turn in four), the reader that re-attaches
//! removes its run's, and the reaper removes those of runs nobody keeps at adoption.
//! Anonymous runs keep the plain wrapper: nobody could find them.
//!
//! The files of the run named `ID` are `/tmp/.codex-mcp-exec-ID.{pid,out,err,code,rc}`.

use tracing::debug;

use super::DockerRuntime;
use super::labels::AGENT_USER;
use crate::{AgentId, ExecHandle, RuntimeError};

/// Where a run's files live: `PREFIX` + id + `.pid` etc. The reaper's globs match it.
pub(crate) const PREFIX: &str = "/tmp/.codex-mcp-exec-";

/// Runs `"$@"` (`$1` is the pid file `<base>.pid`) after removing the files of ended runs
/// once there are four of them (`[ $# -lt 20 ]`: five files a run, gathered in a
/// function's own `$@`) and recording the shell's pid (the exec's session leader, so
/// also the session and process group id), its stdout and stderr each through a `tee`
/// into `<base>.out` / `<base>.err`; then records the exit status in `<base>.rc` and
/// empties the pid file (see the module docs).
pub(crate) const WRAPPER: &str = r#"f=$1; shift; b=${f%.pid}
sweep() { set --; for r in /tmp/.codex-mcp-exec-*.rc; do [ -e "$r" ] && set -- "$@" "${r%.rc}.out" "${r%.rc}.err" "${r%.rc}.code" "${r%.rc}.pid" "$r"; done; [ $# -lt 20 ] || rm -f "$@"; }
sweep
echo $$ > "$f"
{ { "$@"; echo $? > "$b.code"; } 2>&1 1>&3 3>&- | (trap '' PIPE; exec tee "$b.err" >&2 3>&-); } 3>&1 | (trap '' PIPE; exec tee "$b.out")
{ read -r rc < "$b.code"; } 2>/dev/null || rc=125
echo "$rc" > "$b.rc"; : > "$f"; exit "$rc""#;

/// Moves the files staged in folder `$1` into place (pairs of a name in it and a target
/// path, up to `--`), then becomes the process after `--`. `mv` within one file system is
/// a rename: a reader sees the old file or the new one (see `archive::stage_files`).
pub(crate) const INSTALLER: &str = r#"d=$1; shift
while [ $# -gt 0 ] && [ "$1" != -- ]; do
  t=$2; p=${t%/*}
  [ -d "$p" ] || mkdir -p -m 700 "$p" || exit 126
  mv -f "$d/$1" "$t" || { echo "codex-mcp: could not install $t" >&2; exit 126; }
  shift 2
done
shift; rmdir "$d" 2>/dev/null; exec "$@""#;

/// Runs [`super::exec::KILLER`] (`$2`, grace `$3`) on the pid file `$1` when that run
/// still runs; nothing otherwise (the killer would wait for the file to appear).
const STOPPER: &str = r#"[ -s "$1" ] || exit 0; exec sh -c "$2" codex-mcp-kill "$1" "$3""#;

/// `argv` preceded by the installer of `staged`, when there is something to install.
pub(crate) fn with_installer(
    staged: Option<&crate::StagedFiles>,
    argv: Vec<String>,
) -> Vec<String> {
    let Some(staged) = staged.filter(|s| !s.moves.is_empty()) else {
        return argv;
    };
    let mut out = vec![
        "sh".to_string(),
        "-c".into(),
        INSTALLER.into(),
        "codex-mcp-install".into(),
        staged.folder.clone(),
    ];
    for (name, target) in &staged.moves {
        out.push(name.clone());
        out.push(target.clone());
    }
    out.push("--".into());
    out.extend(argv);
    out
}

/// Stops the run `id` of `agent` if it still runs (see
/// [`crate::AgentRuntime::stop_run`]): one exec, which kills its process tree.
pub(super) async fn stop(
    rt: &DockerRuntime,
    agent: &AgentId,
    id: &str,
) -> Result<(), RuntimeError> {
    if !valid_run_id(id) {
        return Err(RuntimeError::InvalidExec(format!(
            "run id {id:?}: only letters, digits, '-' and '_' are allowed"
        )));
    }
    let container = rt.container_name(agent);
    let pidfile = pid_file(Some(id));
    let grace_tenths = (rt.cfg.kill_grace.as_millis() / 100).to_string();
    let cmd = vec![
        "sh",
        "-c",
        STOPPER,
        "codex-mcp-stop",
        &pidfile,
        super::exec::KILLER,
        &grace_tenths,
    ];
    match super::exec::run_script(&rt.docker, &container, cmd).await {
        Ok(_) => Ok(()),
        // No container, or a stopped one: nothing runs there.
        Err(e) if matches!(super::status_of(&e), Some(404 | 409)) => Ok(()),
        Err(e) => Err(rt.map_err("exec", e)),
    }
}

/// Says where the run `$1` (a file base) stands: `running`, `finished` or `gone`.
const PROBE: &str = r#"b=$1
if [ -s "$b.pid" ] && read -r p < "$b.pid" && [ -d "/proc/$p" ]; then echo running
elif [ -e "$b.rc" ]; then echo finished
else echo gone; fi"#;

/// Waits for the run `$1` (a file base) to end, then prints its output (stderr first) and
/// exits with its status; removes its files. The files are opened first, so another run's
/// wrapper removing them once the run has ended does not matter. A run that dies without
/// a status (killed with its wrapper) exits 137 with no output.
const READER: &str = r#"b=$1
exec 4< "$b.out" 5< "$b.err" || exit 137
{ read -r p < "$b.pid"; } 2>/dev/null
while [ ! -e "$b.rc" ] && [ -n "$p" ] && [ -d "/proc/$p" ]; do sleep 0.2; done
{ read -r rc < "$b.rc"; } 2>/dev/null || { rm -f "$b.out" "$b.err" "$b.code"; exit 137; }
cat <&5 >&2; cat <&4
rm -f "$b.out" "$b.err" "$b.code" "$b.pid" "$b.rc"; exit "$rc""#;

/// Where a run stands, as [`PROBE`] sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunState {
    /// Its process still runs.
    Running,
    /// It ended while nobody was attached; its output and status wait in `/tmp`.
    Finished,
    /// Nothing of it is left (never started here, reaped, or killed with its wrapper).
    Gone,
}

/// Whether `id` may name a run: it becomes part of file names and shell arguments.
pub(crate) fn valid_run_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The pid file of the run `id`, or of a fresh anonymous run when `None`.
pub(crate) fn pid_file(id: Option<&str>) -> String {
    match id {
        Some(id) => format!("{PREFIX}{id}.pid"),
        None => format!("{PREFIX}{:016x}.pid", rand::random::<u64>()),
    }
}

/// Where the run `id` stands in `container`.
async fn probe(rt: &DockerRuntime, container: &str, id: &str) -> Result<RunState, RuntimeError> {
    let base = format!("{PREFIX}{id}");
    let cmd = vec!["sh", "-c", PROBE, "codex-mcp-probe", &base];
    let printed = super::exec::run_script(&rt.docker, container, cmd)
        .await
        .map_err(|e| rt.map_err("exec", e))?;
    Ok(match printed.trim() {
        "running" => RunState::Running,
        "finished" => RunState::Finished,
        _ => RunState::Gone,
    })
}

/// The run `id` of `agent` as a handle (see [`crate::AgentRuntime::reattach`]): `None`
/// when it is gone; otherwise its output, from the start, once it has ended, then its
/// exit status. Killing the handle kills the run.
pub(super) async fn reattach(
    rt: &DockerRuntime,
    agent: &AgentId,
    id: &str,
) -> Result<Option<ExecHandle>, RuntimeError> {
    if !valid_run_id(id) {
        return Err(RuntimeError::InvalidExec(format!(
            "run id {id:?}: only letters, digits, '-' and '_' are allowed"
        )));
    }
    let container = rt.container_name(agent);
    let state = match probe(rt, &container, id).await {
        Ok(state) => state,
        // No container, or a stopped one: nothing runs there.
        Err(RuntimeError::NotFound { .. } | RuntimeError::NotRunning { .. }) => RunState::Gone,
        Err(e) => return Err(e),
    };
    debug!(%agent, run = id, ?state, "re-attach");
    if state == RunState::Gone {
        return Ok(None);
    }
    let base = format!("{PREFIX}{id}");
    let argv = vec![
        "sh".to_string(),
        "-c".into(),
        READER.into(),
        "codex-mcp-reattach".into(),
        base.clone(),
    ];
    let attach = super::exec::Attach {
        argv,
        env: Vec::new(),
        user: AGENT_USER,
        cwd: None,
        stdin: None,
        pidfile: format!("{base}.pid"),
        writes_workspace: false,
    };
    super::exec::attach(rt, agent, attach).await.map(Some)
}

#[cfg(test)]
mod tests {
    use super::{pid_file, valid_run_id};

    #[test]
    fn run_ids_are_safe_file_name_parts_and_name_the_pid_file() {
        for good in ["call-0123abcd", "a", "A_b-9"] {
            assert!(valid_run_id(good), "{good}");
        }
        for bad in ["", "a b", "../x", "x;y", "$(x)", "é", &"x".repeat(129)] {
            assert!(!valid_run_id(bad), "{bad}");
        }
        assert_eq!(pid_file(Some("call-1")), "/tmp/.codex-mcp-exec-call-1.pid");
        let anonymous = pid_file(None);
        assert!(
            anonymous.starts_with("/tmp/.codex-mcp-exec-") && anonymous.ends_with(".pid"),
            "{anonymous}"
        );
    }
}
