//! Method names and the progress and cancellation notifications.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::jsonrpc::RequestId;

/// Method names this crate knows, as constants so typos fail to compile.
pub mod methods {
    /// Legacy handshake request.
    pub const INITIALIZE: &str = "initialize";
    /// Legacy handshake completion.
    pub const INITIALIZED: &str = "notifications/initialized";
    /// Modern discovery.
    pub const DISCOVER: &str = "server/discover";
    /// Liveness check (legacy).
    pub const PING: &str = "ping";
    /// List tools.
    pub const TOOLS_LIST: &str = "tools/list";
    /// Call a tool.
    pub const TOOLS_CALL: &str = "tools/call";
    /// List resources.
    pub const RESOURCES_LIST: &str = "resources/list";
    /// List resource templates.
    pub const RESOURCES_TEMPLATES_LIST: &str = "resources/templates/list";
    /// Read a resource.
    pub const RESOURCES_READ: &str = "resources/read";
    /// Subscribe to a resource (legacy).
    pub const RESOURCES_SUBSCRIBE: &str = "resources/subscribe";
    /// Unsubscribe from a resource (legacy).
    pub const RESOURCES_UNSUBSCRIBE: &str = "resources/unsubscribe";
    /// List prompts.
    pub const PROMPTS_LIST: &str = "prompts/list";
    /// Render a prompt.
    pub const PROMPTS_GET: &str = "prompts/get";
    /// Complete an argument.
    pub const COMPLETE: &str = "completion/complete";
    /// Set the session log level (legacy).
    pub const SET_LEVEL: &str = "logging/setLevel";
    /// Open a subscription stream (modern).
    pub const SUBSCRIPTIONS_LISTEN: &str = "subscriptions/listen";
    /// Progress notification.
    pub const PROGRESS: &str = "notifications/progress";
    /// Cancellation notification.
    pub const CANCELLED: &str = "notifications/cancelled";
    /// Log message notification.
    pub const MESSAGE: &str = "notifications/message";
    /// Subscription acknowledged (modern).
    pub const SUBSCRIPTIONS_ACKNOWLEDGED: &str = "notifications/subscriptions/acknowledged";
    /// Resource changed.
    pub const RESOURCE_UPDATED: &str = "notifications/resources/updated";
    /// Tool list changed.
    pub const TOOLS_LIST_CHANGED: &str = "notifications/tools/list_changed";
    /// Server-to-client sampling request (legacy).
    pub const SAMPLING_CREATE: &str = "sampling/createMessage";
    /// Server-to-client elicitation request (legacy).
    pub const ELICIT: &str = "elicitation/create";
    /// Server-to-client roots request (legacy).
    pub const ROOTS_LIST: &str = "roots/list";
}

/// Params of `notifications/progress`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressParams {
    /// The token from the request's `_meta.progressToken`.
    pub progress_token: Value,
    /// Progress so far; increases with every notification.
    pub progress: f64,
    /// Total, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<f64>,
    /// What is happening now, for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Params of `notifications/cancelled`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelledParams {
    /// The request to cancel.
    pub request_id: RequestId,
    /// Why, for logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
