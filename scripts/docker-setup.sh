#!/usr/bin/env bash
# Make a local Docker engine available for codex-mcp's Docker runtime and its tests.
#
# Idempotent: installs docker.io only when dockerd is missing (and busybox-static, which
# the runtime's Docker tests turn into a tiny image, when /bin/busybox is missing), starts
# dockerd only when `docker info` does not answer, then waits until it does. The engine runs without a
# default bridge (`--bridge=none`) and without touching iptables: agents in tests use the
# network modes `none` or `host` only.
#
# Environment:
#   DOCKERD_LOG    where dockerd's output goes (default /var/log/codex-mcp-dockerd.log)
#   DOCKER_WAIT_S  how long to wait for the engine (default 60)
set -euo pipefail

# shellcheck source=scripts/test-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/test-lib.sh"

log=${DOCKERD_LOG:-/var/log/codex-mcp-dockerd.log}
wait_s=${DOCKER_WAIT_S:-60}

say() { echo "docker-setup: $*" >&2; }

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
[ -x /bin/busybox ] || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]} (log: $log)"
  apt_install "$log" "${missing[@]}"
fi

if docker info >/dev/null 2>&1; then
  say "engine already answers"
  exit 0
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  say "starting dockerd (log: $log)"
  # setsid + nohup: the engine outlives this script and its caller's terminal.
  setsid nohup dockerd --bridge=none --iptables=false --ip-masq=false >>"$log" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$wait_s"); do
  if docker info >/dev/null 2>&1; then
    say "engine is up"
    exit 0
  fi
  sleep 1
done
say "dockerd did not answer within ${wait_s}s; last lines of $log:"
tail -n 20 "$log" >&2 || true
exit 1
