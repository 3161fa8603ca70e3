//! How clients reach the engine: HTTP (streamable, legacy SSE, REST, health), stdio, and
//! stdio sessions of other mcpd processes over the data dir's Unix socket.

pub mod http;
pub mod local_socket;
pub mod stdio;
