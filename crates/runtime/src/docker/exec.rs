//! Running processes in an agent's container, and killing them with their descendants.
//!
//! The exec API can start a process but not signal it. So every process runs under a
//! wrapper (the run helper where the container has one, see `run_helper.rs`, else a
//! shell script) that writes its pid to a file in `/tmp` (a tmpfs private to the container);
//! killing is a second exec that reads that pid and signals the process's session, its
//! process group and every descendant found through `/proc` (Codex puts the commands it
//! runs into process groups of their own), SIGTERM first, SIGKILL after the grace period.
//!
//! A process that may write the workspace ([`crate::ExecSpec::writes_workspace`]) runs as
//! `1000:2000`, the group that opens `/live/workspace`; when the agent's last such process
//! ends, everything of that group still running is killed (one more exec, ~60 ms, only
//! after writing runs), so nothing the model left behind keeps write access.

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tracing::{debug, warn};

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::labels::{AGENT_USER, VOLUMES, WORKSPACE, WRITER_USER};
use super::{DockerRuntime, carry, durable, run_helper, status_of};
use crate::handle::{self, Chunk, ExecParts};
use crate::{AgentId, DiskUsage, ExecHandle, ExecSpec, RuntimeError, disk};

/// Runs `"$@"` after recording the shell's pid (which, as the exec's session leader, is
/// also the session and process group id) and removes the record afterwards. Named runs
/// get `durable::WRAPPER` instead, which also keeps their output.
const WRAPPER: &str = r#"f=$1; shift; echo $$ > "$f"; "$@"; rc=$?; rm -f "$f"; exit $rc"#;

/// Kills the tree recorded in `$1`, giving it `$2` tenths of a second after SIGTERM
/// (looking every 20 ms whether it is gone: Codex ends on SIGTERM at once).
/// POSIX sh with builtins only in the scan (`read`, not `cat`), so it works in minimal
/// images (busybox) and does not itself add processes to what it scans.
pub(crate) const KILLER: &str = r#"
f=$1; grace=$2; i=0
while [ ! -s "$f" ]; do i=$((i+1)); [ $i -gt 20 ] && exit 0; sleep 0.05; done
read -r root < "$f" || exit 0
members() {
  set_=" $root "; changed=1
  while [ "$changed" = 1 ]; do
    changed=0
    for d in /proc/[0-9]*; do
      p=${d#/proc/}
      case "$set_" in *" $p "*) continue;; esac
      { read -r s < "$d/stat"; } 2>/dev/null || continue
      set -- ${s##*)}
      case "$set_" in *" $2 "*) set_="$set_$p "; changed=1; continue;; esac
      if [ "$3" = "$root" ] || [ "$4" = "$root" ]; then set_="$set_$p "; changed=1; fi
    done
  done
  live=""
  for p in $set_; do
    { read -r s < "/proc/$p/stat"; } 2>/dev/null || continue
    set -- ${s##*)}
    [ "$1" = Z ] || live="$live $p"
  done
  echo $live
}
pids=$(members); [ -n "$pids" ] || exit 0
kill -TERM $pids 2>/dev/null
n=0; limit=$((grace * 5))
while [ $n -lt $limit ]; do
  sleep 0.02; n=$((n+1)); pids=$(members); [ -n "$pids" ] || break
done
k=0
while [ -n "$pids" ] && [ $k -lt 40 ]; do
  kill -KILL $pids 2>/dev/null; sleep 0.05; pids=$(members); k=$((k+1))
done
rm -f "$f"
"#;

/// Kills every process tree whose pid file is still in `/tmp`: execs a previous server
/// started and never saw end (it was killed). `$1` is [`KILLER`], `$2` the grace period,
/// the other arguments ids of runs to keep (a server re-attaches to them, see
/// `durable.rs`). The files of runs not kept (output of runs that ended meanwhile, and
/// the emptied pid files of ended runs) are removed. Prints how many trees it killed.
pub(crate) const REAPER: &str = r#"
killer=$1; grace=$2; shift 2; keep=" $* "; n=0; p=/tmp/.codex-mcp-exec-
for f in "$p"*.pid; do
  [ -s "$f" ] || continue
  id=${f#"$p"}; id=${id%.pid}
  case "$keep" in *" $id "*) continue;; esac
  sh -c "$killer" codex-mcp-kill "$f" "$grace"; n=$((n+1))
done
for f in "$p"*.out "$p"*.err "$p"*.rc "$p"*.code "$p"*.lost "$p"*.pid; do
  [ -e "$f" ] || continue
  case $f in *.pid) [ -s "$f" ] && continue;; esac
  id=${f#"$p"}; id=${id%.*}
  case "$keep" in *" $id "*) continue;; esac
  rm -f "$f"
done
echo "$n"
"#;

/// Kills every process of group 2000 (`WRITER_GID`): what a writing run left behind,
/// which must not keep write access to the workspace once the run is over. Runs as the
/// agent user, which may signal its own processes whatever their group.
const WRITER_REAPER: &str = r#"
for d in /proc/[0-9]*; do
  while read -r k r e _; do
    [ "$k" = Gid: ] || continue
    { [ "$r" = 2000 ] || [ "$e" = 2000 ]; } && kill -KILL "${d#/proc/}" 2>/dev/null
    break
  done < "$d/status" 2>/dev/null
done
true
"#;

/// Counts how many processes that may write the workspace run in each agent, so the last
/// one to end can sweep up what they left behind without killing a sibling.
#[derive(Debug, Default, Clone)]
pub(super) struct Writers(Arc<Mutex<HashMap<String, usize>>>);

impl Writers {
    fn start(&self, container: &str) -> WriterGuard {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *map.entry(container.to_string()).or_default() += 1;
        WriterGuard {
            writers: self.clone(),
            container: container.to_string(),
            done: false,
        }
    }
}

/// One running writer; see [`Writers`].
struct WriterGuard {
    writers: Writers,
    container: String,
    done: bool,
}

impl WriterGuard {
    /// Marks the writer ended; true when it was the agent's last.
    fn end(&mut self) -> bool {
        if self.done {
            return false;
        }
        self.done = true;
        let mut map = self
            .writers
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let n = map.get_mut(&self.container).map_or(0, |n| {
            *n = n.saturating_sub(1);
            *n
        });
        if n == 0 {
            map.remove(&self.container);
        }
        n == 0
    }
}

impl Drop for WriterGuard {
    fn drop(&mut self) {
        self.end();
    }
}

fn map_exec_err(rt: &DockerRuntime, agent: &AgentId, e: bollard::errors::Error) -> RuntimeError {
    match status_of(&e) {
        Some(404) => RuntimeError::NotFound {
            agent: agent.to_string(),
        },
        Some(409) => RuntimeError::NotRunning {
            agent: agent.to_string(),
            state: "stopped or paused".into(),
        },
        _ => rt.map_err("exec", e),
    }
}

pub(super) async fn exec(
    rt: &DockerRuntime,
    agent: &AgentId,
    cmd: ExecSpec,
) -> Result<ExecHandle, RuntimeError> {
    if cmd.argv.is_empty() {
        return Err(RuntimeError::InvalidExec("argv is empty".into()));
    }
    if let Some(id) = cmd
        .run_id
        .as_deref()
        .filter(|id| !durable::valid_run_id(id))
    {
        return Err(RuntimeError::InvalidExec(format!(
            "run id {id:?}: only letters, digits, '-' and '_' are allowed"
        )));
    }
    let pidfile = durable::pid_file(cmd.run_id.as_deref());
    let carried = cmd
        .staged
        .as_ref()
        .map_or(&[][..], |s| s.carried.as_slice());
    let inner = durable::with_installer(cmd.staged.as_ref(), cmd.argv);
    let (argv, head) = match rt.known.run_helper(agent) {
        Some(helper) => {
            let keep = cmd.run_id.is_some();
            let argv = run_helper::argv(&helper, &pidfile, keep, carried, inner);
            (argv, carry::frame(carried))
        }
        None => {
            let wrapper = match cmd.run_id {
                Some(_) => durable::WRAPPER,
                None => WRAPPER,
            };
            let mut argv = vec![
                "sh".to_string(),
                "-c".into(),
                wrapper.into(),
                "codex-mcp-exec".into(),
                pidfile.clone(),
            ];
            let (inner, head) = carry::wrap(carried, inner);
            argv.extend(inner);
            (argv, head)
        }
    };
    // The carried files' frame goes first; then the process's own stdin, if any.
    let stdin = match (head.is_empty(), cmd.stdin) {
        (true, stdin) => stdin,
        (false, None) => Some(head),
        (false, Some(rest)) => Some([head, rest].concat()),
    };
    let spec = Attach {
        argv,
        env: cmd.env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        user: if cmd.writes_workspace {
            WRITER_USER
        } else {
            AGENT_USER
        },
        cwd: cmd.cwd,
        stdin,
        pidfile,
        writes_workspace: cmd.writes_workspace,
    };
    attach(rt, agent, spec).await
}

/// One attached exec: what runs, as whom, and the pid file that kills it.
pub(super) struct Attach {
    pub argv: Vec<String>,
    /// `K=V` entries.
    pub env: Vec<String>,
    pub user: &'static str,
    /// The workspace when `None`.
    pub cwd: Option<String>,
    pub stdin: Option<Vec<u8>>,
    /// Where the process's pid is (or will be) recorded, for the killer.
    pub pidfile: String,
    pub writes_workspace: bool,
}

/// Starts `spec` attached and hands back its handle: output streamed, killed through its
/// pid file, exit code from the engine.
pub(super) async fn attach(
    rt: &DockerRuntime,
    agent: &AgentId,
    spec: Attach,
) -> Result<ExecHandle, RuntimeError> {
    let container = rt.container_name(agent);
    let opts = CreateExecOptions {
        attach_stdin: Some(true),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(false),
        env: Some(spec.env),
        cmd: Some(spec.argv),
        user: Some(spec.user.to_string()),
        working_dir: Some(spec.cwd.unwrap_or_else(|| WORKSPACE.to_string())),
        ..Default::default()
    };
    let pidfile = spec.pidfile;
    let mut writer = spec.writes_workspace.then(|| rt.writers.start(&container));
    let created = match rt.docker.create_exec(&container, opts.clone()).await {
        Ok(created) => created,
        // Trusted to run (`known.rs`) but stopped or removed behind this server's back:
        // readied as `ensure` does, and tried once more.
        Err(e) if matches!(status_of(&e), Some(404 | 409)) => match rt.known.forget(agent) {
            Some(bind) => {
                debug!(%agent, error = %e, "the container was not running: readying it again");
                super::container::ensure_now(rt, agent, bind).await?;
                rt.docker
                    .create_exec(&container, opts)
                    .await
                    .map_err(|e| map_exec_err(rt, agent, e))?
            }
            None => return Err(map_exec_err(rt, agent, e)),
        },
        Err(e) => return Err(map_exec_err(rt, agent, e)),
    };
    let start = StartExecOptions {
        detach: false,
        tty: false,
        output_capacity: Some(64 * 1024),
    };
    let started = rt
        .docker
        .start_exec(&created.id, Some(start))
        .await
        .map_err(|e| map_exec_err(rt, agent, e))?;
    let StartExecResults::Attached { output, mut input } = started else {
        return Err(RuntimeError::InvalidExec(
            "the engine did not attach to the process".into(),
        ));
    };
    let stdin = spec.stdin;
    tokio::spawn(async move {
        if let Some(bytes) = stdin {
            // Fails only when the process stops reading: not our error.
            let _ = input.write_all(&bytes).await;
        }
        // Half-closes the connection: the engine then closes the process's stdin.
        let _ = input.shutdown().await;
    });
    let output = output
        .scan((), |_, item| futures::future::ready(item.ok()))
        .filter_map(|o| {
            futures::future::ready(match o {
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    Some(Chunk::Stdout(message.to_vec()))
                }
                LogOutput::StdErr { message } => Some(Chunk::Stderr(message.to_vec())),
                LogOutput::StdIn { .. } => None,
            })
        });
    let (kill_docker, kill_container) = (rt.docker.clone(), container.clone());
    let grace_tenths = (rt.cfg.kill_grace.as_millis() / 100).to_string();
    let (finish_docker, exec_id) = (rt.docker.clone(), created.id);
    let finish_container = container.clone();
    Ok(handle::spawn(ExecParts {
        output: Box::pin(output),
        kill: Box::new(move || {
            Box::pin(async move {
                kill_tree(&kill_docker, &kill_container, &pidfile, &grace_tenths).await;
            })
        }),
        finish: Box::new(move |killed| {
            Box::pin(async move {
                let code = exit_code(&finish_docker, &exec_id).await;
                if writer.as_mut().is_some_and(WriterGuard::end) {
                    let cmd = vec!["sh", "-c", WRITER_REAPER];
                    if let Err(e) = run_script(&finish_docker, &finish_container, cmd).await {
                        debug!(error = %e, "writer reaper failed");
                    }
                }
                if killed { None } else { code }
            })
        }),
    }))
}

/// Kills the processes a previous server left running in `container` (see [`REAPER`]),
/// except the runs named in `keep`, and returns how many process trees it killed. Only
/// correct before this server runs anything in the container.
pub(super) async fn reap_orphans(
    rt: &DockerRuntime,
    container: &str,
    keep: &[String],
) -> Result<u32, RuntimeError> {
    let grace_tenths = (rt.cfg.kill_grace.as_millis() / 100).to_string();
    let mut cmd = vec!["sh", "-c", REAPER, "codex-mcp-reap", KILLER, &grace_tenths];
    cmd.extend(
        keep.iter()
            .filter(|id| durable::valid_run_id(id))
            .map(String::as_str),
    );
    let printed = run_script(&rt.docker, container, cmd)
        .await
        .map_err(|e| rt.map_err("exec", e))?;
    Ok(printed.trim().parse().unwrap_or(0))
}

/// The `oom_kill` counter of `container`'s memory cgroup (v2 `memory.events` or v1
/// `memory.oom_control`, as the container sees its own cgroup); `None` when neither
/// file says.
pub(super) async fn oom_kills(
    rt: &DockerRuntime,
    container: &str,
) -> Result<Option<u64>, RuntimeError> {
    let cmd = vec![
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory.events /sys/fs/cgroup/memory/memory.oom_control 2>/dev/null",
    ];
    let printed = run_script(&rt.docker, container, cmd)
        .await
        .map_err(|e| rt.map_err("exec", e))?;
    Ok(parse_oom_kills(&printed))
}

/// What the agent's volumes (or host workspace) hold, counted by `find` inside the running
/// container (see [`crate::disk`]); `None` when the container is missing or stopped, or
/// the image has no GNU `find`. The workspace is read through its read-only mount.
pub(super) async fn disk_usage(
    rt: &DockerRuntime,
    agent: &AgentId,
) -> Result<Option<DiskUsage>, RuntimeError> {
    let roots: Vec<&str> = VOLUMES.iter().map(|(_, target)| *target).collect();
    let script = disk::find_blocks_script(&roots);
    match run_script(
        &rt.docker,
        &rt.container_name(agent),
        vec!["sh", "-c", &script],
    )
    .await
    {
        Ok(printed) => Ok(disk::tally_blocks(&printed)),
        Err(e) if matches!(status_of(&e), Some(404 | 409)) => Ok(None),
        Err(e) => Err(rt.map_err("exec", e)),
    }
}

/// The number on the `oom_kill N` line of a memory cgroup file.
pub(crate) fn parse_oom_kills(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("oom_kill "))
        .and_then(|n| n.trim().parse().ok())
}

/// How many processes started through [`exec`] (by any server) still run in `container`.
pub(super) async fn live_execs(rt: &DockerRuntime, container: &str) -> Result<u32, RuntimeError> {
    let script = r#"n=0; for f in /tmp/.codex-mcp-exec-*.pid; do [ -s "$f" ] && n=$((n+1)); done; echo "$n""#;
    let printed = run_script(&rt.docker, container, vec!["sh", "-c", script])
        .await
        .map_err(|e| rt.map_err("exec", e))?;
    Ok(printed.trim().parse().unwrap_or(0))
}

/// Runs the killer script and waits for it to finish.
async fn kill_tree(docker: &bollard::Docker, container: &str, pidfile: &str, grace_tenths: &str) {
    let cmd = vec!["sh", "-c", KILLER, "codex-mcp-kill", pidfile, grace_tenths];
    let started = std::time::Instant::now();
    match run_script(docker, container, cmd).await {
        Ok(printed) => {
            debug!(output = %printed, took_ms = started.elapsed().as_millis() as u64, "killer")
        }
        // The container may be gone already, which kills everything anyway.
        Err(e) => debug!(error = %e, container, "kill exec failed"),
    }
}

/// Runs `cmd` as the agent user in `container`, waits for it, and returns what it
/// printed on stdout (its stderr is logged at debug level).
pub(super) async fn run_script(
    docker: &bollard::Docker,
    container: &str,
    cmd: Vec<&str>,
) -> Result<String, bollard::errors::Error> {
    let opts = CreateExecOptions {
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        cmd: Some(cmd),
        user: Some(AGENT_USER),
        ..Default::default()
    };
    let created = docker.create_exec(container, opts).await?;
    let mut printed = String::new();
    if let StartExecResults::Attached { mut output, .. } =
        docker.start_exec(&created.id, None).await?
    {
        while let Some(item) = output.next().await {
            match item {
                Ok(LogOutput::StdOut { message }) => {
                    printed.push_str(&String::from_utf8_lossy(&message));
                }
                Ok(other) => debug!(output = %other, container, "script"),
                Err(e) => debug!(error = %e, container, "script output"),
            }
        }
    }
    Ok(printed)
}

/// The exit code once the engine reports the exec as finished. The output ends when the
/// process closed it, which under load can be a while before the engine reports the exit:
/// the turn is not over until then (the next turn of the conversation would find Codex's
/// thread still held by this process), so this waits up to [`EXIT_WAIT`].
async fn exit_code(docker: &bollard::Docker, exec_id: &str) -> Option<i32> {
    let started = tokio::time::Instant::now();
    while started.elapsed() < EXIT_WAIT {
        match docker.inspect_exec(exec_id).await {
            Ok(i) if i.running != Some(true) => {
                let waited = started.elapsed();
                if waited > Duration::from_secs(1) {
                    tracing::info!(
                        exec = exec_id,
                        waited_ms = waited.as_millis() as u64,
                        "the engine reported the exec's end long after its output ended"
                    );
                }
                return i.exit_code.and_then(|c| i32::try_from(c).ok());
            }
            // The engine usually reports the end within milliseconds of the output's:
            // look again soon at first, then less often.
            Ok(_) => {
                let pause = if started.elapsed() < Duration::from_millis(200) {
                    5
                } else {
                    20
                };
                tokio::time::sleep(Duration::from_millis(pause)).await;
            }
            Err(_) => return None,
        }
    }
    warn!(
        exec = exec_id,
        "the exec still runs {} s after its output ended",
        EXIT_WAIT.as_secs()
    );
    None
}

/// How long [`exit_code`] waits for the engine to report an exec's end.
const EXIT_WAIT: Duration = Duration::from_secs(30);

#[cfg(test)]
mod tests {
    use super::parse_oom_kills;

    #[test]
    fn the_oom_kill_counter_is_read_from_either_cgroup_version() {
        let v1 = "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n";
        let v2 = "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n";
        assert_eq!(parse_oom_kills(v1), Some(2));
        assert_eq!(parse_oom_kills(v2), Some(1));
        assert_eq!(parse_oom_kills(""), None);
    }
}
