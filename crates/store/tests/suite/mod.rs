//! One module per tested area; shared helpers sit beside them.

mod agent_pages;
mod bad_input;
mod common;
mod concurrency;
mod left_running;
mod outputs;
mod postgres_only;
mod restart;
mod retention;
mod round_trip;
mod tasks;
