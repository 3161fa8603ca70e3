//! What credential detection reads, from mcpd's settings. The credential bridge itself
//! (refresher, health facts, broker route) lives in `codex_mcp_core::embed::credentials`.

use codex_mcp_auth::{DetectInputs, Secret};

use crate::settings::Settings;

/// Detection inputs from mcpd's settings (environment, config file or flags), with the
/// home directories from the process environment. The auth preferences go over already
/// parsed, so auth does not parse them again.
pub fn detect_inputs(settings: &Settings) -> DetectInputs {
    let mut inputs = DetectInputs::from_process_env();
    inputs.codex_auth_dir = settings.auth_dir.clone();
    inputs.openai_api_key = settings.openai_api_key.as_deref().map(Secret::new);
    inputs.chatgpt_oauth_token = settings.chatgpt_oauth_token.as_deref().map(Secret::new);
    inputs.auth_method = None;
    inputs.prefer_oauth = None;
    inputs.settings = Some(codex_mcp_auth::Settings {
        method: settings.auth_method,
        prefer_oauth: settings.prefer_oauth,
    });
    inputs
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn settings_from_any_layer_decide_detection() {
        let mut file =
            tempfile::NamedTempFile::with_suffix(".toml").unwrap_or_else(|e| panic!("{e}"));
        std::io::Write::write_all(
            &mut file,
            b"codex_auth_method = \"api_key\"\ncodex_prefer_oauth = false\nopenai_api_key = \"sk-from-file\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let sources = crate::settings::Sources {
            file: Some(file.path().to_path_buf()),
            env: [("CODEX_AUTH_DIR".to_string(), "/srv/login".to_string())].into(),
            ..Default::default()
        };
        let settings = Settings::load(&sources).unwrap_or_else(|e| panic!("{e}"));
        let inputs = detect_inputs(&settings);
        assert_eq!(
            (
                inputs.codex_auth_dir,
                inputs.settings,
                inputs.openai_api_key.as_ref().map(Secret::expose),
                inputs.chatgpt_oauth_token.is_some(),
            ),
            (
                Some(std::path::PathBuf::from("/srv/login")),
                Some(codex_mcp_auth::Settings {
                    method: codex_mcp_auth::MethodSetting::ApiKey,
                    prefer_oauth: false,
                }),
                Some("sk-from-file"),
                false,
            )
        );
    }
}
