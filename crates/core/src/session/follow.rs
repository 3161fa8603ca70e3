//! The standalone stream of a session whose transport has no GET stream: stdio and the
//! 2024-era `/sse` stream carry everything on one channel, so what the streamable HTTP
//! transport sends on its GET stream (task status notifications, a task's progress)
//! goes to that channel instead.

use std::sync::Arc;

use codex_mcp_protocol::jsonrpc::Message;
use tokio::sync::mpsc;

use super::{STANDALONE_STREAM, Session};

/// Forwards `session`'s standalone stream to `tx` until the session closes or `tx` does.
/// It claims the stream, so calling it again for the same session does nothing.
pub fn forward_standalone(session: &Arc<Session>, tx: mpsc::Sender<Message>) {
    let Some(claim) = session.claim_standalone() else {
        return;
    };
    // The stream exists from here on, so the replay below never reads "unknown".
    session.log_event(STANDALONE_STREAM, None);
    let session = Arc::clone(session);
    tokio::spawn(async move {
        let _claim = claim;
        let mut cursor = None;
        loop {
            let notified = session.changed();
            let Some((events, _)) = session.replay(STANDALONE_STREAM, cursor) else {
                return;
            };
            for event in events {
                cursor = Some(event.seq);
                if let Some(message) = event.message
                    && tx.send(message).await.is_err()
                {
                    return;
                }
            }
            if session.is_closed() {
                return;
            }
            tokio::select! {
                () = notified => {}
                () = tx.closed() => return,
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{SessionInit, SessionTable, TransportKind};
    use codex_mcp_protocol::ProtocolVersion;
    use codex_mcp_protocol::jsonrpc::Notification;
    use pretty_assertions::assert_eq;
    use std::time::Duration;

    fn note(n: u64) -> Message {
        Message::Notification(Notification::new(
            "notifications/test",
            Some(serde_json::json!({"n": n})),
        ))
    }

    #[tokio::test]
    async fn delivers_earlier_and_later_messages_once_and_stops_with_the_session() {
        let table = SessionTable::new(4, Duration::from_secs(60));
        let init = SessionInit {
            version: ProtocolVersion::V2025_11_25,
            client_info: serde_json::json!({"name": "t", "version": "1"}),
            client_capabilities: serde_json::json!({}),
            owner: None,
        };
        let session = table.create(init, TransportKind::Stdio, None).unwrap();
        session.send_standalone(note(1));
        let (tx, mut rx) = mpsc::channel(8);
        forward_standalone(&session, tx.clone());
        forward_standalone(&session, tx);
        session.send_standalone(note(2));
        let got = [rx.recv().await, rx.recv().await];
        assert_eq!(got, [Some(note(1)), Some(note(2))]);
        session.close();
        assert_eq!(rx.recv().await, None, "the forwarder ends with the session");
    }
}
