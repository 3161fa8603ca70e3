//! Which Codex CLI the local runtime runs: `codex --version`, judged against the oldest
//! version mcpd is known to work with, so that `health_check`, `/health` and `mcpd doctor`
//! can say "this Codex is too old" instead of leaving users to decode its usage errors.

use std::time::Duration;

/// The oldest Codex CLI mcpd is tested with (`codex exec --json`, `--output-schema`,
/// `exec resume`, `--disable`): older ones reject flags mcpd passes.
pub const OLDEST_SUPPORTED: (u64, u64, u64) = (0, 169, 0);

/// What `PROGRAM --version` said about a Codex CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodexVersion {
    /// Its first line (e.g. `codex-cli 0.169.0`), or empty when it did not run.
    pub line: String,
    /// What is wrong with it, naming the setting to change; `None` when it is usable.
    pub problem: Option<String>,
}

/// How to fix any problem [`probe`] reports.
pub const FIX: &str =
    "install the Codex CLI (the npm package @openai/codex) or set CODEX_BIN to a current one";

/// Runs `program --version` (at most `timeout`) and judges the answer.
pub async fn probe(program: &str, timeout: Duration) -> CodexVersion {
    let run = tokio::process::Command::new(program)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output();
    let unusable = |problem: String| CodexVersion {
        line: String::new(),
        problem: Some(problem),
    };
    match tokio::time::timeout(timeout, run).await {
        Ok(Ok(out)) if out.status.success() => {
            let text = String::from_utf8_lossy(&out.stdout);
            let line = text.lines().next().unwrap_or_default().trim().to_string();
            let problem = judge(&line).map(|p| format!("{program}: {p}"));
            CodexVersion { line, problem }
        }
        Ok(Ok(out)) => unusable(format!(
            "{program} --version failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(Err(e)) => unusable(format!("cannot run {program}: {e}")),
        Err(_) => unusable(format!(
            "{program} --version did not answer in {} s",
            timeout.as_secs()
        )),
    }
}

/// What is wrong with a `codex --version` line, if anything.
pub fn judge(line: &str) -> Option<String> {
    let (a, b, c) = OLDEST_SUPPORTED;
    let Some(found) = parse(line) else {
        return Some(format!(
            "`--version` printed {line:?}, not `codex-cli X.Y.Z`: is it the Codex CLI?"
        ));
    };
    (found < OLDEST_SUPPORTED)
        .then(|| format!("{line} is older than {a}.{b}.{c}, the oldest Codex CLI mcpd works with"))
}

/// `(major, minor, patch)` of `codex-cli X.Y.Z[-suffix]`.
fn parse(line: &str) -> Option<(u64, u64, u64)> {
    let version = line.strip_prefix("codex-cli ")?.trim();
    let core = version.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(str::parse::<u64>);
    let v = (
        parts.next()?.ok()?,
        parts.next()?.ok()?,
        parts.next()?.ok()?,
    );
    parts.next().is_none().then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_the_oldest_supported_on_are_accepted() {
        assert_eq!(judge("codex-cli 0.169.0"), None);
        assert_eq!(judge("codex-cli 0.170.2"), None);
        assert_eq!(judge("codex-cli 1.0.0-beta.1"), None);
    }

    #[test]
    fn older_or_foreign_versions_are_named() {
        let old = judge("codex-cli 0.1.0").unwrap_or_default();
        assert!(
            old.contains("codex-cli 0.1.0 is older than 0.169.0"),
            "{old}"
        );
        let odd = judge("something 2.0").unwrap_or_default();
        assert!(odd.contains("not `codex-cli X.Y.Z`"), "{odd}");
        assert!(judge("codex-cli 0.169").is_some());
    }
}
