//! Starting a process under the run helper (`bins/codex-mcp-run`), where the container has
//! one: a static binary that comes with mcpd's pinned Codex and does in one process what
//! the shell scripts of `exec.rs`, [`super::durable`] and [`super::carry`] do with up to
//! five (`sh`, two `tee`s, an `mv` per file). Each process started in a container costs
//! about 1.5 ms; in an agent container, with `cat` standing in for Codex, a warm turn's
//! wrapping took 5.7 ms under the scripts and 1.6 ms under the helper (docs/benchmarks.md).
//!
//! The helper keeps the scripts' files (pid file, `.out`, `.err`, `.rc` in `/tmp`) and the
//! frame of carried files, so the reader, probe, stopper and reaper of [`super::durable`]
//! and the killer of `exec.rs` work on its runs as on theirs. Containers without the
//! helper (other images, no helper image) keep the scripts.

use crate::CarriedFile;

/// The argv that runs `inner` under the helper at `helper`: the pid in `pidfile`, the
/// output kept for re-attaching when `keep`, the `carried` files written first (their
/// frame goes ahead of stdin, see [`super::carry::frame`]).
pub(super) fn argv(
    helper: &str,
    pidfile: &str,
    keep: bool,
    carried: &[CarriedFile],
    inner: Vec<String>,
) -> Vec<String> {
    let mut out = vec![helper.to_string(), "--pid-file".into(), pidfile.into()];
    if keep {
        out.extend([
            "--keep-output".into(),
            "--sweep".into(),
            super::durable::PREFIX.into(),
        ]);
    }
    for f in carried {
        out.extend(["--carry".into(), f.target.clone()]);
    }
    out.push("--".into());
    out.extend(inner);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn a_named_run_keeps_its_output_and_carries_its_files_in_order() {
        let carried = [
            "/home/agent/.codex/auth.json",
            "/home/agent/.codex/config.toml",
        ]
        .map(|t| CarriedFile {
            target: t.into(),
            bytes: b"x".to_vec(),
        });
        let got = argv(
            "/opt/codex-mcp/codex/bin/codex-mcp-run",
            "/tmp/.codex-mcp-exec-r1.pid",
            true,
            &carried,
            vec!["codex".into(), "exec".into()],
        );
        let want = [
            "/opt/codex-mcp/codex/bin/codex-mcp-run",
            "--pid-file",
            "/tmp/.codex-mcp-exec-r1.pid",
            "--keep-output",
            "--sweep",
            "/tmp/.codex-mcp-exec-",
            "--carry",
            "/home/agent/.codex/auth.json",
            "--carry",
            "/home/agent/.codex/config.toml",
            "--",
            "codex",
            "exec",
        ];
        assert_eq!(got, want.map(String::from).to_vec());
        let anonymous = argv("/h", "/tmp/p", false, &[], vec!["git".into()]);
        assert_eq!(
            anonymous,
            ["/h", "--pid-file", "/tmp/p", "--", "git"]
                .map(String::from)
                .to_vec()
        );
    }
}
