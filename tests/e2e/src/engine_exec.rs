//! The Docker floor without the `docker` CLI: the Codex turn of
//! [`crate::bench::docker_exec_turn`] run through the Engine API, as mcpd's Docker runtime
//! runs it (create an exec, attach, write the prompt and half-close, read to the end,
//! inspect the exit code), with no server in between.
//!
//! The CLI floor also starts a `docker` client process for every turn, which mcpd does
//! not; against it mcpd came out faster than the floor, so that floor hid what mcpd adds.

use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecOptions, StartExecResults};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;

use crate::bench::{codex_turn_argv, thread_started};

/// A connection to the engine (`DOCKER_HOST`, else the local socket).
pub struct Engine(Docker);

impl Engine {
    /// Connects and agrees on the API version.
    pub async fn connect() -> anyhow::Result<Self> {
        let docker = Docker::connect_with_local_defaults()?
            .negotiate_version()
            .await?;
        Ok(Self(docker))
    }

    /// One turn in `container` (see [`codex_turn_argv`]): its duration and the thread id
    /// Codex reported. Fails, with Codex's stderr, when the exit code is not 0.
    pub async fn turn(
        &self,
        container: &str,
        thread: Option<&str>,
        prompt: &str,
    ) -> anyhow::Result<(Duration, Option<String>)> {
        let t = Instant::now();
        let argv = codex_turn_argv(thread);
        let opts = CreateExecOptions {
            attach_stdin: Some(true),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            tty: Some(false),
            cmd: Some(argv),
            ..Default::default()
        };
        let created = self.0.create_exec(container, opts).await?;
        let start = StartExecOptions {
            detach: false,
            tty: false,
            output_capacity: Some(64 * 1024),
        };
        let StartExecResults::Attached {
            mut output,
            mut input,
        } = self.0.start_exec(&created.id, Some(start)).await?
        else {
            anyhow::bail!("the engine did not attach to the exec");
        };
        let prompt = prompt.as_bytes().to_vec();
        let writer = tokio::spawn(async move {
            input.write_all(&prompt).await?;
            input.shutdown().await
        });
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        while let Some(chunk) = output.next().await {
            match chunk? {
                LogOutput::StdOut { message } | LogOutput::Console { message } => {
                    stdout.extend_from_slice(&message);
                }
                LogOutput::StdErr { message } => stderr.extend_from_slice(&message),
                LogOutput::StdIn { .. } => {}
            }
        }
        writer.await??;
        let code = self.0.inspect_exec(&created.id).await?.exit_code;
        let took = t.elapsed();
        anyhow::ensure!(
            code == Some(0),
            "codex in {container} exited with {code:?}: {}",
            String::from_utf8_lossy(&stderr)
        );
        Ok((took, thread_started(&String::from_utf8_lossy(&stdout))))
    }
}
