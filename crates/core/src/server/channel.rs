//! Connections whose transport has one outgoing channel for everything (stdio, the
//! 2024-era `/sse` stream): replies, a running call's own messages and, once a legacy
//! session is open, its standalone stream all go to that channel.

use codex_mcp_protocol::jsonrpc::Message;
use tokio::sync::mpsc;

use super::{Connection, Identity, Step};
use crate::session::forward_standalone;

impl Connection {
    /// Handles `message` and sends what it produces to `tx`. Once a message has opened a
    /// legacy session, that session's standalone stream (task status notifications, a
    /// task's progress) is forwarded to `tx` as well.
    pub async fn handle_into(
        &self,
        message: Message,
        identity: Identity,
        tx: &mpsc::Sender<Message>,
    ) {
        match self.handle(message, identity).await {
            Step::Quiet => {}
            Step::Reply(reply) => {
                let _ = tx.send(reply.into_message()).await;
            }
            Step::Run(call) => call.spawn(tx.clone()),
        }
        if let Some(session) = self.session() {
            forward_standalone(&session, tx.clone());
        }
    }
}
