#!/usr/bin/env bash
# THE test command of codex-mcp: installs what the tests need, builds, and runs every test.
#
#   scripts/test.sh            all steps: deps build rust conformance compose python kubernetes
#   scripts/test.sh STEP...    only those steps, in the order given
#
# Steps:
#   deps         scripts/test-deps.sh: Node 22 + conformance suite, Python venv with the MCP
#                SDK, Docker engine + agent image, Chromium, PostgreSQL (idempotent; into
#                .cache/test-deps)
#   build        cargo build --workspace --all-targets (debug)
#   rust         scripts/test-rust.sh: cargo nextest run --workspace (+ doctests), or
#                cargo test --workspace without nextest: every test except the Kubernetes
#                cluster's
#   conformance  scripts/conformance.sh: the official MCP conformance suite against
#                conformance-server and mcpd
#   python       scripts/test-python.sh: mcpd driven by the official Python MCP SDK
#   compose      the compose deployment (deploy/docker-compose.yml, docs/deploy.md):
#                installs docker-compose (Debian package) if missing, then runs the e2e
#                test that builds both images and drives the container (left out of the
#                rust step's nextest run; run alone: `scripts/test.sh compose`)
#   kubernetes   scripts/test-rust.sh --cluster: the tests that need the Kubernetes test
#                cluster (docs/kubernetes.md); they start it (scripts/k8s-cluster.sh up),
#                and it is stopped (`down`) when the step ends
#
# The cluster's binaries take 6-12 minutes to build cold and only the last step needs them:
# when `kubernetes` is asked for, `scripts/k8s-cluster.sh binaries` starts at once in a job
# of its own (at a lower CPU priority) and runs alongside every other step; the
# `kubernetes` step waits for it. `deps` runs in the background during `build`, and
# `python` during `kubernetes` (when both are asked for, in that order: both mostly wait
# on their servers); their output is shown after the step they ran beside. `deps` or
# `build` failing stops the run. A failing test step does not: the other test steps still
# run, and the exit code is non-zero at the end. Each step's output is also in
# target/test-logs/STEP.log. The last line is the sum of every runner's counts (Rust
# tests, Python tests, conformance runs): "total: N passed, M failed".
set -euo pipefail

# shellcheck source=scripts/test-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/test-lib.sh"
cd "$ROOT"

all_steps=(deps build rust conformance compose python kubernetes)
if [ $# -gt 0 ]; then steps=("$@"); else steps=("${all_steps[@]}"); fi
for s in "${steps[@]}"; do
  case " ${all_steps[*]} " in *" $s "*) ;; *)
    echo "test.sh: unknown step '$s' (steps: ${all_steps[*]})" >&2
    exit 2 ;;
  esac
done

LOGS=$TARGET/test-logs
mkdir -p "$LOGS"
started=$SECONDS
summary=()
total_passed=0
total_failed=0
failed_steps=()

# Counts "passed"/"failed" from the runner's closing line(s) in a step log; prints "P F"
# or nothing when the log has no such line.
counts() {
  local step=$1 log=$2
  case $step in
    rust | compose | kubernetes)
      # nextest: "Summary [ 12.3s] 150 tests run: 148 passed, 2 failed, 3 skipped"
      # cargo test (doctests, or without nextest): "test result: ok. 5 passed; 0 failed; ..."
      strip_ansi <"$log" | awk '
        /^ *Summary \[/ && / tests? run: / {
          for (i = 1; i <= NF; i++) {
            if ($(i) ~ /^passed/) p += $(i - 1);
            if ($(i) ~ /^failed/) f += $(i - 1);
            if ($(i) == "timed" && $(i + 1) ~ /^out/) f += $(i - 1);
          }
          seen = 1
        }
        /^test result: / {
          for (i = 1; i <= NF; i++) {
            if ($(i) ~ /^passed/) p += $(i - 1);
            if ($(i) ~ /^failed/) f += $(i - 1);
          }
          seen = 1
        }
        END { if (seen) print p + 0, f + 0 }'
      ;;
    python)
      # pytest: "===== 1 failed, 10 passed, 2 errors in 3.1s ====="
      strip_ansi <"$log" | grep -E '^=+ .* in [0-9.]+s' | tail -n1 | awk '
        {
          for (i = 1; i <= NF; i++) {
            if ($(i) ~ /^passed/) p += $(i - 1);
            if ($(i) ~ /^(failed|errors?)/) f += $(i - 1);
          }
          print p + 0, f + 0
        }'
      ;;
    conformance)
      strip_ansi <"$log" | sed -n 's/^conformance: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' | tail -n1
      ;;
  esac
}

# record_step STEP RC SECONDS [NOTE]: adds the step's line to the summary and its counts to the total.
record_step() {
  local step=$1 rc=$2 secs=$3 log=$LOGS/$1.log detail=${4:-} c
  c=$(counts "$step" "$log")
  if [ -n "$c" ]; then
    local p=${c% *} f=${c#* }
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
    detail="$p passed, $f failed"
    [ "$step" = conformance ] && detail="$detail (suite runs)"
    # A failing step whose runner counted no failure (a crash, a build error) still counts.
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then total_failed=$((total_failed + 1)); fi
  elif [ "$rc" -ne 0 ] && [ "$step" != deps ] && [ "$step" != build ]; then
    total_failed=$((total_failed + 1))
  fi
  local verdict=ok
  if [ "$rc" -ne 0 ]; then
    verdict="FAILED (exit $rc)"
    failed_steps+=("$step")
  fi
  summary+=("$(printf '  %-12s %-16s %8s   %s' "$step" "$verdict" "$(fmt_duration "$secs")" "$detail")")
}

banner() {
  echo
  echo "==================== test.sh: $* ===================="
}

# run_step STEP COMMAND...: runs a step in the foreground, output to the terminal and its log.
run_step() {
  local step=$1 t=$SECONDS rc=0
  shift
  banner "$step: $*"
  set +e
  "$@" 2>&1 | tee "$LOGS/$step.log"
  rc=${PIPESTATUS[0]}
  set -e
  record_step "$step" "$rc" $((SECONDS - t))
  return "$rc"
}

print_summary() {
  echo
  echo "==================== test.sh summary ===================="
  printf '%s\n' "${summary[@]}"
  echo "  (logs: $LOGS; total time $(fmt_duration $((SECONDS - started))))"
  if [ ${#failed_steps[@]} -gt 0 ]; then
    echo "  FAILED steps: ${failed_steps[*]}"
  fi
  echo "total: $total_passed passed, $total_failed failed"
}

# Background jobs: a step that runs alongside others. Their pids, by job name.
declare -A bg_pid=()
trap 'for p in "${bg_pid[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT

# start_bg NAME COMMAND...: runs COMMAND in the background, its output in NAME.log and
# its duration in NAME.seconds, for finish_bg.
start_bg() {
  local name=$1
  shift
  rm -f "$LOGS/$name.seconds"
  (
    t=$SECONDS rc=0
    "$@" >"$LOGS/$name.log" 2>&1 </dev/null || rc=$?
    echo $((SECONDS - t)) >"$LOGS/$name.seconds"
    exit "$rc"
  ) &
  bg_pid[$name]=$!
}

# finish_bg NAME NOTE: waits for the job (when one runs), shows its output and records it
# as a step; returns its exit code.
finish_bg() {
  local name=$1 note=$2 rc=0
  [ -n "${bg_pid[$name]:-}" ] || return 0
  wait "${bg_pid[$name]}" || rc=$?
  unset "bg_pid[$name]"
  banner "$name: output (exit $rc)"
  cat "$LOGS/$name.log"
  record_step "$name" "$rc" "$(cat "$LOGS/$name.seconds" 2>/dev/null || echo 0)" "$note"
  return "$rc"
}

# The Kubernetes cluster's binaries, in a job of their own from the start (see the top).
case " ${steps[*]} " in *" kubernetes "*)
  if [ "${TEST_SKIP_DOCKER:-0}" != 1 ]; then
    export TEST_DEPS_SKIP_K8S=1
    start_bg k8s-binaries nice -n 10 bash scripts/k8s-cluster.sh binaries
  fi ;;
esac

i=0
while [ $i -lt ${#steps[@]} ]; do
  step=${steps[$i]}
  next=${steps[$((i + 1))]:-}
  case $step in
    deps)
      # `deps` mostly downloads and `build` mostly compiles: side by side.
      if [ "$next" = build ]; then
        banner "deps: bash scripts/test-deps.sh (in the background while building; output below)"
        start_bg deps bash scripts/test-deps.sh
      else
        run_step deps bash scripts/test-deps.sh || { print_summary; exit 1; }
      fi ;;
    build)
      build_rc=0
      run_step build cargo build --workspace --all-targets || build_rc=$?
      finish_bg deps "(ran alongside build)" || { print_summary; exit 1; }
      [ "$build_rc" -eq 0 ] || { print_summary; exit 1; } ;;
    rust)
      run_step rust bash scripts/test-rust.sh || true ;;
    conformance)
      run_step conformance bash scripts/conformance.sh || true ;;
    python)
      # The Python SDK's tests mostly wait on their servers, and so do the cluster's: side
      # by side (the Python tests use no Docker and no cluster).
      if [ "$next" = kubernetes ]; then
        banner "python: bash scripts/test-python.sh (in the background during kubernetes; output below)"
        start_bg python bash scripts/test-python.sh
      else
        run_step python bash scripts/test-python.sh || true
      fi ;;
    compose)
      run_step compose bash scripts/test-compose.sh || true ;;
    kubernetes)
      if [ -n "${bg_pid[k8s-binaries]:-}" ]; then
        banner "kubernetes: waiting for scripts/k8s-cluster.sh binaries (started with the run)"
        # A failed build fails here too: `up` (run by the first test) builds or says why.
        finish_bg k8s-binaries "(ran alongside the steps above)" || true
      fi
      run_step kubernetes bash scripts/test-rust.sh --cluster || true
      bash scripts/k8s-cluster.sh down >>"$LOGS/kubernetes.log" 2>&1 || true
      finish_bg python "(ran alongside kubernetes)" || true ;;
  esac
  i=$((i + 1))
done

print_summary
[ ${#failed_steps[@]} -eq 0 ]
