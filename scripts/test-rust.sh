#!/usr/bin/env bash
# Runs the workspace's Rust tests: `cargo nextest run --workspace --no-fail-fast` plus the
# doctests (`cargo test --workspace --doc`, which nextest does not run) when cargo-nextest
# is installed, else `cargo test --workspace --no-fail-fast`. Extra arguments go to
# nextest / cargo test (e.g. `scripts/test-rust.sh -p codex-mcp-core`).
# Exits non-zero when any test fails.
set -euo pipefail

# shellcheck source=scripts/test-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/test-lib.sh"
cd "$ROOT"

# Run by the compose step only (.config/nextest.toml).
COMPOSE_TEST=compose_deployment_serves_python_clients_and_keeps_the_conversation

rc=0
if cargo nextest --version >/dev/null 2>&1; then
  echo "test-rust: cargo nextest run --workspace --no-fail-fast $*"
  cargo nextest run --workspace --no-fail-fast "$@" || rc=$?
  if [ $# -eq 0 ]; then
    echo "test-rust: cargo test --workspace --doc"
    cargo test --workspace --doc || rc=$((rc == 0 ? 1 : rc))
  fi
else
  # Without nextest, .config/nextest.toml's default filter does not apply: leave the
  # compose deployment test to the compose step here too.
  echo "test-rust: cargo-nextest not installed; cargo test --workspace --no-fail-fast $* -- --skip $COMPOSE_TEST"
  cargo test --workspace --no-fail-fast "$@" -- --skip "$COMPOSE_TEST" || rc=$?
fi
exit "$rc"
