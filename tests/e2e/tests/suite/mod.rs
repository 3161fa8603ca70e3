//! One module per tested area; shared helpers sit beside them.

mod agent_lifecycle;
mod agents_cli;
mod auth;
mod auth_docker;
mod auth_failures;
mod auth_support;
mod bearer_tokens;
mod call_results;
mod codex_tools;
mod dashboard;
mod docker_agents;
mod docker_bad_input;
mod docker_faults;
mod docker_host_workspace;
mod faults;
mod host_workspace;
mod jobs;
mod mcpd_process;
mod rmcp_client;
mod soak;
mod store_durability;
mod store_postgres;
mod store_startup;
mod tasks_modern;
