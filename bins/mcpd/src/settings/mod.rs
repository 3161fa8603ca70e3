//! Every setting of `mcpd`, where it comes from, and how it is checked.
//!
//! Layers, lowest first: built-in defaults < the config file (`--config`, TOML, keys are
//! the setting names in lower case) < the environment (the names below) < command-line
//! flags. The `config` crate merges the layers; each value is then parsed here so that a
//! bad value stops startup with a message naming the setting and where it came from.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use config::{Config, File, FileFormat, Value, ValueKind};

mod kubernetes;
mod values;

pub use kubernetes::KubernetesSettings;

/// A setting: its environment name and a one-line description for `--help` and docs.
pub struct SettingDef {
    /// Environment variable name (also the upper-case config file key).
    pub env: &'static str,
    /// Default, as text; `None` when unset by default.
    pub default: Option<&'static str>,
    /// Whether the value is secret (never printed).
    pub secret: bool,
    /// What it does.
    pub help: &'static str,
}

macro_rules! settings {
    ($( $env:literal, $default:expr, $secret:expr, $help:literal; )*) => {
        /// Every setting mcpd reads.
        pub const SETTINGS: &[SettingDef] = &[
            $( SettingDef { env: $env, default: $default, secret: $secret, help: $help }, )*
        ];
    };
}

settings! {
    "MCPD_LISTEN", Some("127.0.0.1:8210"), false, "Address the HTTP server listens on.";
    "MCPD_ALLOWED_HOSTS", None, false, "Extra Host/Origin names accepted besides loopback (comma-separated).";
    "MCPD_ALLOWED_ORIGINS", None, false, "Extra browser origins (scheme://host[:port], comma-separated) accepted besides mcpd's own (loopback on its own port).";
    "MCPD_ALLOW_UNAUTHENTICATED", Some("false"), false, "Accept listening beyond loopback without MCPD_TOKENS_FILE (anyone who reaches the port may use the server).";
    "MCPD_ALLOW_LOCAL_RUNTIME_WITH_TOKENS", Some("false"), false, "Accept the local runtime with MCPD_TOKENS_FILE (every token holder's Codex can read this host's files).";
    "MCPD_TOKENS_FILE", None, false, "Bearer tokens and the agents each may act as (TOML; see docs/configuration.md). Unset: no tokens required.";
    "MCPD_TOKEN", None, true, "Bearer token `mcpd agents` sends to a running mcpd that requires tokens.";
    "CODEX_MCP_RUNTIME", Some("auto"), false, "Where agents live: auto, docker, local or kubernetes (docs/kubernetes.md).";
    "CODEX_MCP_DATA_DIR", None, false, "Directory for the database and agent folders.";
    "CODEX_BIN", None, false, "Codex binary for the local runtime (default: codex on PATH).";
    "CODEX_MCP_AGENT_IMAGE", Some(codex_mcp_runtime::docker::DEFAULT_IMAGE), false, "Docker image for agent containers.";
    "CODEX_MCP_AGENT_IMAGES", None, false, "Images of particular agents: agent=image pairs, comma-separated (e.g. alice=python-tools:3.12); others run CODEX_MCP_AGENT_IMAGE.";
    "CODEX_MCP_INSTANCE", None, false, "Name separating this server's agent containers and volumes from other servers' on one Docker engine.";
    "CODEX_MCP_CODEX_CONFIG", None, false, "A config.toml merged into every agent's Codex home.";
    "CODEX_MCP_WORKSPACE_ROOTS", None, false, "Host folders an agent may mount (colon-separated).";
    "CODEX_MCP_AGENT_WORKSPACES", None, false, "Host folders as agents' workspaces: agent=/folder pairs, comma-separated, each under CODEX_MCP_WORKSPACE_ROOTS.";
    "OPENAI_API_KEY", None, true, "OpenAI API key for Codex (used when no ChatGPT login is found, or with CODEX_AUTH_METHOD=api_key).";
    "CHATGPT_OAUTH_TOKEN", None, true, "A bare ChatGPT access token, for when no auth.json exists (cannot be refreshed).";
    "CODEX_AUTH_METHOD", Some("auto"), false, "Which credential agents get: auto, api_key or oauth (ChatGPT login).";
    "CODEX_PREFER_OAUTH", Some("true"), false, "With auto: prefer a ChatGPT login over an API key.";
    "CODEX_AUTH_DIR", None, false, "Directory holding Codex's auth.json, searched first (then ~/.codex); mcpd auth login writes there.";
    "OAUTH_CLIENT_ID", Some("codex-cli"), false, "Unused (from the original project): mcpd auth login runs Codex's own device-code login.";
    "OAUTH_CALLBACK_PORT", Some("8765"), false, "Unused: the device-code login needs no callback port.";
    "OAUTH_CALLBACK_TIMEOUT", Some("300"), false, "Unused: Codex's device-code login has its own timeout.";
    "OAUTH_AUTO_OPEN_BROWSER", Some("true"), false, "Unused: the device-code login prints a URL and a code instead.";
    "OAUTH_TOKEN_STORAGE_PATH", None, false, "Unused: mcpd auth login writes to CODEX_AUTH_DIR, else ~/.codex.";
    "CODEX_MODEL", None, false, "Model for Codex (unset: Codex's own default).";
    "CODEX_PROVIDER", None, false, "Codex model provider (unset: Codex's own default).";
    "CODEX_APPROVAL_MODE", Some("suggest"), false, "suggest (diffs only), auto (apply changes) or manual.";
    "MAX_CONCURRENT_SESSIONS", Some("20"), false, "Most agent environments running at once.";
    "SESSION_TIMEOUT", Some("3600"), false, "Seconds of inactivity before an agent is stopped.";
    "CONTAINER_CPU_LIMIT", Some("4.0"), false, "CPUs per agent container.";
    "CONTAINER_MEMORY_LIMIT", Some("2048m"), false, "Memory per agent container (k, m or g suffix).";
    "CONTAINER_NETWORK_MODE", Some("bridge"), false, "Docker network mode of agent containers.";
    "CODEX_MCP_K8S_NAMESPACE", Some("codex-mcp"), false, "Kubernetes runtime: namespace of the agents' pods and PVCs (the cluster comes from KUBECONFIG or the in-cluster service account).";
    "CODEX_MCP_K8S_STORAGE_CLASS", None, false, "Kubernetes runtime: storage class of the agents' PVCs (unset: the cluster's default).";
    "CODEX_MCP_K8S_VOLUME_SIZE", Some("5g"), false, "Kubernetes runtime: size of each of an agent's three PVCs (k, m or g suffix).";
    "CODEX_MCP_K8S_IMAGE_PULL_POLICY", Some("IfNotPresent"), false, "Kubernetes runtime: imagePullPolicy of the agents' pods: IfNotPresent, Always or Never.";
    "CODEX_MCP_K8S_NODE_SELECTOR", None, false, "Kubernetes runtime: node selector of the agents' pods, key=value pairs, comma-separated.";
    "CODEX_MCP_K8S_TOLERATIONS", None, false, "Kubernetes runtime: tolerations of the agents' pods, key=value:Effect or key:Effect, comma-separated.";
    "CODEX_MCP_K8S_HOST_NETWORK", Some("false"), false, "Kubernetes runtime: run agent pods on the node's network (test clusters without a network plugin only).";
    "LOG_LEVEL", Some("INFO"), false, "Log level: TRACE, DEBUG, INFO, WARN or ERROR.";
    "LOG_FORMAT", None, false, "Log format on stderr: text or json (unset: text on a terminal, json otherwise, e.g. in a container).";
    "PERSISTENT_MODE", Some("true"), false, "Keep agent environments between calls (false: local runtime).";
    "CODEX_MCP_DATABASE_URL", None, true, "PostgreSQL database for the record of agents, sessions and calls (postgres://user:password@host:port/name), shareable by several replicas; unset: SQLite codex-mcp.db in the data dir.";
    "CODEX_MCP_REPLICA_NAME", None, false, "This mcpd's name among the replicas sharing CODEX_MCP_DATABASE_URL (unset: host name and data dir); a second live mcpd with the same name is refused.";
    "CODEX_MCP_CALL_RETENTION_DAYS", Some("30"), false, "Days tool-call records are kept (0: forever); agents and threads stay until cleaned up.";
    "CODEX_MCP_MAX_AGENTS", Some("200"), false, "Most agents the server knows (each a container or folder with its volumes); a new agent past it is refused (0: no bound).";
    "CODEX_MCP_MAX_DIFF_BYTES", Some("16m"), false, "Largest diff a call returns (k, m or g suffix); a larger change is refused, never held in memory.";
    "CODEX_MCP_INLINE_RESULT_BYTES", Some("64k"), false, "Largest structured result a Codex tool returns inline (k, m or g suffix; at least 4k); past it the longest texts are cut and the result links to the full one, the resource codex-mcp://calls/{call_id}/result.";
    "MCPD_MAX_SESSIONS", Some("1024"), false, "Most MCP sessions open at once; when full, the least recently used idle session is closed to make room.";
    "MCPD_MAX_CALLS_PER_TOKEN", Some("64"), false, "Most tool calls running at once per bearer token (without tokens: for the whole server); more are refused at once (0: no bound).";
    "CODEX_MCP_TASK_TTL_SECONDS", Some("3600"), false, "Seconds a task (a tools/call run as an MCP task) stays readable after creation when its client asks for no TTL; at most CODEX_MCP_TASK_MAX_TTL_SECONDS.";
    "CODEX_MCP_TASK_MAX_TTL_SECONDS", Some("86400"), false, "Longest TTL, in seconds, a client may ask for a task (task.ttl); longer is refused with invalid params.";
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, with the correlation ids of the spans it ran in.
    Json,
}

pub use codex_mcp_auth::MethodSetting;
pub use codex_mcp_core::Approval;
pub use codex_mcp_runtime::RuntimeChoice;

/// The effective settings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Settings {
    pub listen: SocketAddr,
    pub allowed_hosts: Vec<String>,
    pub allowed_origins: Vec<String>,
    pub allow_unauthenticated: bool,
    pub allow_local_runtime_with_tokens: bool,
    /// Warnings about how exposed this server is, filled in by `main` (see `exposure`).
    #[serde(skip)]
    pub exposure_warnings: Vec<String>,
    pub tokens_file: Option<PathBuf>,
    #[serde(skip)]
    pub token: Option<String>,
    /// The parsed `MCPD_TOKENS_FILE`, filled in once by `main` (see `tokens::load`).
    #[serde(skip)]
    pub tokens: Option<std::sync::Arc<codex_mcp_core::transport::http::bearer::TokenTable>>,
    #[serde(serialize_with = "values::runtime_text")]
    pub runtime: RuntimeChoice,
    pub data_dir: PathBuf,
    pub codex_bin: Option<PathBuf>,
    pub agent_image: String,
    /// `CODEX_MCP_AGENT_IMAGES`: particular agents' images, by agent id.
    pub agent_images: std::collections::BTreeMap<String, String>,
    pub instance: Option<String>,
    pub codex_config: Option<PathBuf>,
    pub workspace_roots: Vec<PathBuf>,
    pub agent_workspaces: Vec<(String, PathBuf)>,
    #[serde(skip)]
    pub openai_api_key: Option<String>,
    #[serde(skip)]
    pub chatgpt_oauth_token: Option<String>,
    #[serde(serialize_with = "values::method_text")]
    pub auth_method: MethodSetting,
    pub prefer_oauth: bool,
    pub auth_dir: Option<PathBuf>,
    pub oauth_client_id: String,
    pub oauth_callback_port: u16,
    pub oauth_callback_timeout_seconds: u64,
    pub oauth_auto_open_browser: bool,
    pub oauth_token_storage_path: Option<PathBuf>,
    pub codex_model: Option<String>,
    pub codex_provider: Option<String>,
    #[serde(serialize_with = "values::approval_text")]
    pub approval_mode: Approval,
    pub max_concurrent_sessions: usize,
    pub session_timeout_seconds: u64,
    pub container_cpu_limit: f64,
    pub container_memory_limit_bytes: u64,
    pub container_network_mode: String,
    /// `CODEX_MCP_K8S_*`: the Kubernetes runtime's settings.
    pub kubernetes: KubernetesSettings,
    pub log_level: String,
    /// `None`: decided when logging starts (text on a terminal, else json).
    pub log_format: Option<LogFormat>,
    pub persistent_mode: bool,
    /// `CODEX_MCP_DATABASE_URL` (secret: it may hold a password).
    #[serde(skip)]
    pub database_url: Option<String>,
    pub replica_name: Option<String>,
    pub call_retention_days: u64,
    pub max_agents: usize,
    pub max_diff_bytes: u64,
    /// `CODEX_MCP_INLINE_RESULT_BYTES`.
    pub inline_result_bytes: u64,
    pub max_sessions: usize,
    pub max_calls_per_token: usize,
    /// `CODEX_MCP_TASK_TTL_SECONDS`.
    pub task_ttl_seconds: u64,
    /// `CODEX_MCP_TASK_MAX_TTL_SECONDS`.
    pub task_max_ttl_seconds: u64,
}

/// A setting that could not be used, named with its source.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A value did not parse.
    #[error("{name}={value:?} ({origin}): {why}")]
    Invalid {
        name: String,
        value: String,
        origin: String,
        why: String,
    },
    /// The config file has a key mcpd does not know.
    #[error(
        "unknown setting {key:?} in {origin}; known settings: see `mcpd --help` or docs/configuration.md"
    )]
    Unknown { key: String, origin: String },
    /// An environment variable with mcpd's prefix that mcpd does not know (likely a typo).
    #[error(
        "unknown environment variable {0} (looks like an mcpd setting); known settings are listed in docs/configuration.md"
    )]
    UnknownEnv(String),
    /// The config file could not be read or parsed.
    #[error("config file: {0}")]
    File(#[from] config::ConfigError),
}

/// Inputs to [`Settings::load`], explicit so tests need not touch the process.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Config file, if any.
    pub file: Option<PathBuf>,
    /// Environment variables (all of them; only known names are read).
    pub env: HashMap<String, String>,
    /// Command-line overrides by setting name.
    pub flags: Vec<(&'static str, String)>,
    /// Home directory, for the default data dir.
    pub home: Option<PathBuf>,
}

fn key(env: &str) -> String {
    env.to_ascii_lowercase()
}

impl Settings {
    /// Merges the layers and checks every value.
    pub fn load(sources: &Sources) -> Result<Self, SettingsError> {
        let mut builder = Config::builder();
        for def in SETTINGS {
            if let Some(d) = def.default {
                builder = builder.set_default(key(def.env), d)?;
            }
        }
        if let Some(path) = &sources.file {
            builder = builder.add_source(
                File::from(path.as_path())
                    .format(FileFormat::Toml)
                    .required(true),
            );
        }
        let env: Vec<(String, String)> = SETTINGS
            .iter()
            .filter_map(|def| sources.env.get(def.env).map(|v| (key(def.env), v.clone())))
            .collect();
        builder = builder.add_source(Layer {
            origin: "the environment",
            values: env,
        });
        let flags = sources
            .flags
            .iter()
            .map(|(name, v)| (key(name), v.clone()))
            .collect();
        builder = builder.add_source(Layer {
            origin: "a command-line flag",
            values: flags,
        });
        let config = builder.build()?;
        check_unknown(&config, sources)?;
        let settings = Self::from_config(&config, sources)?;
        if settings.task_ttl_seconds > settings.task_max_ttl_seconds {
            return Err(SettingsError::Invalid {
                name: "CODEX_MCP_TASK_TTL_SECONDS".into(),
                value: settings.task_ttl_seconds.to_string(),
                origin: "the default task TTL".into(),
                why: format!(
                    "must not exceed CODEX_MCP_TASK_MAX_TTL_SECONDS={}",
                    settings.task_max_ttl_seconds
                ),
            });
        }
        Ok(settings)
    }

    fn from_config(c: &Config, sources: &Sources) -> Result<Self, SettingsError> {
        let r = Reader { config: c };
        let home = sources.home.clone().unwrap_or_else(|| PathBuf::from("."));
        Ok(Self {
            listen: r
                .parse("MCPD_LISTEN", |v| {
                    v.parse::<SocketAddr>()
                        .map_err(|e| format!("expected HOST:PORT ({e})"))
                })?
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8210))),
            allowed_hosts: r.list("MCPD_ALLOWED_HOSTS", ',')?,
            allowed_origins: r
                .parse("MCPD_ALLOWED_ORIGINS", values::parse_origins)?
                .unwrap_or_default(),
            allow_unauthenticated: r.bool("MCPD_ALLOW_UNAUTHENTICATED")?.unwrap_or(false),
            allow_local_runtime_with_tokens: r
                .bool("MCPD_ALLOW_LOCAL_RUNTIME_WITH_TOKENS")?
                .unwrap_or(false),
            exposure_warnings: Vec::new(),
            tokens_file: r.path("MCPD_TOKENS_FILE")?,
            token: r.string("MCPD_TOKEN")?,
            tokens: None,
            runtime: r
                .parse("CODEX_MCP_RUNTIME", values::parse_runtime)?
                .unwrap_or(RuntimeChoice::Auto),
            data_dir: r
                .path("CODEX_MCP_DATA_DIR")?
                .unwrap_or_else(|| home.join(".local/share/codex-mcp")),
            codex_bin: r.path("CODEX_BIN")?,
            agent_image: r.string("CODEX_MCP_AGENT_IMAGE")?.unwrap_or_default(),
            agent_images: r
                .parse("CODEX_MCP_AGENT_IMAGES", |v| {
                    codex_mcp_runtime::docker::parse_agent_images("CODEX_MCP_AGENT_IMAGES", v)
                        .map_err(|e| match e {
                            codex_mcp_runtime::RuntimeError::InvalidSetting { reason, .. } => {
                                reason
                            }
                            other => other.to_string(),
                        })
                })?
                .unwrap_or_default(),
            instance: r.parse("CODEX_MCP_INSTANCE", values::parse_instance)?,
            codex_config: r.path("CODEX_MCP_CODEX_CONFIG")?,
            workspace_roots: r
                .parse("CODEX_MCP_WORKSPACE_ROOTS", values::parse_roots)?
                .unwrap_or_default(),
            agent_workspaces: r
                .parse("CODEX_MCP_AGENT_WORKSPACES", values::parse_agent_workspaces)?
                .unwrap_or_default(),
            openai_api_key: r.string("OPENAI_API_KEY")?,
            chatgpt_oauth_token: r.string("CHATGPT_OAUTH_TOKEN")?,
            auth_method: r
                .parse("CODEX_AUTH_METHOD", values::parse_auth_method)?
                .unwrap_or(MethodSetting::Auto),
            prefer_oauth: r.bool("CODEX_PREFER_OAUTH")?.unwrap_or(true),
            auth_dir: r.path("CODEX_AUTH_DIR")?,
            oauth_client_id: r.string("OAUTH_CLIENT_ID")?.unwrap_or_default(),
            oauth_callback_port: r.number("OAUTH_CALLBACK_PORT", 1)?.unwrap_or(8765),
            oauth_callback_timeout_seconds: r.number("OAUTH_CALLBACK_TIMEOUT", 1)?.unwrap_or(300),
            oauth_auto_open_browser: r.bool("OAUTH_AUTO_OPEN_BROWSER")?.unwrap_or(true),
            oauth_token_storage_path: r.path("OAUTH_TOKEN_STORAGE_PATH")?,
            codex_model: r.string("CODEX_MODEL")?,
            codex_provider: r.string("CODEX_PROVIDER")?,
            approval_mode: r
                .parse("CODEX_APPROVAL_MODE", values::parse_approval)?
                .unwrap_or(Approval::Suggest),
            max_concurrent_sessions: r.number("MAX_CONCURRENT_SESSIONS", 1)?.unwrap_or(20),
            session_timeout_seconds: r.number("SESSION_TIMEOUT", 1)?.unwrap_or(3600),
            database_url: r.string("CODEX_MCP_DATABASE_URL")?,
            replica_name: r.string("CODEX_MCP_REPLICA_NAME")?,
            call_retention_days: r.number("CODEX_MCP_CALL_RETENTION_DAYS", 0)?.unwrap_or(30),
            max_agents: r.number("CODEX_MCP_MAX_AGENTS", 0)?.unwrap_or(200),
            max_diff_bytes: r
                .parse("CODEX_MCP_MAX_DIFF_BYTES", |v| {
                    values::parse_size("CODEX_MCP_MAX_DIFF_BYTES", v)
                })?
                .unwrap_or(16 << 20),
            inline_result_bytes: r
                .parse("CODEX_MCP_INLINE_RESULT_BYTES", values::parse_inline_limit)?
                .unwrap_or(64 << 10),
            max_sessions: r.number("MCPD_MAX_SESSIONS", 1)?.unwrap_or(1024),
            max_calls_per_token: r.number("MCPD_MAX_CALLS_PER_TOKEN", 0)?.unwrap_or(64),
            task_ttl_seconds: r.number("CODEX_MCP_TASK_TTL_SECONDS", 1)?.unwrap_or(3600),
            task_max_ttl_seconds: r
                .number("CODEX_MCP_TASK_MAX_TTL_SECONDS", 1)?
                .unwrap_or(86_400),
            container_cpu_limit: r
                .parse("CONTAINER_CPU_LIMIT", |v| match v.parse::<f64>() {
                    Ok(n) if n > 0.0 && n.is_finite() => Ok(n),
                    _ => Err("expected a positive number of CPUs, e.g. 4.0".into()),
                })?
                .unwrap_or(4.0),
            container_memory_limit_bytes: r
                .parse("CONTAINER_MEMORY_LIMIT", |v| {
                    values::parse_memory_limit("CONTAINER_MEMORY_LIMIT", v)
                })?
                .unwrap_or(2048 << 20),
            container_network_mode: r
                .parse("CONTAINER_NETWORK_MODE", |v| {
                    if v.is_empty() || v.chars().any(|c| c.is_whitespace()) {
                        Err("expected a Docker network mode such as bridge, host or none".into())
                    } else {
                        Ok(v.to_string())
                    }
                })?
                .unwrap_or_else(|| "bridge".into()),
            log_level: r
                .parse("LOG_LEVEL", |v| match v.to_ascii_lowercase().as_str() {
                    l @ ("trace" | "debug" | "info" | "warn" | "warning" | "error") => {
                        Ok(if l == "warning" {
                            "warn".to_string()
                        } else {
                            l.to_string()
                        })
                    }
                    _ => Err("expected TRACE, DEBUG, INFO, WARN or ERROR".into()),
                })?
                .unwrap_or_else(|| "info".into()),
            log_format: r.parse("LOG_FORMAT", |v| match v.to_ascii_lowercase().as_str() {
                "text" => Ok(LogFormat::Text),
                "json" => Ok(LogFormat::Json),
                _ => Err("expected text or json".into()),
            })?,
            persistent_mode: r.bool("PERSISTENT_MODE")?.unwrap_or(true),
            kubernetes: KubernetesSettings::read(&r)?,
        })
    }

    /// The effective settings as JSON, secrets shown only as set/unset.
    pub fn redacted(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(obj) = v.as_object_mut() {
            for def in SETTINGS.iter().filter(|d| d.secret) {
                let set = match def.env {
                    "OPENAI_API_KEY" => self.openai_api_key.is_some(),
                    "CHATGPT_OAUTH_TOKEN" => self.chatgpt_oauth_token.is_some(),
                    "CODEX_MCP_DATABASE_URL" => self.database_url.is_some(),
                    _ => false,
                };
                obj.insert(key(def.env), serde_json::json!(set.then_some("<set>")));
            }
        }
        v
    }

    /// A table of every setting with its default and meaning, for `mcpd config --list`.
    pub fn describe() -> String {
        SETTINGS
            .iter()
            .map(|d| {
                format!(
                    "{:<26} {:<24} {}",
                    d.env,
                    d.default.unwrap_or("(unset)"),
                    d.help
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn check_unknown(config: &Config, sources: &Sources) -> Result<(), SettingsError> {
    if let Ok(table) = config.cache.clone().into_table() {
        for (k, v) in table {
            if !SETTINGS.iter().any(|d| key(d.env) == k) {
                let origin = v.origin().unwrap_or("the config file").to_string();
                return Err(SettingsError::Unknown { key: k, origin });
            }
        }
    }
    let mut env: Vec<&String> = sources.env.keys().collect();
    env.sort();
    for name in env {
        if (name.starts_with("MCPD_") || name.starts_with("CODEX_MCP_"))
            && !SETTINGS.iter().any(|d| d.env == name)
        {
            return Err(SettingsError::UnknownEnv(name.clone()));
        }
    }
    Ok(())
}

/// One layer of string values that remembers where it came from, so errors can say.
#[derive(Debug, Clone)]
struct Layer {
    origin: &'static str,
    values: Vec<(String, String)>,
}

impl config::Source for Layer {
    fn clone_into_box(&self) -> Box<dyn config::Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<config::Map<String, Value>, config::ConfigError> {
        let origin = self.origin.to_string();
        Ok(self
            .values
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    Value::new(Some(&origin), ValueKind::String(v.clone())),
                )
            })
            .collect())
    }
}

struct Reader<'a> {
    config: &'a Config,
}

impl Reader<'_> {
    fn raw(&self, name: &str) -> Option<(String, String)> {
        // Read the merged table directly: deserialising through `get` drops the origin.
        let value = self
            .config
            .cache
            .clone()
            .into_table()
            .ok()?
            .remove(&key(name))?;
        let origin = value.origin().unwrap_or("defaults").to_string();
        let text = match value.kind {
            ValueKind::Nil => return None,
            ValueKind::String(s) => s,
            ValueKind::Boolean(b) => b.to_string(),
            ValueKind::I64(n) => n.to_string(),
            ValueKind::U64(n) => n.to_string(),
            ValueKind::I128(n) => n.to_string(),
            ValueKind::U128(n) => n.to_string(),
            ValueKind::Float(f) => f.to_string(),
            ValueKind::Array(a) => a
                .into_iter()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
                .join(","),
            ValueKind::Table(_) => "<table>".into(),
        };
        Some((text, origin))
    }

    fn parse<T>(
        &self,
        name: &str,
        f: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, SettingsError> {
        let Some((text, origin)) = self.raw(name) else {
            return Ok(None);
        };
        f(text.trim())
            .map(Some)
            .map_err(|why| SettingsError::Invalid {
                name: name.into(),
                value: text,
                origin,
                why,
            })
    }

    fn string(&self, name: &str) -> Result<Option<String>, SettingsError> {
        Ok(self
            .parse(name, |v| Ok(v.to_string()))?
            .filter(|s| !s.is_empty()))
    }

    fn path(&self, name: &str) -> Result<Option<PathBuf>, SettingsError> {
        Ok(self.string(name)?.map(PathBuf::from))
    }

    fn list(&self, name: &str, sep: char) -> Result<Vec<String>, SettingsError> {
        Ok(self
            .string(name)?
            .map(|s| {
                s.split(sep)
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default())
    }

    fn bool(&self, name: &str) -> Result<Option<bool>, SettingsError> {
        self.parse(name, |v| match v.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            _ => Err("expected true or false".into()),
        })
    }

    fn number<T: std::str::FromStr + PartialOrd + TryFrom<u8>>(
        &self,
        name: &str,
        min: u8,
    ) -> Result<Option<T>, SettingsError> {
        self.parse(name, |v| {
            let n: T = v
                .parse()
                .map_err(|_| "expected a whole number".to_string())?;
            match T::try_from(min) {
                Ok(m) if n < m => Err(format!("must be at least {min}")),
                _ => Ok(n),
            }
        })
    }
}

#[cfg(test)]
mod tests;
