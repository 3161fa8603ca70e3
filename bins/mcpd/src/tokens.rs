//! `MCPD_TOKENS_FILE`: the bearer tokens a server requires, read once at startup.
//!
//! ```toml
//! [[token]]
//! name = "laptop"                 # shown in errors and logs, never the token
//! token = "a-long-random-string"  # or: sha256 = "<64 hex digits of its SHA-256>"
//! agents = ["alice", "alice-2"]   # who the holder may act as; "*" for anyone
//! admin = false                   # true: the server tools show and clean every agent
//! ```
//!
//! A call without an agent id runs as the token's first agent. The server tools answer a
//! token only about its own agents, unless it is `admin = true` or lists `"*"`. Every mistake in the file
//! stops startup with a message naming the setting, the entry and the field.

use std::path::Path;
use std::sync::Arc;

use codex_mcp_core::transport::http::bearer::{ANY_AGENT, TokenGrant, TokenTable};
use serde::Deserialize;

/// One `[[token]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    token: Option<String>,
    sha256: Option<String>,
    agents: Vec<String>,
    /// Kept as written so a wrong type is reported in this module's words.
    admin: Option<toml::Value>,
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    token: Vec<Entry>,
}

/// Shortest plain token accepted: anything shorter is guessable.
const MIN_TOKEN_LEN: usize = 16;

/// Reads and checks the tokens file; the error names the file and what is wrong.
pub fn load(path: &Path) -> Result<Arc<TokenTable>, String> {
    let at = |why: String| format!("MCPD_TOKENS_FILE={}: {why}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| at(format!("cannot read it ({e})")))?;
    let file: File = toml::from_str(&text).map_err(|e| at(format!("not valid: {e}")))?;
    if file.token.is_empty() {
        return Err(at(
            "no [[token]] entries: every request would be refused".into()
        ));
    }
    let mut grants = Vec::with_capacity(file.token.len());
    for (i, entry) in file.token.into_iter().enumerate() {
        let which = format!("token #{} ({:?})", i + 1, entry.name);
        let sha256 = match (&entry.token, &entry.sha256) {
            (Some(t), None) if t.len() >= MIN_TOKEN_LEN => TokenTable::digest(t),
            (Some(_), None) => {
                return Err(at(format!(
                    "{which}: token is shorter than {MIN_TOKEN_LEN} characters"
                )));
            }
            (None, Some(hex)) => parse_digest(hex)
                .ok_or_else(|| at(format!("{which}: sha256 must be 64 hex digits")))?,
            _ => return Err(at(format!("{which}: give exactly one of token and sha256"))),
        };
        for agent in &entry.agents {
            if agent != ANY_AGENT
                && let Err(e) = codex_mcp_runtime::AgentId::new(agent.as_str())
            {
                return Err(at(format!("{which}: agents: {e}")));
            }
        }
        let admin = match &entry.admin {
            None => false,
            Some(toml::Value::Boolean(b)) => *b,
            Some(other) => {
                return Err(at(format!(
                    "{which}: admin must be true or false, not {other}"
                )));
            }
        };
        grants.push(TokenGrant {
            name: entry.name,
            sha256,
            agents: entry.agents,
            admin,
        });
    }
    TokenTable::new(grants)
        .map(Arc::new)
        .map_err(|e| at(e.to_string()))
}

fn parse_digest(hex: &str) -> Option<[u8; 32]> {
    let hex = hex.trim();
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn load_text(text: &str) -> Result<usize, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let path = dir.path().join("tokens.toml");
        std::fs::write(&path, text).map_err(|e| e.to_string())?;
        load(&path)
            .map(|t| t.len())
            .map_err(|e| e.replace(&path.display().to_string(), "F"))
    }

    #[test]
    fn plain_and_hashed_tokens_load() {
        let hashed: String = TokenTable::digest("another-long-token")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let text = format!(
            "[[token]]\nname = \"a\"\ntoken = \"0123456789abcdef\"\nagents = [\"alice\"]\n\
             [[token]]\nname = \"b\"\nsha256 = \"{hashed}\"\nagents = [\"*\"]\n\
             [[token]]\nname = \"c\"\ntoken = \"0123456789abcdeX\"\nagents = [\"o\"]\nadmin = true\n"
        );
        assert_eq!(load_text(&text), Ok(3));
    }

    #[test]
    fn every_mistake_is_named() {
        let cases = [
            (
                "",
                "MCPD_TOKENS_FILE=F: no [[token]] entries: every request would be refused",
            ),
            (
                "[[token]]\nname = \"a\"\ntoken = \"short\"\nagents = [\"x\"]\n",
                "MCPD_TOKENS_FILE=F: token #1 (\"a\"): token is shorter than 16 characters",
            ),
            (
                "[[token]]\nname = \"a\"\nagents = [\"x\"]\n",
                "MCPD_TOKENS_FILE=F: token #1 (\"a\"): give exactly one of token and sha256",
            ),
            (
                "[[token]]\nname = \"a\"\nsha256 = \"zz\"\nagents = [\"x\"]\n",
                "MCPD_TOKENS_FILE=F: token #1 (\"a\"): sha256 must be 64 hex digits",
            ),
            (
                "[[token]]\nname = \"a\"\ntoken = \"0123456789abcdef\"\nagents = [\"x\"]\nadmin = \"yes\"\n",
                "MCPD_TOKENS_FILE=F: token #1 (\"a\"): admin must be true or false, not \"yes\"",
            ),
            (
                "[[token]]\nname = \"a\"\ntoken = \"0123456789abcdef\"\nagents = []\n",
                "MCPD_TOKENS_FILE=F: token \"a\" lists no agents; give at least one agent id or \"*\"",
            ),
        ];
        for (text, want) in cases {
            assert_eq!(load_text(text), Err(want.to_string()), "{text}");
        }
        let bad_agent = load_text(
            "[[token]]\nname = \"a\"\ntoken = \"0123456789abcdef\"\nagents = [\"no spaces\"]\n",
        )
        .unwrap_err();
        assert!(
            bad_agent.starts_with("MCPD_TOKENS_FILE=F: token #1 (\"a\"): agents:"),
            "{bad_agent}"
        );
        let syntax = load_text("[[token]\n").unwrap_err();
        assert!(
            syntax.starts_with("MCPD_TOKENS_FILE=F: not valid:"),
            "{syntax}"
        );
        let unknown = load_text(
            "[[token]]\nname = \"a\"\ntoken = \"0123456789abcdef\"\nagents = [\"x\"]\nagent = \"y\"\n",
        )
        .unwrap_err();
        assert!(unknown.contains("unknown field `agent`"), "{unknown}");
        let missing = load(Path::new("/nonexistent/tokens.toml")).unwrap_err();
        assert!(
            missing.starts_with("MCPD_TOKENS_FILE=/nonexistent/tokens.toml: cannot read it"),
            "{missing}"
        );
    }
}
