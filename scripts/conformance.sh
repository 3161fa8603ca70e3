#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance, pinned in
# scripts/test-lib.sh) against
#   - target/debug/conformance-server (the engine with the suite's fixture tools):
#       requirements 2025-11-25, requirements 2026-07-28, --suite all at 2026-07-28,
#       the default active suite (2025 wire), each against
#       tests/conformance/expected-failures.yaml (no entries: everything must pass, and
#       with a baseline a WARNING counts as a failure too);
#       every extension scenario, one by one, against
#       tests/conformance/extensions-baseline.yaml;
#   - target/debug/mcpd itself: the scenarios that need no fixture tool, on the 2025
#     wire and on the 2026-07-28 wire, against expected-failures.yaml.
# Results (checks.json per scenario) go to target/conformance/<run>/, the suite's full
# output to target/conformance/<run>.log. Prints one line per run and exits non-zero if
# any run failed.
#
# Needs: scripts/test-deps.sh (Node 22 + suite) and `cargo build` (both binaries).
# Usage: scripts/conformance.sh [RUN...]   (runs: r2025 r2026 all-2026 active extensions
#                                          mcpd-2025 mcpd-2026; default all)
set -euo pipefail

# shellcheck source=scripts/test-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/test-lib.sh"
cd "$ROOT"

EXPECTED=$ROOT/tests/conformance/expected-failures.yaml
EXT_BASELINE=$ROOT/tests/conformance/extensions-baseline.yaml
OUT=$TARGET/conformance
RUN_TIMEOUT_S=${CONFORMANCE_RUN_TIMEOUT_S:-600}

MCPD_2025_SCENARIOS=(server-initialize server-session-lifecycle ping logging-set-level tools-list
  dns-rebinding-protection server-sse-multiple-streams)
MCPD_2026_SCENARIOS=(tools-list caching dns-rebinding-protection server-sse-multiple-streams http-header-validation)

say() { echo "conformance: $*"; }
die() { say "$*" >&2; exit 1; }

[ -x "$NODE22" ] || die "Node 22 missing ($NODE22): run scripts/test-deps.sh"
[ -f "$CONFORMANCE_JS" ] || die "conformance suite missing ($CONFORMANCE_JS): run scripts/test-deps.sh"
[ -x "$BIN_DIR/conformance-server" ] || die "$BIN_DIR/conformance-server missing: run cargo build --workspace"
[ -x "$BIN_DIR/mcpd" ] || die "$BIN_DIR/mcpd missing: run cargo build --workspace"
command -v curl >/dev/null 2>&1 || die "curl is needed"

if [ $# -gt 0 ]; then runs=("$@"); else
  runs=(r2025 r2026 all-2026 active extensions mcpd-2025 mcpd-2026)
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/codex-mcp-conformance.XXXXXX")
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mapfile -t clean_env < <(clean_env_args)

# Waits up to 30 s for a URL (http://127.0.0.1:PORT/mcp) to appear in FILE, printed by PID.
wait_for_url() {
  local file=$1 pid=$2 what=$3 url
  for _ in $(seq 1 300); do
    url=$(strip_ansi <"$file" | grep -o 'http://127\.0\.0\.1:[0-9]*/mcp' | head -n1 || true)
    if [ -n "$url" ]; then
      echo "$url"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  say "$what did not report its address; its output:" >&2
  tail -n 20 "$file" >&2 || true
  return 1
}

start_fixture() {
  env "${clean_env[@]}" "$BIN_DIR/conformance-server" 127.0.0.1:0 \
    >"$work/fixture.out" 2>"$work/fixture.err" </dev/null &
  pids+=("$!")
  FIXTURE_URL=$(wait_for_url "$work/fixture.out" "$!" conformance-server)
  say "conformance-server at $FIXTURE_URL"
}

start_mcpd() {
  mkdir -p "$work/mcpd-data" "$work/home"
  env "${clean_env[@]}" HOME="$work/home" NO_COLOR=1 LOG_LEVEL=info \
    MCPD_LISTEN=127.0.0.1:0 CODEX_MCP_DATA_DIR="$work/mcpd-data" \
    "$BIN_DIR/mcpd" serve >"$work/mcpd.out" 2>"$work/mcpd.err" </dev/null &
  local pid=$!
  pids+=("$pid")
  MCPD_URL=$(wait_for_url "$work/mcpd.err" "$pid" mcpd)
  local health=${MCPD_URL%/mcp}/health
  for _ in $(seq 1 300); do
    if curl -fsS --max-time 2 "$health" >/dev/null 2>&1; then
      say "mcpd at $MCPD_URL (GET /health answers)"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  say "mcpd did not answer $health; its log:" >&2
  tail -n 20 "$work/mcpd.err" >&2 || true
  return 1
}

suite() {
  timeout --kill-after=10 "$RUN_TIMEOUT_S" "$NODE22" "$CONFORMANCE_JS" server "$@"
}

# Sums the "N passed, M failed" figures the suite printed to LOG (scenario summaries for
# suite runs, the "Passed: x/y, n failed" line for single scenarios).
check_counts() {
  strip_ansi <"$1" | awk '
    /^Total: [0-9]+ passed, [0-9]+ failed/ { tp = $2; tf = $4; total = 1 }
    /^Passed: [0-9]+\/[0-9]+, [0-9]+ failed/ { split($2, a, "/"); sp += a[1]; sf += $3 }
    END {
      if (total) printf "%d checks passed, %d failed", tp, tf;
      else printf "%d checks passed, %d failed", sp, sf;
    }'
}

runs_passed=0
runs_failed=0
failed_runs=()

# record NAME RC LOG DESCRIPTION SECONDS
record() {
  local name=$1 rc=$2 log=$3 desc=$4 secs=$5 verdict=PASS
  if [ "$rc" -eq 0 ]; then
    runs_passed=$((runs_passed + 1))
  else
    verdict=FAIL
    runs_failed=$((runs_failed + 1))
    failed_runs+=("$name")
  fi
  local checks note=""
  checks=$(check_counts "$log")
  # Failed checks in a passing run are all allowed: baselined, or not scored by --requirements.
  case $checks in *", 0 failed") ;; *) [ "$rc" -ne 0 ] || note=" (expected/not scored)" ;; esac
  printf '%s  %-10s %-58s %s%s; exit %d; %s\n' "$verdict" "$name" "$desc" "$checks" "$note" "$rc" \
    "$(fmt_duration "$secs")"
  if [ "$rc" -ne 0 ]; then
    # Show what failed without the whole log.
    strip_ansi <"$log" | grep -E '\] (FAILURE|WARNING) |^(Stale baseline|Unexpected failures)|^  [✓✗] [a-z0-9:-]+$|^✗ scenario |^Failed to run|^(Server test error|Validation error|Error):|Invalid expected-failures' |
      head -n 40 | sed 's/^/      /' || true
    echo "      full output: $log"
  fi
}

# suite_run NAME DESCRIPTION ARGS...: one invocation of the suite.
suite_run() {
  local name=$1 desc=$2 t=$SECONDS rc=0
  shift 2
  rm -rf "${OUT:?}/$name"
  mkdir -p "$OUT/$name"
  suite "$@" -o "$OUT/$name" >"$OUT/$name.log" 2>&1 || rc=$?
  record "$name" "$rc" "$OUT/$name.log" "$desc" $((SECONDS - t))
}

# scenario_runs NAME DESCRIPTION URL BASELINE [--spec-version V] -- SCENARIO...:
# one invocation per scenario, all written under target/conformance/NAME/.
scenario_runs() {
  local name=$1 desc=$2 url=$3 baseline=$4 t=$SECONDS rc=0 s
  shift 4
  local extra=()
  while [ "$1" != -- ]; do extra+=("$1"); shift; done
  shift
  rm -rf "${OUT:?}/$name"
  mkdir -p "$OUT/$name"
  : >"$OUT/$name.log"
  for s in "$@"; do
    echo "### scenario $s" >>"$OUT/$name.log"
    local one=0
    suite --url "$url" --scenario "$s" "${extra[@]}" --expected-failures "$baseline" \
      -o "$OUT/$name" >>"$OUT/$name.log" 2>&1 || one=$?
    if [ "$one" -ne 0 ]; then
      echo "### scenario $s: exit $one" >>"$OUT/$name.log"
      echo "✗ scenario $s: exit $one" >>"$OUT/$name.log"
      rc=1
    fi
  done
  record "$name" "$rc" "$OUT/$name.log" "$desc ($# scenarios)" $((SECONDS - t))
}

needs_fixture=0
needs_mcpd=0
for r in "${runs[@]}"; do
  case $r in
    r2025 | r2026 | all-2026 | active | extensions) needs_fixture=1 ;;
    mcpd-2025 | mcpd-2026) needs_mcpd=1 ;;
    *) die "unknown run '$r' (runs: r2025 r2026 all-2026 active extensions mcpd-2025 mcpd-2026)" ;;
  esac
done

mkdir -p "$OUT"
say "suite $CONFORMANCE_VERSION on node $("$NODE22" --version); results in $OUT"
[ "$needs_fixture" = 0 ] || start_fixture
[ "$needs_mcpd" = 0 ] || start_mcpd

for r in "${runs[@]}"; do
  case $r in
    r2025)
      suite_run r2025 "fixture: --requirements 2025-11-25" \
        --url "$FIXTURE_URL" --requirements 2025-11-25 --expected-failures "$EXPECTED" ;;
    r2026)
      suite_run r2026 "fixture: --requirements 2026-07-28" \
        --url "$FIXTURE_URL" --requirements 2026-07-28 --expected-failures "$EXPECTED" ;;
    all-2026)
      suite_run all-2026 "fixture: --suite all --spec-version 2026-07-28" \
        --url "$FIXTURE_URL" --suite all --spec-version 2026-07-28 --expected-failures "$EXPECTED" ;;
    active)
      suite_run active "fixture: default active suite (2025 wire)" \
        --url "$FIXTURE_URL" --expected-failures "$EXPECTED" ;;
    extensions)
      mapfile -t ext < <("$NODE22" "$CONFORMANCE_JS" list --server | strip_ansi |
        sed -n 's/^ *- \([a-z0-9-]*\) \[extension\]$/\1/p')
      [ "${#ext[@]}" -gt 0 ] || die "the suite lists no extension scenario"
      scenario_runs extensions "fixture: extension scenarios vs extensions-baseline" \
        "$FIXTURE_URL" "$EXT_BASELINE" -- "${ext[@]}" ;;
    mcpd-2025)
      scenario_runs mcpd-2025 "mcpd: no-fixture scenarios, 2025-11-25 wire" \
        "$MCPD_URL" "$EXPECTED" -- "${MCPD_2025_SCENARIOS[@]}" ;;
    mcpd-2026)
      scenario_runs mcpd-2026 "mcpd: no-fixture scenarios, 2026-07-28 wire" \
        "$MCPD_URL" "$EXPECTED" --spec-version 2026-07-28 -- "${MCPD_2026_SCENARIOS[@]}" ;;
  esac
done

if [ "$runs_failed" -gt 0 ]; then
  say "FAILED: ${failed_runs[*]}"
fi
# The closing line counts suite runs (each one a pass or a fail of the whole run).
echo "conformance: $runs_passed passed, $runs_failed failed"
[ "$runs_failed" -eq 0 ]
