//! Re-attached turns: the turn of a call a previous process of this server started,
//! whose Codex run outlived it (Docker). Only where the call's record, snapshot and run
//! come from differs ([`Origin`]); the rest is the turn of `super`.

use std::sync::Arc;

use codex_mcp_runtime::{AgentId, ExecHandle};

use super::{AgentError, AgentManager, Turn, TurnRequest, unless_cancelled};

/// Where a turn's Codex comes from: started now, or a run a previous process of this
/// server started for the call, re-attached (everything else is the same turn).
#[derive(Debug, Clone)]
pub(super) enum Origin {
    /// A new call: recorded, snapshot taken, Codex started.
    Fresh,
    /// The `running` call `call_id` started at `started_at`: its record, snapshot and
    /// Codex run are taken over.
    Reattach {
        call_id: String,
        started_at: codex_mcp_store::Timestamp,
    },
}

impl AgentManager {
    /// The turn of call `call_id` (still `running` in the store, started at
    /// `started_at`) that a previous process of this server started: re-attaches to its
    /// Codex run and finishes it as [`Self::run_turn`] would have. A run that is gone
    /// (or a runtime that cannot re-attach) ends it with [`AgentError::RunGone`].
    pub fn reattach_turn(
        self: &Arc<Self>,
        request: TurnRequest,
        call_id: String,
        started_at: codex_mcp_store::Timestamp,
    ) -> Turn {
        self.turn_from(
            request,
            Origin::Reattach {
                call_id,
                started_at,
            },
        )
    }

    /// The run of call `call_id` in the request's agent, re-attached; gone: `RunGone`.
    pub(super) async fn left_run(
        &self,
        request: &TurnRequest,
        call_id: &str,
    ) -> Result<ExecHandle, AgentError> {
        let handle = unless_cancelled(&request.cancel, async {
            Ok(self.runtime.reattach(&request.agent, call_id).await?)
        })
        .await?;
        let Some(handle) = handle else {
            return Err(AgentError::RunGone);
        };
        tracing::info!(call = %call_id, agent = %request.agent, "re-attached to a Codex run a previous mcpd started");
        Ok(handle)
    }

    /// Stops the run `call_id` a previous process started, if it is still there.
    pub(super) async fn stop_left_run(&self, agent: &AgentId, call_id: &str) {
        match self.runtime.reattach(agent, call_id).await {
            Ok(Some(handle)) => handle.kill().await,
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(call = %call_id, %agent, error = %e, "could not stop a cancelled re-attached run")
            }
        }
    }
}
