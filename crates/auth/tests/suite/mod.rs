//! One module per tested area; shared helpers sit beside them.

mod bad_input;
mod common;
mod detect;
mod inject;
mod real_codex;
mod redaction;
mod refresh;
mod shared_refresh;
