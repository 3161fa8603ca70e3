//! Building prompt text: sections for the caller's inputs, and the rules every Codex
//! prompt ends with.

use crate::spec::WorkspaceAccess;

/// A prompt under construction; sections with nothing in them are left out.
pub(crate) struct PromptText {
    text: String,
}

impl PromptText {
    /// Starts with the one-paragraph statement of the job.
    pub(crate) fn new(job: &str) -> Self {
        Self {
            text: job.trim().to_owned(),
        }
    }

    fn heading(&mut self, heading: &str) {
        self.text.push_str("\n\n## ");
        self.text.push_str(heading);
        self.text.push('\n');
    }

    /// Free text written by the caller.
    pub(crate) fn text(mut self, heading: &str, body: Option<&str>) -> Self {
        if let Some(body) = body.map(str::trim).filter(|b| !b.is_empty()) {
            self.heading(heading);
            self.text.push_str(body);
        }
        self
    }

    /// Code, logs or other verbatim text, fenced so that its own Markdown cannot end
    /// the section.
    pub(crate) fn code(mut self, heading: &str, body: Option<&str>) -> Self {
        if let Some(body) = body.filter(|b| !b.trim().is_empty()) {
            self.heading(heading);
            self.text.push_str(&fenced(body));
        }
        self
    }

    /// A list given by the caller.
    pub(crate) fn list(mut self, heading: &str, items: Option<&[String]>) -> Self {
        let items: Vec<&str> = items
            .unwrap_or_default()
            .iter()
            .map(|i| i.trim())
            .filter(|i| !i.is_empty())
            .collect();
        if !items.is_empty() {
            self.heading(heading);
            let lines: Vec<String> = items.iter().map(|i| format!("- {i}")).collect();
            self.text.push_str(&lines.join("\n"));
        }
        self
    }

    /// Earlier turns of a conversation, each fenced under its speaker.
    pub(crate) fn transcript(mut self, heading: &str, turns: &[(&str, &str)]) -> Self {
        if !turns.is_empty() {
            self.heading(heading);
            let blocks: Vec<String> = turns
                .iter()
                .map(|(speaker, said)| format!("{speaker}:\n{}", fenced(said)))
                .collect();
            self.text.push_str(&blocks.join("\n\n"));
        }
        self
    }

    /// Numbered instructions.
    pub(crate) fn steps(mut self, heading: &str, steps: &[&str]) -> Self {
        self.heading(heading);
        let lines: Vec<String> = steps
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}. {s}", i + 1))
            .collect();
        self.text.push_str(&lines.join("\n"));
        self
    }

    /// Ends with the workspace rule and the final-message rule; `fields` says what the
    /// response's fields should hold.
    pub(crate) fn finish(mut self, access: WorkspaceAccess, fields: &[&str]) -> String {
        self.heading("Workspace");
        self.text.push_str(match access {
            WorkspaceAccess::ReadOnly => {
                "Work in the current directory: it is the calling agent's workspace. This task \
                 is read-only: read files and run commands that only inspect, but do not \
                 create, change or delete any file."
            }
            WorkspaceAccess::Writes => {
                "Work in the current directory: it is the calling agent's workspace. Make the \
                 changes in the files themselves. Do not commit, and do not touch files the \
                 task does not need."
            }
        });
        self.heading("Final message");
        self.text.push_str(
            "When you are done, reply with exactly one JSON object that matches the output \
             schema of this request, and nothing else: no Markdown, no code fences, no text \
             before or after it. Give every field; use null or an empty list where you have \
             nothing to say.",
        );
        for field in fields {
            self.text.push_str("\n- ");
            self.text.push_str(field);
        }
        self.text.push('\n');
        self.text
    }
}

/// `body` in a Markdown fence longer than any run of backticks inside it.
pub(crate) fn fenced(body: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}\n{}\n{fence}", body.trim_end_matches('\n'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn fences_outgrow_the_content() {
        assert_eq!(fenced("x = 1\n"), "```\nx = 1\n```");
        assert_eq!(fenced("a ```` b"), "`````\na ```` b\n`````");
    }

    #[test]
    fn empty_sections_are_left_out() {
        let text = PromptText::new("Job.")
            .text("Context", Some("  "))
            .list("Items", Some(&["".to_owned()]))
            .code("Code", None)
            .text("Task", Some("do it"))
            .finish(WorkspaceAccess::ReadOnly, &["a: b"]);
        assert!(
            text.starts_with("Job.\n\n## Task\ndo it\n\n## Workspace\n"),
            "{text}"
        );
        assert!(text.ends_with("nothing to say.\n- a: b\n"), "{text}");
    }
}
