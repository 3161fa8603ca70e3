//! MCP sessions in the session store: when a client's session opened and closed, over
//! which transport and protocol revision, and which agent it named.

use std::sync::Arc;

use codex_mcp_runtime::AgentId;
use codex_mcp_store::{NewSession, Transport};

use super::AgentManager;
use crate::server::context::TransportKind;
use crate::session::{Session, SessionObserver};

/// Records sessions through an agent manager's store.
pub struct SessionRecorder {
    manager: Arc<AgentManager>,
}

impl SessionRecorder {
    /// Records into `manager`'s store.
    pub fn new(manager: Arc<AgentManager>) -> Self {
        Self { manager }
    }
}

fn transport(kind: TransportKind) -> Option<Transport> {
    match kind {
        TransportKind::StreamableHttp => Some(Transport::StreamableHttp),
        TransportKind::LegacySse => Some(Transport::Sse),
        TransportKind::Stdio => Some(Transport::Stdio),
        TransportKind::Rest => Some(Transport::Rest),
        TransportKind::InProcess => None,
    }
}

fn text(info: &serde_json::Value, key: &str) -> Option<String> {
    info.get(key)
        .and_then(|v| v.as_str())
        .map(|s| s.chars().take(200).collect())
}

#[async_trait::async_trait]
impl SessionObserver for SessionRecorder {
    async fn opened(&self, session: &Session) {
        let Some(transport) = transport(session.transport()) else {
            return;
        };
        // A session naming an agent makes the agent known; an invalid name is the
        // identity rules' business at call time, not a reason to drop the record.
        let agent = session.agent_hint().and_then(|a| AgentId::new(a).ok());
        let agent_id = match &agent {
            Some(a) => match self.manager.record_agent(a).await {
                Ok(()) => Some(a.as_str().to_string()),
                Err(e) => {
                    tracing::warn!(agent = %a, error = %e, "could not record the session's agent");
                    None
                }
            },
            None => None,
        };
        let info = session.client_info();
        let record = NewSession {
            id: session.id().to_string(),
            agent_id,
            client_name: text(&info, "name"),
            client_version: text(&info, "version"),
            transport,
            protocol_version: session.version().to_string(),
            opened_at: codex_mcp_store::now(),
        };
        if let Err(e) = self.manager.store().open_session(record).await {
            tracing::warn!(session = session.id(), error = %e, "could not record the session");
        }
    }

    fn closed(&self, id: &str) {
        let store = Arc::clone(self.manager.store());
        let id = id.to_string();
        let at = codex_mcp_store::now();
        // Without a runtime (a synchronous shutdown path), the next start closes it.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                if let Err(e) = store.close_session(&id, at).await {
                    tracing::warn!(session = %id, error = %e, "could not record the session's end");
                }
            });
        }
    }

    async fn opened_elsewhere(&self, id: &str) -> Option<String> {
        match self.manager.store().session_elsewhere(id).await {
            Ok(replica) => replica,
            Err(e) => {
                tracing::debug!(session = id, error = %e, "could not look the session up");
                None
            }
        }
    }
}
