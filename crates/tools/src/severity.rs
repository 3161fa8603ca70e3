//! How serious a finding is, shared by the tools that grade (review, audit, plan's
//! risks) and the catalogue that filters by it.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// How serious a finding, comment or risk is. Ordered, so a threshold can filter:
/// `info` (worth knowing), `low`, `medium`, `high`, `critical` (fix before anything else).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; no action needed.
    Info,
    /// Minor.
    Low,
    /// Should be fixed.
    Medium,
    /// Must be fixed soon.
    High,
    /// Must be fixed first.
    Critical,
}
