//! One module per tested area; shared helpers sit beside them.

mod common;
mod cycles;
mod http_bad_input;
mod http_cancellation;
mod http_gate;
mod http_health;
mod http_legacy_session;
mod http_legacy_sse;
mod http_modern;
mod http_rest;
mod http_shutdown;
mod http_stream_hygiene;
mod module_cycles;
mod module_graph;
mod stdio;
