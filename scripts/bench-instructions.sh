#!/usr/bin/env bash
# User-space instructions mcpd executes per MCP request, counted by valgrind's callgrind.
#
#   scripts/bench-instructions.sh [MCPD_BINARY] [REQUESTS]
#
# Throughput on a shared 2-core VM drifts by more than most code changes; an instruction
# count does not, so this is how a change to the request path is judged (figures in
# docs/benchmarks.md). It starts the binary (default: target/release/mcpd, built if
# missing) under callgrind with instrumentation off, sends 50 unmeasured requests per row
# on one keep-alive connection, turns instrumentation on for REQUESTS more (default
# 1000), and prints the count per request. Kernel work (the socket calls) is not counted.
# Rows: ping on a 2025-11-25 session, server/discover and tools/list stateless in
# 2026-07-28, tools/list on a session. Needs valgrind (Debian: apt-get install valgrind)
# and python3.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin=${1:-target/release/mcpd}
requests=${2:-1000}
if [[ ! -x $bin && $bin == target/release/mcpd ]]; then
  cargo build --release -p mcpd
fi
for tool in valgrind callgrind_control python3 curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (Debian: apt-get install valgrind python3 curl)" >&2; exit 2; }
done

row() { # METHOD ERA
  local method=$1 era=$2 dir port pid total
  dir=$(mktemp -d)
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  MCPD_LISTEN=127.0.0.1:$port CODEX_MCP_DATA_DIR=$dir/data CODEX_MCP_RUNTIME=local \
    LOG_LEVEL=warn TOKIO_WORKER_THREADS=1 \
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/callgrind.out" \
    "$bin" serve >"$dir/log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    sleep 0.1
  done
  python3 - "$port" "$method" "$era" "$requests" "$pid" <<'PY'
import http.client, json, subprocess, sys
port, method, era, count, pid = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
conn = http.client.HTTPConnection("127.0.0.1", port)
headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}

def post(body):
    conn.request("POST", "/mcp", json.dumps(body), headers)
    reply = conn.getresponse()
    data = reply.read()
    return reply, data

if era == "session":
    reply, _ = post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "bench-instructions", "version": "1"}}})
    headers["Mcp-Session-Id"] = reply.getheader("mcp-session-id")
    headers["MCP-Protocol-Version"] = "2025-11-25"
    post({"jsonrpc": "2.0", "method": "notifications/initialized"})
else:
    headers["MCP-Protocol-Version"] = "2026-07-28"
    headers["Mcp-Method"] = method

def call(i):
    body = {"jsonrpc": "2.0", "id": i, "method": method}
    if era != "session":
        body["params"] = {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                                    "io.modelcontextprotocol/clientCapabilities": {}}}
    reply, data = post(body)
    if reply.status != 200 or b'"result"' not in data:
        sys.exit(f"{method}: HTTP {reply.status}: {data[:200]!r}")

for i in range(1, 51):
    call(i)
subprocess.run(["callgrind_control", "-i", "on", pid], check=True, capture_output=True)
for i in range(1000, 1000 + count):
    call(i)
subprocess.run(["callgrind_control", "-i", "off", pid], check=True, capture_output=True)
PY
  kill -INT "$pid"
  wait "$pid" 2>/dev/null || true
  total=$(awk '/^totals:/ {s += $2} END {print s + 0}' "$dir"/callgrind.out*)
  printf '%-16s %-21s %8d instructions/request\n' "$method" "$era" $((total / requests))
  rm -rf "$dir"
}

echo "mcpd: $bin, $requests measured requests per row, user space only (callgrind)"
row ping session
row server/discover stateless
row tools/list stateless
row tools/list session
