//! How clients reach the engine: HTTP (streamable, legacy SSE, REST, health) and stdio.

pub mod http;
pub mod stdio;
