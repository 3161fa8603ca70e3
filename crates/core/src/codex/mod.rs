//! Driving the real Codex CLI: the command line ([`command`]), its JSONL events
//! ([`events`]) and one run from start to final message ([`driver`]).

pub mod command;
pub mod driver;
pub mod events;
pub mod gone;

pub use command::{CodexCommand, Sandbox};
pub use driver::{CodexError, CodexOutcome, CodexRun, run};
pub use events::{CodexEvent, Usage};
