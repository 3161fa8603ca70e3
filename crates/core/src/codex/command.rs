//! The `codex exec` command line.
//!
//! `codex exec` and `codex exec resume` take different flags: resume has neither `-C`
//! nor `-s`, so the working directory becomes the process's cwd and the sandbox a `-c`
//! override. The prompt always goes on stdin (`-`), never on the command line, so large
//! prompts work and nothing secret or long shows in a process listing.

/// How much Codex may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sandbox {
    /// Codex's own sandbox, read-only.
    ReadOnly,
    /// Codex's own sandbox, writes allowed in the workspace.
    WorkspaceWrite,
    /// No sandbox inside Codex: the environment (a container) is the sandbox.
    External,
}

impl Sandbox {
    fn mode(self) -> &'static str {
        match self {
            Self::ReadOnly => "read-only",
            Self::WorkspaceWrite => "workspace-write",
            Self::External => "danger-full-access",
        }
    }
}

/// Everything that shapes one `codex exec` invocation.
#[derive(Debug, Clone)]
pub struct CodexCommand {
    /// The Codex program (a path, or `codex` on the environment's PATH).
    pub program: String,
    /// Working directory inside the agent's environment.
    pub workdir: String,
    /// Continue this thread instead of starting one.
    pub resume: Option<String>,
    /// JSON Schema file (path inside the environment) for the final message.
    pub output_schema: Option<String>,
    /// `-m`, only when configured, so Codex's own default applies otherwise.
    pub model: Option<String>,
    /// Sandbox policy.
    pub sandbox: Sandbox,
    /// Extra `-c key=value` overrides.
    pub config: Vec<String>,
}

impl CodexCommand {
    /// The argv, ending with `-` (prompt on stdin).
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec![self.program.clone(), "exec".to_string()];
        if let Some(thread) = &self.resume {
            argv.push("resume".into());
            argv.push(thread.clone());
        }
        argv.extend(["--json".to_string(), "--skip-git-repo-check".to_string()]);
        if let Some(schema) = &self.output_schema {
            argv.extend(["--output-schema".to_string(), schema.clone()]);
        }
        if let Some(model) = &self.model {
            argv.extend(["-m".to_string(), model.clone()]);
        }
        match (&self.resume, self.sandbox) {
            (None, Sandbox::External) => {
                argv.push("--dangerously-bypass-approvals-and-sandbox".into())
            }
            (None, sandbox) => {
                argv.extend(["-s".to_string(), sandbox.mode().to_string()]);
            }
            (Some(_), Sandbox::External) => {
                argv.push("--dangerously-bypass-approvals-and-sandbox".into())
            }
            (Some(_), sandbox) => {
                argv.extend([
                    "-c".to_string(),
                    format!("sandbox_mode=\"{}\"", sandbox.mode()),
                ]);
            }
        }
        if self.resume.is_none() {
            argv.extend(["-C".to_string(), self.workdir.clone()]);
        }
        for c in &self.config {
            argv.extend(["-c".to_string(), c.clone()]);
        }
        argv.push("-".into());
        argv
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn base() -> CodexCommand {
        CodexCommand {
            program: "codex".into(),
            workdir: "/ws".into(),
            resume: None,
            output_schema: Some("/home/schema.json".into()),
            model: None,
            sandbox: Sandbox::ReadOnly,
            config: vec![],
        }
    }

    #[test]
    fn exec_uses_dash_c_and_dash_s() {
        assert_eq!(
            base().argv().join(" "),
            "codex exec --json --skip-git-repo-check --output-schema /home/schema.json -s read-only -C /ws -"
        );
    }

    #[test]
    fn resume_moves_sandbox_into_config_and_drops_cd() {
        let cmd = CodexCommand {
            resume: Some("t-1".into()),
            model: Some("m".into()),
            sandbox: Sandbox::WorkspaceWrite,
            ..base()
        };
        assert_eq!(
            cmd.argv().join(" "),
            "codex exec resume t-1 --json --skip-git-repo-check --output-schema /home/schema.json -m m -c sandbox_mode=\"workspace-write\" -"
        );
    }

    #[test]
    fn containers_bypass_codex_sandbox() {
        let cmd = CodexCommand {
            sandbox: Sandbox::External,
            output_schema: None,
            ..base()
        };
        assert_eq!(
            cmd.argv().join(" "),
            "codex exec --json --skip-git-repo-check --dangerously-bypass-approvals-and-sandbox -C /ws -"
        );
    }
}
