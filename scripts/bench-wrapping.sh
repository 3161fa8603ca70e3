#!/usr/bin/env bash
# What wrapping a turn costs inside an agent container: the shell scripts (durable.rs's
# WRAPPER around carry.rs's CARRIER) against the run helper (bins/codex-mcp-run), with
# `cat` standing in for Codex and a warm turn's two Codex home files carried in (already
# in place, as on a warm turn). Rounds alternate between the three; each prints the mean
# time per run. Prints nothing to compare against the floor: `cat` alone is the floor.
#
# Environment: AGENT_IMAGE (default codex-mcp-agent:latest, built with its run helper by
# scripts/build-agent-image.sh), RUNS per round (default 200), ROUNDS (default 5).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
image=${AGENT_IMAGE:-codex-mcp-agent:latest}
runs=${RUNS:-200}
rounds=${ROUNDS:-5}

# The scripts as mcpd sends them, read from the source.
extract() {
  python3 - "$1" "$2" <<'PY'
import re, sys
src = open(sys.argv[1]).read()
m = re.search(r'const ' + sys.argv[2] + r': &str = r#"(.*?)"#;', src, re.S)
sys.stdout.write(m.group(1))
PY
}
wrapper=$(extract "$repo/crates/runtime/src/docker/durable.rs" WRAPPER)
carrier=$(extract "$repo/crates/runtime/src/docker/carry.rs" CARRIER)

name=codex-mcp-bench-wrapping-$$
docker run -d --name "$name" --network none --user 1000:1000 \
  --tmpfs /tmp:rw,nosuid,nodev,mode=1777 "$image" sleep infinity >/dev/null
trap 'docker rm -f "$name" >/dev/null 2>&1' EXIT
docker exec "$name" test -x /opt/codex/bin/codex-mcp-run \
  || { echo "bench-wrapping: $image has no run helper: rebuild it with scripts/build-agent-image.sh" >&2; exit 1; }

docker exec -i -e W="$wrapper" -e C="$carrier" -e N="$runs" -e R="$rounds" "$name" sh -s <<'EOF2'
set -eu
h=/home/agent/.codex
frame='|{"OPENAI_API_KEY":"sk-test-0123456789abcdef0123456789abcdef"}
-
|model = "gpt-5"
|model_provider = "mock"
|approval_policy = "never"
|sandbox_mode = "read-only"
|[model_providers.mock]
|name = "mock"
|base_url = "http://127.0.0.1:9/v1"
|wire_api = "responses"
.
'
now() { read -r up _ < /proc/uptime; echo "$up"; }
ms() { awk -v a="$1" -v b="$2" -v n="$N" 'BEGIN { printf "%.2f", (b - a) * 1000 / n }'; }
r=0
while [ "$r" -lt "$R" ]; do
  r=$((r+1))
  t0=$(now); i=0
  while [ $i -lt "$N" ]; do i=$((i+1))
    printf '%sprompt\n' "$frame" | sh -c "$W" codex-mcp-exec "/tmp/.codex-mcp-exec-s$r-$i.pid" \
      sh -c "$C" codex-mcp-carry "$h/auth.json" "$h/config.toml" -- cat >/dev/null
  done
  t1=$(now); i=0
  while [ $i -lt "$N" ]; do i=$((i+1))
    printf '%sprompt\n' "$frame" | /opt/codex/bin/codex-mcp-run --pid-file "/tmp/.codex-mcp-exec-h$r-$i.pid" \
      --keep-output --sweep /tmp/.codex-mcp-exec- --carry "$h/auth.json" --carry "$h/config.toml" -- cat >/dev/null
  done
  t2=$(now); i=0
  while [ $i -lt "$N" ]; do i=$((i+1)); printf '%sprompt\n' "$frame" | cat >/dev/null; done
  t3=$(now)
  echo "round $r ($N runs each): scripts $(ms "$t0" "$t1") ms, run helper $(ms "$t1" "$t2") ms, cat alone $(ms "$t2" "$t3") ms"
done
EOF2
