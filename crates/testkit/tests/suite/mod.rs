//! One module per tested area; shared helpers sit beside them.

mod common;
mod real_codex;
mod real_codex_failures;
