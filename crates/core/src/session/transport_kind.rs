//! Which transport carried a request or opened a session.

/// Which transport carried the request, for records and identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TransportKind {
    /// `/mcp` streamable HTTP.
    StreamableHttp,
    /// `/sse` + `/messages` (2024-11-05).
    LegacySse,
    /// `/tools/{name}` REST.
    Rest,
    /// stdin/stdout.
    Stdio,
    /// Called in-process by an embedding program.
    InProcess,
}
