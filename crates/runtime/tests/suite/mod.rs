//! One module per tested area; shared helpers sit beside them.

// First, so its `env_or_return!` macro is in scope in the modules below.
#[macro_use]
mod docker_support;

mod disk;
mod docker;
mod docker_install;
mod docker_orphans;
mod docker_prepare;
mod docker_reattach;
mod kubernetes;
mod local;
