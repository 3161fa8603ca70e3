#!/usr/bin/env bash
# Runs tests/python (mcpd driven by the official Python MCP SDK) with the venv that
# scripts/test-deps.sh made. Extra arguments go to pytest, e.g.
#   scripts/test-python.sh -k sse -v
# Environment: MCPD_BIN (default target/debug/mcpd), EMBED_AXUM_BIN (default
# target/debug/embed-axum: examples/embed-axum, run by tests/python/test_embed_axum.py),
# CLIENT_RUST_BIN (default target/debug/client-rust: examples/client-rust, run by the same),
# CUSTOM_TOOL_BIN (default target/debug/custom-tool: examples/custom-tool, run by the same).
# Exit code: pytest's, except that "no tests collected" (pytest's 5) is a failure too.
set -euo pipefail

# shellcheck source=scripts/test-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/test-lib.sh"
cd "$ROOT"

[ -x "$VENV_PY" ] || { echo "test-python: no venv at $VENV: run scripts/test-deps.sh" >&2; exit 1; }
export MCPD_BIN=${MCPD_BIN:-$BIN_DIR/mcpd}
[ -x "$MCPD_BIN" ] || { echo "test-python: $MCPD_BIN missing: run cargo build -p mcpd" >&2; exit 1; }
export EMBED_AXUM_BIN=${EMBED_AXUM_BIN:-$BIN_DIR/embed-axum}
[ -x "$EMBED_AXUM_BIN" ] || { echo "test-python: $EMBED_AXUM_BIN missing: run cargo build -p embed-axum" >&2; exit 1; }
export CLIENT_RUST_BIN=${CLIENT_RUST_BIN:-$BIN_DIR/client-rust}
[ -x "$CLIENT_RUST_BIN" ] || { echo "test-python: $CLIENT_RUST_BIN missing: run cargo build -p client-rust" >&2; exit 1; }
export CUSTOM_TOOL_BIN=${CUSTOM_TOOL_BIN:-$BIN_DIR/custom-tool}
[ -x "$CUSTOM_TOOL_BIN" ] || { echo "test-python: $CUSTOM_TOOL_BIN missing: run cargo build -p custom-tool" >&2; exit 1; }

rc=0
PYTHONDONTWRITEBYTECODE=1 "$VENV_PY" -m pytest tests/python "$@" || rc=$?
if [ "$rc" -eq 5 ]; then
  echo "test-python: pytest collected no tests: that is a failure" >&2
  exit 1
fi
exit "$rc"
