//! What mcpd installs into an agent's Codex home before a turn: the credentials
//! (`auth.json`), the configuration (`config.toml`) and the tool's output schema.
//!
//! Replicas sharing a Docker engine (or two conversations of one agent) run turns of one
//! agent side by side, so another turn's Codex may be reading these files while this one
//! installs them. The runtime stages them for the turn's own run, which puts each in
//! place in one step as it starts ([`AgentRuntime::stage_files`]): on Docker the run
//! carries them in at the head of its stdin, so installing them costs no API call.
//!
//! [`AgentRuntime::stage_files`]: codex_mcp_runtime::AgentRuntime::stage_files

use codex_mcp_runtime::{AgentId, AgentSpec, FileToWrite};

use super::{AgentError, AgentManager, ReadyAgent};

impl AgentManager {
    /// Makes sure the agent's environment exists, and stages the current configuration,
    /// credentials and `tool`'s output `schema` for the run `run_id` (the call's id);
    /// returns the agent and the schema's path inside its environment. Fails with a
    /// sentence the caller can act on.
    pub async fn ready(
        &self,
        id: &AgentId,
        run_id: &str,
        tool: &'static str,
        schema: &serde_json::Value,
    ) -> Result<(ReadyAgent, String), AgentError> {
        let spec = match self.config.workspaces.get(id.as_str()) {
            Some(folder) => AgentSpec::new().with_workspace_host_path(folder),
            None => AgentSpec::new(),
        };
        let env = self.runtime.ensure(id, &spec).await?;
        let creds = match &self.credentials {
            Some(source) => source.for_agent(id).await?,
            None => None,
        };
        let Some(creds) = creds else {
            return Err(AgentError::NoCredentials);
        };
        // Installed before every turn, not once: the model runs as the user that owns the
        // Codex home and may have changed either file in an earlier turn (a provider
        // `base_url` of its own, a `notify` program, other credentials).
        let auth_path = format!("{}/auth.json", env.codex_home);
        let config = self.config.codex_config.as_deref().unwrap_or_default();
        let config_path = format!("{}/config.toml", env.codex_home);
        let schema_path = format!("{}/codex-mcp/schemas/{tool}.json", env.codex_home);
        // A `Value` always renders (`{:#}` is its pretty form), so no empty file.
        let schema_text = format!("{schema:#}");
        let mut files = vec![
            FileToWrite {
                path: &auth_path,
                bytes: &creds.auth_json,
                mode: 0o600,
            },
            FileToWrite {
                path: &config_path,
                bytes: config.as_bytes(),
                mode: 0o600,
            },
        ];
        let schema_known = self
            .memory
            .lock()
            .get(id.as_str())
            .is_some_and(|m| m.schemas.contains(&tool));
        if !schema_known {
            files.push(FileToWrite {
                path: &schema_path,
                bytes: schema_text.as_bytes(),
                mode: 0o600,
            });
        }
        // All in one staging: on Docker, carried in by the run (no API call).
        let staged = self.runtime.stage_files(id, run_id, &files).await?;
        let staged_schema = match (&staged, schema_known) {
            (_, true) => None,
            // Written already: remembered now.
            (None, false) => {
                self.schema_installed(id, tool);
                None
            }
            (Some(_), false) => Some(tool),
        };
        let agent = ReadyAgent {
            id: id.clone(),
            env,
            codex_env: creds.env,
            staged,
            staged_schema,
        };
        Ok((agent, schema_path))
    }

    /// Remembers that `tool`'s output schema is in `agent`'s Codex home, so later turns
    /// do not install it again.
    pub(crate) fn schema_installed(&self, agent: &AgentId, tool: &'static str) {
        let mut memory = self.memory.lock();
        let schemas = &mut memory
            .entry(agent.as_str().to_string())
            .or_default()
            .schemas;
        if !schemas.contains(&tool) {
            schemas.push(tool);
        }
    }
}
