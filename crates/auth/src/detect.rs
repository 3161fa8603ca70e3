//! Finding the login: the documented search order, the method settings, and a sentence
//! for everything that was found wanting.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::authfile::{self, TokenSet};
use crate::credentials::{ChatGptLogin, Credentials, Fingerprint, Login, Source};
use crate::fsutil::{self, FileStamp};
use crate::jwt;
use crate::secret::Secret;
use crate::settings::{MethodSetting, Settings};

/// What a user sees when there is nothing to authenticate with: the two ways out.
pub const NO_CREDENTIALS_MESSAGE: &str = "No Codex credentials were found. Run `codex login` \
on the host to use your ChatGPT subscription, or set OPENAI_API_KEY to use an API key, then \
try again.";

/// Everything detection reads from the outside world, so tests can supply it and the
/// process environment stays out of them.
#[derive(Debug, Clone, Default)]
pub struct DetectInputs {
    /// `CODEX_AUTH_DIR`: a directory holding auth.json (searched first).
    pub codex_auth_dir: Option<PathBuf>,
    /// The user's home as the OS reports it (`~`).
    pub home_dir: Option<PathBuf>,
    /// `USERPROFILE` (Windows homes mounted into Linux).
    pub userprofile: Option<PathBuf>,
    /// `HOME`.
    pub home: Option<PathBuf>,
    /// `CHATGPT_OAUTH_TOKEN`: a bare ChatGPT access token.
    pub chatgpt_oauth_token: Option<Secret>,
    /// `OPENAI_API_KEY`.
    pub openai_api_key: Option<Secret>,
    /// `CODEX_AUTH_METHOD`.
    pub auth_method: Option<String>,
    /// `CODEX_PREFER_OAUTH`.
    pub prefer_oauth: Option<String>,
    /// Both preferences already parsed (by a program that checks its settings at
    /// startup); when set, `auth_method` and `prefer_oauth` are not read.
    pub settings: Option<Settings>,
}

impl DetectInputs {
    /// Reads the inputs from this process's environment (for the binary).
    pub fn from_process_env() -> Self {
        fn var(name: &str) -> Option<String> {
            std::env::var(name).ok().filter(|v| !v.trim().is_empty())
        }
        Self {
            codex_auth_dir: var("CODEX_AUTH_DIR").map(PathBuf::from),
            home_dir: std::env::home_dir(),
            userprofile: var("USERPROFILE").map(PathBuf::from),
            home: var("HOME").map(PathBuf::from),
            chatgpt_oauth_token: var("CHATGPT_OAUTH_TOKEN").map(|v| Secret::new(v.trim())),
            openai_api_key: var("OPENAI_API_KEY").map(|v| Secret::new(v.trim())),
            auth_method: var("CODEX_AUTH_METHOD"),
            prefer_oauth: var("CODEX_PREFER_OAUTH"),
            settings: None,
        }
    }

    /// The auth.json paths to try, in order, without duplicates.
    pub fn candidate_files(&self) -> Vec<(&'static str, PathBuf)> {
        let mut out: Vec<(&'static str, PathBuf)> = Vec::new();
        let dirs = [
            ("CODEX_AUTH_DIR", self.codex_auth_dir.clone()),
            ("~/.codex", self.home_dir.as_ref().map(|h| h.join(".codex"))),
            (
                "USERPROFILE",
                self.userprofile.as_ref().map(|h| h.join(".codex")),
            ),
            ("HOME", self.home.as_ref().map(|h| h.join(".codex"))),
        ];
        for (label, dir) in dirs {
            let Some(dir) = dir else { continue };
            let path = dir.join("auth.json");
            let same = |p: &Path| p == path || same_file(p, &path);
            if !out.iter().any(|(_, p)| same(p)) {
                out.push((label, path));
            }
        }
        out
    }

    /// The directory `codex login` should write to so that detection finds the result:
    /// `CODEX_AUTH_DIR` when set, else Codex's own default (`~/.codex`).
    pub fn login_dir(&self) -> Option<PathBuf> {
        self.codex_auth_dir
            .clone()
            .or_else(|| self.home_dir.as_ref().map(|h| h.join(".codex")))
            .or_else(|| self.home.as_ref().map(|h| h.join(".codex")))
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}

/// The outcome of a search: the chosen credentials (if any) and every problem met.
#[derive(Debug, Clone)]
pub struct Detection {
    /// What agents will use; `None` when nothing usable was found.
    pub credentials: Option<Credentials>,
    /// Human sentences: unreadable files, bad settings, conflicts.
    pub problems: Vec<String>,
}

struct Candidate {
    login: Login,
    source: Source,
    fingerprint: Fingerprint,
    stamp: Option<FileStamp>,
}

/// Searches for credentials as of now.
pub fn detect(inputs: &DetectInputs) -> Detection {
    detect_at(inputs, Utc::now())
}

/// Searches for credentials; `now` decides whether a login is already dead, which makes
/// `auto` fall back to the other kind.
pub fn detect_at(inputs: &DetectInputs, now: DateTime<Utc>) -> Detection {
    let (settings, mut problems) = match inputs.settings {
        Some(parsed) => (parsed, Vec::new()),
        None => Settings::parse(
            inputs.auth_method.as_deref(),
            inputs.prefer_oauth.as_deref(),
        ),
    };
    let mut oauth: Vec<Candidate> = Vec::new();
    let mut keys: Vec<Candidate> = Vec::new();

    for (label, path) in inputs.candidate_files() {
        let (bytes, stamp) = match fsutil::read_regular(&path) {
            Ok(Some(found)) => found,
            Ok(None) => {
                if label == "CODEX_AUTH_DIR" {
                    problems.push(format!(
                        "CODEX_AUTH_DIR is set, but {} does not exist.",
                        path.display()
                    ));
                }
                continue;
            }
            Err(problem) => {
                problems.push(format!("{} {problem}; it was skipped.", path.display()));
                continue;
            }
        };
        let file = match authfile::parse(&bytes) {
            Ok(file) => file,
            Err(e) => {
                problems.push(format!("{} {e}; it was skipped.", path.display()));
                continue;
            }
        };
        let fingerprint = Fingerprint::of(&bytes);
        let source = Source::File(path);
        if let Some(key) = &file.api_key {
            keys.push(Candidate {
                login: Login::ApiKey(key.clone()),
                source: source.clone(),
                fingerprint,
                stamp: Some(stamp),
            });
        }
        if let Some(tokens) = file.tokens.clone() {
            let last_refresh = file.last_refresh;
            oauth.push(Candidate {
                login: Login::ChatGpt(Box::new(ChatGptLogin {
                    tokens,
                    last_refresh,
                    file: Some(file),
                })),
                source,
                fingerprint,
                stamp: Some(stamp),
            });
        }
    }
    if let Some(token) = &inputs.chatgpt_oauth_token {
        oauth.push(env_oauth_candidate(token));
    }
    if let Some(key) = inputs.openai_api_key.as_ref().filter(|k| !k.is_blank()) {
        keys.push(Candidate {
            fingerprint: Fingerprint::of(
                format!("env:OPENAI_API_KEY\0{}", key.expose()).as_bytes(),
            ),
            login: Login::ApiKey(key.clone()),
            source: Source::Env("OPENAI_API_KEY"),
            stamp: None,
        });
    }

    let chosen = choose(settings, oauth, keys, now, &mut problems);
    if chosen.is_none() && problems.iter().any(|p| p == NO_CREDENTIALS_MESSAGE) {
        let searched: Vec<String> = inputs
            .candidate_files()
            .iter()
            .map(|(_, p)| p.display().to_string())
            .collect();
        let files = if searched.is_empty() {
            "no auth.json location (neither CODEX_AUTH_DIR nor a home directory is set)".to_string()
        } else {
            searched.join(", ")
        };
        problems.push(format!(
            "Searched: {files}; and the environment variables CHATGPT_OAUTH_TOKEN and OPENAI_API_KEY."
        ));
    }
    Detection {
        credentials: chosen
            .map(|c| Credentials::new(c.login, c.source, c.fingerprint, c.stamp, now)),
        problems,
    }
}

fn env_oauth_candidate(token: &Secret) -> Candidate {
    let access_claims = jwt::decode_claims(token.expose());
    let id_claims_json =
        jwt::synthetic_id_claims(access_claims.as_ref().unwrap_or(&Default::default()));
    let id_token = jwt::unsigned_jwt(&id_claims_json);
    let id_claims = jwt::decode_claims(&id_token).unwrap_or_default();
    let account_id = id_claims.chatgpt_account_id.clone();
    Candidate {
        fingerprint: Fingerprint::of(
            format!("env:CHATGPT_OAUTH_TOKEN\0{}", token.expose()).as_bytes(),
        ),
        login: Login::ChatGpt(Box::new(ChatGptLogin {
            tokens: TokenSet {
                id_token: Secret::new(id_token),
                access_token: token.clone(),
                refresh_token: None,
                account_id,
                id_claims,
                access_claims,
            },
            last_refresh: None,
            file: None,
        })),
        source: Source::Env("CHATGPT_OAUTH_TOKEN"),
        stamp: None,
    }
}

/// A login we know cannot work: expired with no way to renew it.
fn is_dead(c: &Candidate, now: DateTime<Utc>) -> bool {
    match &c.login {
        Login::ApiKey(_) => false,
        Login::ChatGpt(login) => {
            let renewable = login.file.is_some() && login.tokens.refresh_token.is_some();
            let expired = login
                .tokens
                .expires_at()
                .is_some_and(|exp| exp <= now.timestamp());
            expired && !renewable
        }
    }
}

fn choose(
    settings: Settings,
    oauth: Vec<Candidate>,
    keys: Vec<Candidate>,
    now: DateTime<Utc>,
    problems: &mut Vec<String>,
) -> Option<Candidate> {
    let first_oauth_source = oauth.first().map(|c| c.source.to_string());
    let first_key_source = keys.first().map(|c| c.source.to_string());
    let mut oauth = oauth.into_iter();
    let mut keys = keys.into_iter();
    match settings.method {
        MethodSetting::ApiKey => {
            let found = keys.next();
            if found.is_none() {
                let other = first_oauth_source.map_or(String::new(), |s| {
                    format!(" A ChatGPT login exists at {s}: set CODEX_AUTH_METHOD=auto (or oauth) to use it.")
                });
                problems.push(format!(
                    "CODEX_AUTH_METHOD=api_key, but no API key was found (OPENAI_API_KEY is not set and no auth.json holds a key).{other}"
                ));
            }
            found
        }
        MethodSetting::OAuth => {
            let found = oauth.next();
            if found.is_none() {
                let other = first_key_source.map_or(String::new(), |s| {
                    format!(" An API key exists at {s}: set CODEX_AUTH_METHOD=auto (or api_key) to use it.")
                });
                problems.push(format!(
                    "CODEX_AUTH_METHOD=oauth, but no ChatGPT login was found (run `codex login` on the host).{other}"
                ));
            }
            found
        }
        MethodSetting::Auto => {
            let (first, second) = if settings.prefer_oauth {
                (oauth.next(), keys.next())
            } else {
                (keys.next(), oauth.next())
            };
            match (first, second) {
                (Some(f), Some(s)) if is_dead(&f, now) && !is_dead(&s, now) => {
                    problems.push(format!(
                        "The ChatGPT token from {} has expired and cannot be refreshed; using the API key from {} instead.",
                        f.source, s.source
                    ));
                    Some(s)
                }
                (Some(f), _) => Some(f),
                (None, s) => {
                    if s.is_none() {
                        problems.push(NO_CREDENTIALS_MESSAGE.to_string());
                    }
                    s
                }
            }
        }
    }
}
