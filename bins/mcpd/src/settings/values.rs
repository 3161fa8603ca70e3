//! Parsers of the settings that name Docker objects, host folders or origins.

use std::path::{Component, PathBuf};

use codex_mcp_runtime::RuntimeError;

use super::{Approval, MethodSetting, RuntimeChoice};

/// Checks an instance name: it becomes part of Docker object names and a label value.
pub fn parse_instance(v: &str) -> Result<String, String> {
    let v = v.trim();
    let ok = (1..=32).contains(&v.len())
        && v.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && v.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        });
    if ok {
        Ok(v.to_string())
    } else {
        Err("expected 1-32 characters from a-z 0-9 _ . - starting with a letter or digit".into())
    }
}

/// Parses `MCPD_ALLOWED_ORIGINS`: comma-separated browser origins, each
/// `http(s)://host[:port]` exactly as a browser sends it (no path, no trailing slash).
pub fn parse_origins(v: &str) -> Result<Vec<String>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(|o| {
            let rest = o
                .strip_prefix("http://")
                .or_else(|| o.strip_prefix("https://"));
            match rest {
                Some(authority)
                    if !authority.is_empty()
                        && !authority.contains(['/', '?', '#', '@'])
                        && !authority.chars().any(char::is_whitespace) =>
                {
                    Ok(o.to_string())
                }
                _ => Err(format!(
                    "{o:?} is not an origin; expected http://host[:port] or https://host[:port] \
                     (no path), comma-separated"
                )),
            }
        })
        .collect()
}

/// Parses `CODEX_MCP_WORKSPACE_ROOTS`: absolute host folders separated by `:`, none with
/// `..` (a root is compared after symlinks are resolved, and `..` would only hide where it
/// really points).
pub fn parse_roots(v: &str) -> Result<Vec<PathBuf>, String> {
    v.split(':')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let path = PathBuf::from(p);
            if !path.is_absolute() {
                Err(format!(
                    "{p} is not an absolute path; expected absolute folders separated by ':'"
                ))
            } else if path.components().any(|c| c == Component::ParentDir) {
                Err(format!("{p} contains '..'; name the folder itself"))
            } else {
                Ok(path)
            }
        })
        .collect()
}

/// Parses `CODEX_MCP_AGENT_WORKSPACES`: `agent=/host/folder` pairs separated by `,`. Each
/// agent id must be valid and appear once; each folder absolute and without `..`. Whether
/// a folder lies under `CODEX_MCP_WORKSPACE_ROOTS` is checked once both are known.
pub fn parse_agent_workspaces(v: &str) -> Result<Vec<(String, PathBuf)>, String> {
    let mut out: Vec<(String, PathBuf)> = Vec::new();
    for pair in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((agent, folder)) = pair.split_once('=') else {
            return Err(format!("{pair:?} is not agent=/host/folder"));
        };
        let agent = agent.trim();
        codex_mcp_runtime::AgentId::new(agent).map_err(|e| format!("{pair:?}: {e}"))?;
        if out.iter().any(|(a, _)| a == agent) {
            return Err(format!("agent {agent} is given two workspaces"));
        }
        let folder = parse_roots(folder.trim())
            .map_err(|e| format!("{pair:?}: {e}"))?
            .into_iter()
            .next()
            .ok_or_else(|| format!("{pair:?} names no folder"))?;
        out.push((agent.to_string(), folder));
    }
    Ok(out)
}

/// `CODEX_MCP_RUNTIME`, parsed by the runtime crate.
pub fn parse_runtime(v: &str) -> Result<RuntimeChoice, String> {
    v.parse().map_err(|e| reason(&e))
}

/// `CODEX_AUTH_METHOD`, parsed by the auth crate.
pub fn parse_auth_method(v: &str) -> Result<MethodSetting, String> {
    codex_mcp_auth::Settings::parse_strict(Some(v), None)
        .map(|s| s.method)
        .map_err(|e| e.to_string())
}

/// `CODEX_APPROVAL_MODE`.
pub fn parse_approval(v: &str) -> Result<Approval, String> {
    match v.to_ascii_lowercase().as_str() {
        "suggest" => Ok(Approval::Suggest),
        "auto" => Ok(Approval::Auto),
        "manual" => Ok(Approval::Manual),
        _ => Err("expected suggest, auto or manual".into()),
    }
}

/// A positive size (`16m`, `2gb`, ...), read by the runtime's one size parser.
pub fn parse_size(name: &str, v: &str) -> Result<u64, String> {
    match codex_mcp_runtime::parse_size(name, v) {
        Ok(0) => Err("the size must be more than 0".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(reason(&e)),
    }
}

/// `CODEX_MCP_INLINE_RESULT_BYTES`: a size of at least 4k (below it a cut result could
/// not say what it holds).
pub fn parse_inline_limit(v: &str) -> Result<u64, String> {
    let n = parse_size("CODEX_MCP_INLINE_RESULT_BYTES", v)?;
    let min = codex_mcp_core::tools::inline::MIN_INLINE_RESULT_BYTES as u64;
    if n < min {
        return Err(format!(
            "{n} bytes is below the minimum of {min} (4k): a shorter result could not say \
             what it holds"
        ));
    }
    Ok(n)
}

/// A container memory limit, read by the runtime's parser (at least 6m).
pub fn parse_memory_limit(name: &str, v: &str) -> Result<u64, String> {
    codex_mcp_runtime::parse_memory_limit(name, v).map_err(|e| reason(&e))
}

/// The reason of a runtime setting error (the caller names the setting and value).
/// The reason of a refused setting, without the name and value the caller adds.
pub(super) fn reason(e: &RuntimeError) -> String {
    match e {
        RuntimeError::InvalidSetting { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// `CODEX_MCP_RUNTIME` as written in settings, for `mcpd config`.
pub fn runtime_text<S: serde::Serializer>(v: &RuntimeChoice, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match v {
        RuntimeChoice::Auto => "auto",
        RuntimeChoice::Docker => "docker",
        RuntimeChoice::Local => "local",
        RuntimeChoice::Kubernetes => "kubernetes",
    })
}

/// `CODEX_AUTH_METHOD` as written in settings, for `mcpd config`.
pub fn method_text<S: serde::Serializer>(v: &MethodSetting, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match v {
        MethodSetting::Auto => "auto",
        MethodSetting::ApiKey => "api_key",
        MethodSetting::OAuth => "oauth",
    })
}

/// `CODEX_APPROVAL_MODE` as written in settings, for `mcpd config`.
pub fn approval_text<S: serde::Serializer>(v: &Approval, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match v {
        Approval::Suggest => "suggest",
        Approval::Auto => "auto",
        Approval::Manual => "manual",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn agent_workspaces_parse_and_each_mistake_is_named() {
        assert_eq!(
            parse_agent_workspaces(" alice=/srv/a , bob=/srv/b,"),
            Ok(vec![
                ("alice".to_string(), PathBuf::from("/srv/a")),
                ("bob".to_string(), PathBuf::from("/srv/b")),
            ])
        );
        let errors = [
            ("alice", "\"alice\" is not agent=/host/folder"),
            ("alice=/a,alice=/b", "agent alice is given two workspaces"),
            (
                "alice=rel",
                "\"alice=rel\": rel is not an absolute path; expected absolute folders separated by ':'",
            ),
            (
                "alice=/srv/../etc",
                "\"alice=/srv/../etc\": /srv/../etc contains '..'; name the folder itself",
            ),
            ("alice=", "\"alice=\" names no folder"),
        ];
        for (input, want) in errors {
            assert_eq!(
                parse_agent_workspaces(input),
                Err(want.to_string()),
                "{input}"
            );
        }
        let bad_id = parse_agent_workspaces("no spaces=/srv/a").unwrap_err();
        assert!(bad_id.starts_with("\"no spaces=/srv/a\": "), "{bad_id}");
    }
}
