use std::io::Write as _;

use pretty_assertions::assert_eq;
use serde_json::json;

use super::*;

fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
}

fn sources(pairs: &[(&str, &str)]) -> Sources {
    Sources {
        env: env(pairs),
        home: Some(PathBuf::from("/home/u")),
        ..Sources::default()
    }
}

#[test]
fn defaults_match_the_contract() {
    let s = Settings::load(&sources(&[])).unwrap();
    assert_eq!(s.listen, "127.0.0.1:8210".parse::<SocketAddr>().unwrap());
    assert_eq!(s.runtime, RuntimeChoice::Auto);
    assert_eq!(s.approval_mode, Approval::Suggest);
    assert_eq!(s.max_concurrent_sessions, 20);
    assert_eq!(s.session_timeout_seconds, 3600);
    assert_eq!(s.container_memory_limit_bytes, 2048 << 20);
    assert_eq!(s.container_network_mode, "bridge");
    assert_eq!(s.data_dir, PathBuf::from("/home/u/.local/share/codex-mcp"));
    assert_eq!(s.codex_model, None);
    assert_eq!(s.log_level, "info");
    assert_eq!(s.log_format, None);
    assert_eq!(s.agent_image, "codex-mcp-agent:latest");
    assert_eq!(s.instance, None);
}

#[test]
fn log_format_parses_either_case() {
    let s = Settings::load(&sources(&[("LOG_FORMAT", "JSON")])).unwrap();
    assert_eq!(s.log_format, Some(LogFormat::Json));
    let s = Settings::load(&sources(&[("LOG_FORMAT", "text")])).unwrap();
    assert_eq!(s.log_format, Some(LogFormat::Text));
}

#[test]
fn layers_apply_in_order() {
    let mut file = tempfile::NamedTempFile::with_suffix(".toml").unwrap();
    writeln!(
        file,
        "max_concurrent_sessions = 5\nsession_timeout = 60\ncodex_model = \"from-file\""
    )
    .unwrap();
    let mut src = sources(&[("SESSION_TIMEOUT", "90"), ("CODEX_MODEL", "from-env")]);
    src.file = Some(file.path().to_path_buf());
    src.flags = vec![("CODEX_MODEL", "from-flag".into())];
    let s = Settings::load(&src).unwrap();
    assert_eq!(
        (
            s.max_concurrent_sessions,
            s.session_timeout_seconds,
            s.codex_model.as_deref()
        ),
        (5, 90, Some("from-flag"))
    );
}

#[test]
fn malformed_values_name_the_setting_and_source() {
    let cases = [
        (
            "MAX_CONCURRENT_SESSIONS",
            "lots",
            "MAX_CONCURRENT_SESSIONS=\"lots\" (the environment): expected a whole number",
        ),
        (
            "MAX_CONCURRENT_SESSIONS",
            "0",
            "MAX_CONCURRENT_SESSIONS=\"0\" (the environment): must be at least 1",
        ),
        (
            "CODEX_MCP_RUNTIME",
            "podman",
            "CODEX_MCP_RUNTIME=\"podman\" (the environment): use auto, docker, local or kubernetes",
        ),
        (
            "MCPD_LISTEN",
            "nowhere",
            "MCPD_LISTEN=\"nowhere\" (the environment): expected HOST:PORT (invalid socket address syntax)",
        ),
        (
            "CONTAINER_MEMORY_LIMIT",
            "lots",
            "CONTAINER_MEMORY_LIMIT=\"lots\" (the environment): use a number with an optional k, m or g suffix, e.g. 2048m",
        ),
        (
            "PERSISTENT_MODE",
            "maybe",
            "PERSISTENT_MODE=\"maybe\" (the environment): expected true or false",
        ),
        (
            "LOG_FORMAT",
            "xml",
            "LOG_FORMAT=\"xml\" (the environment): expected text or json",
        ),
        (
            "CODEX_APPROVAL_MODE",
            "yolo",
            "CODEX_APPROVAL_MODE=\"yolo\" (the environment): expected suggest, auto or manual",
        ),
        (
            "CODEX_MCP_INSTANCE",
            "Test Run/1",
            "CODEX_MCP_INSTANCE=\"Test Run/1\" (the environment): expected 1-32 characters from a-z 0-9 _ . - starting with a letter or digit",
        ),
        (
            "CODEX_MCP_WORKSPACE_ROOTS",
            "/srv/ok:projects",
            "CODEX_MCP_WORKSPACE_ROOTS=\"/srv/ok:projects\" (the environment): projects is not an absolute path; expected absolute folders separated by ':'",
        ),
        (
            "CODEX_MCP_WORKSPACE_ROOTS",
            "/srv/ok/../etc",
            "CODEX_MCP_WORKSPACE_ROOTS=\"/srv/ok/../etc\" (the environment): /srv/ok/../etc contains '..'; name the folder itself",
        ),
    ];
    for (name, value, expected) in cases {
        let err = Settings::load(&sources(&[(name, value)])).unwrap_err();
        assert_eq!(err.to_string(), expected);
    }
}

#[test]
fn unknown_file_keys_and_prefixed_env_vars_are_refused() {
    let mut file = tempfile::NamedTempFile::with_suffix(".toml").unwrap();
    writeln!(file, "max_sessions = 5").unwrap();
    let mut src = sources(&[]);
    src.file = Some(file.path().to_path_buf());
    let err = Settings::load(&src).unwrap_err().to_string();
    assert!(err.starts_with("unknown setting \"max_sessions\""), "{err}");

    let err = Settings::load(&sources(&[("MCPD_LISTNE", "x")]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("MCPD_LISTNE"), "{err}");
}

#[test]
fn missing_config_file_is_an_error() {
    let mut src = sources(&[]);
    src.file = Some(PathBuf::from("/nonexistent/mcpd.toml"));
    let err = Settings::load(&src).unwrap_err().to_string();
    assert!(err.contains("/nonexistent/mcpd.toml"), "{err}");
}

#[test]
fn secrets_are_redacted() {
    let s = Settings::load(&sources(&[("OPENAI_API_KEY", "sk-very-secret")])).unwrap();
    let shown = s.redacted().to_string();
    assert!(!shown.contains("sk-very-secret"));
    assert!(shown.contains("\"openai_api_key\":\"<set>\""));
}

#[test]
fn sizes_parse_as_the_runtime_reads_them() {
    let sizes = |limit: &str, diff: &str| {
        Settings::load(&sources(&[
            ("CONTAINER_MEMORY_LIMIT", limit),
            ("CODEX_MCP_MAX_DIFF_BYTES", diff),
        ]))
        .map(|s| (s.container_memory_limit_bytes, s.max_diff_bytes))
        .map_err(|e| e.to_string())
    };
    assert_eq!(sizes("2gb", "512k"), Ok((2 << 30, 512 << 10)));
    assert_eq!(sizes("2G", "1048576"), Ok((2 << 30, 1 << 20)));
    assert_eq!(sizes("2048mb", "1m"), Ok((2048 << 20, 1 << 20)));
    for (limit, diff, named) in [
        ("-1m", "1m", "CONTAINER_MEMORY_LIMIT"),
        ("1m", "1m", "CONTAINER_MEMORY_LIMIT"),
        ("2g", "0", "CODEX_MCP_MAX_DIFF_BYTES"),
        ("2g", "3x", "CODEX_MCP_MAX_DIFF_BYTES"),
    ] {
        let err = sizes(limit, diff).unwrap_err();
        assert!(err.starts_with(named), "{limit} {diff}: {err}");
    }
}

#[test]
fn enum_settings_parse_into_the_library_types() {
    let s = Settings::load(&sources(&[
        ("CODEX_MCP_RUNTIME", "Docker"),
        ("CODEX_APPROVAL_MODE", "auto"),
        ("CODEX_AUTH_METHOD", "api_key"),
    ]))
    .unwrap();
    assert_eq!(
        (s.runtime, s.approval_mode, s.auth_method),
        (RuntimeChoice::Docker, Approval::Auto, MethodSetting::ApiKey)
    );
    let shown = s.redacted();
    assert_eq!(
        (
            &shown["runtime"],
            &shown["approval_mode"],
            &shown["auth_method"]
        ),
        (&json!("docker"), &json!("auto"), &json!("api_key"))
    );
    let err = Settings::load(&sources(&[("CODEX_AUTH_METHOD", "kerberos")]))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("CODEX_AUTH_METHOD=\"kerberos\""), "{err}");
}

#[test]
fn exposure_settings_parse_and_bad_values_name_the_setting() {
    let s = Settings::load(&sources(&[
        (
            "MCPD_ALLOWED_ORIGINS",
            "https://mcp.example.com, http://localhost:3000",
        ),
        ("MCPD_ALLOW_UNAUTHENTICATED", "1"),
    ]))
    .unwrap();
    assert_eq!(
        (
            s.allowed_origins,
            s.allow_unauthenticated,
            s.allow_local_runtime_with_tokens
        ),
        (
            vec![
                "https://mcp.example.com".to_string(),
                "http://localhost:3000".to_string()
            ],
            true,
            false
        )
    );
    for (name, value, says) in [
        (
            "MCPD_ALLOWED_ORIGINS",
            "https://mcp.example.com/",
            "not an origin",
        ),
        ("MCPD_ALLOWED_ORIGINS", "mcp.example.com", "not an origin"),
        ("MCPD_ALLOWED_ORIGINS", "ftp://x", "not an origin"),
        (
            "MCPD_ALLOW_UNAUTHENTICATED",
            "maybe",
            "expected true or false",
        ),
        (
            "MCPD_ALLOW_LOCAL_RUNTIME_WITH_TOKENS",
            "yes please",
            "expected true or false",
        ),
    ] {
        let err = Settings::load(&sources(&[(name, value)]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(name) && err.contains(says), "{err}");
    }
}

/// Fuzzing (property-based; `PROPTEST_CASES` cases, 256 by default): any value of any
/// setting gives settings or an error naming that setting, never a panic.
mod props {
    use super::super::{SETTINGS, Settings, Sources};
    use proptest::prelude::*;

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            ".{0,24}",
            "[0-9]{0,25}[kmgb]?",
            "-?[0-9]{1,4}(\\.[0-9]{1,3})?",
            Just("18446744073709551616".to_string()),
            Just("99999999999999999999g".to_string()),
            "[a-z_]{1,10}=/[a-z]{0,5}(,[a-z]{1,5}=/[a-z]{0,5})?",
        ]
    }

    proptest! {
        #[test]
        fn any_value_gives_settings_or_an_error_naming_the_setting(
            index in 0..SETTINGS.len(),
            value in value(),
        ) {
            let name = SETTINGS[index].env;
            let sources = Sources {
                env: [(name.to_string(), value.clone())].into_iter().collect(),
                ..Sources::default()
            };
            if let Err(e) = Settings::load(&sources) {
                let text = e.to_string();
                prop_assert!(text.contains(name), "{name}={value:?}: {text}");
            }
        }
    }
}

/// deploy/.env.example is the compose user's list of settings: it must name every one.
#[test]
fn env_example_names_every_setting() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/.env.example");
    let text = std::fs::read_to_string(path).unwrap();
    let missing: Vec<&str> = SETTINGS
        .iter()
        .map(|s| s.env)
        .filter(|name| !text.lines().any(|l| l.starts_with(&format!("#{name}="))))
        .collect();
    assert_eq!(
        missing,
        Vec::<&str>::new(),
        "add them to deploy/.env.example"
    );
}

#[test]
fn the_inline_result_limit_has_a_default_a_minimum_and_clear_errors() {
    let limit = |v: Option<&str>| {
        let pairs: Vec<(&str, &str)> = v
            .map(|v| vec![("CODEX_MCP_INLINE_RESULT_BYTES", v)])
            .unwrap_or_default();
        Settings::load(&sources(&pairs))
            .map(|s| s.inline_result_bytes)
            .map_err(|e| e.to_string())
    };
    assert_eq!(limit(None), Ok(64 << 10));
    assert_eq!(limit(Some("1m")), Ok(1 << 20));
    assert_eq!(limit(Some("4k")), Ok(4 << 10));
    for bad in ["1k", "4095", "0", "lots", "-5k"] {
        let err = limit(Some(bad)).unwrap_err();
        assert!(
            err.starts_with("CODEX_MCP_INLINE_RESULT_BYTES"),
            "{bad}: {err}"
        );
    }
    assert!(limit(Some("1k")).unwrap_err().contains("minimum"));
}

#[test]
fn task_ttls_have_defaults_a_minimum_and_must_be_ordered() {
    let ttls = |pairs: &[(&str, &str)]| {
        Settings::load(&sources(pairs))
            .map(|s| (s.task_ttl_seconds, s.task_max_ttl_seconds))
            .map_err(|e| e.to_string())
    };
    assert_eq!(ttls(&[]), Ok((3600, 86_400)));
    assert_eq!(
        ttls(&[
            ("CODEX_MCP_TASK_TTL_SECONDS", "60"),
            ("CODEX_MCP_TASK_MAX_TTL_SECONDS", "60")
        ]),
        Ok((60, 60))
    );
    let err = ttls(&[("CODEX_MCP_TASK_MAX_TTL_SECONDS", "600")]).unwrap_err();
    assert!(
        err.starts_with("CODEX_MCP_TASK_TTL_SECONDS=\"3600\"")
            && err.contains("must not exceed CODEX_MCP_TASK_MAX_TTL_SECONDS=600"),
        "{err}"
    );
    for (name, bad) in [
        ("CODEX_MCP_TASK_TTL_SECONDS", "0"),
        ("CODEX_MCP_TASK_MAX_TTL_SECONDS", "soon"),
    ] {
        let err = ttls(&[(name, bad)]).unwrap_err();
        assert!(err.starts_with(name), "{bad}: {err}");
    }
}
