#!/usr/bin/env bash
# Runs the workspace's Rust tests.
#
#   scripts/test-rust.sh [ARGS...]          every test but the Kubernetes cluster's
#                                           (the `rust` step of scripts/test.sh)
#   scripts/test-rust.sh --cluster [ARGS...] only the tests that need the Kubernetes test
#                                           cluster (the `kubernetes` step)
#
# With cargo-nextest: `cargo nextest run --workspace --no-fail-fast` with the filterset
# $CLUSTER_TESTS (scripts/test-lib.sh) excluded or selected, plus the doctests (`cargo test
# --workspace --doc`, which nextest does not run) in the first form. Without nextest:
# `cargo test --workspace --no-fail-fast`, skipping or selecting test names containing
# `kubernetes`. Extra arguments go to nextest / cargo test (e.g. `-p codex-mcp-core`).
# Exits non-zero when any test fails.
set -euo pipefail

# shellcheck source=scripts/test-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/test-lib.sh"
cd "$ROOT"

cluster=0
if [ "${1:-}" = --cluster ]; then
  cluster=1
  shift
fi

# Run by the compose step only (.config/nextest.toml).
COMPOSE_TEST=compose_deployment_serves_python_clients_and_keeps_the_conversation

rc=0
if cargo nextest --version >/dev/null 2>&1; then
  if [ $cluster = 1 ]; then filter=$CLUSTER_TESTS; else filter="not ($CLUSTER_TESTS)"; fi
  echo "test-rust: cargo nextest run --workspace --no-fail-fast -E '$filter' $*"
  cargo nextest run --workspace --no-fail-fast -E "$filter" "$@" || rc=$?
  if [ $# -eq 0 ] && [ $cluster = 0 ]; then
    echo "test-rust: cargo test --workspace --doc"
    cargo test --workspace --doc || rc=$((rc == 0 ? 1 : rc))
  fi
elif [ $cluster = 1 ]; then
  # Without nextest the filter is a name substring: every test naming `kubernetes`
  # (unit tests of the runtime's Kubernetes module too; the rust step skips them all).
  echo "test-rust: cargo-nextest not installed; cargo test --workspace --tests --no-fail-fast $* -- kubernetes"
  cargo test --workspace --tests --no-fail-fast "$@" -- kubernetes || rc=$?
else
  # Without nextest, .config/nextest.toml's default filter does not apply: leave the
  # compose deployment test to the compose step here too.
  echo "test-rust: cargo-nextest not installed; cargo test --workspace --no-fail-fast $* -- --skip $COMPOSE_TEST --skip kubernetes"
  cargo test --workspace --no-fail-fast "$@" -- --skip "$COMPOSE_TEST" --skip kubernetes || rc=$?
fi
exit "$rc"
