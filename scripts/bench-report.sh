#!/usr/bin/env bash
# Runs every benchmark and writes their tables into docs/benchmarks.md (between the
# `bench-report` marker comments) and SVG charts into docs/images/ (bench-*.svg): one
# command redoes the whole report.
#
#   scripts/bench-report.sh                        full run
#   BENCH_QUICK=1 scripts/bench-report.sh          short run (fewer rows, shorter rows)
#   scripts/bench-report.sh concurrency memory     only these benches; the others keep
#                                                  their last results in target/bench-report
#
# Benches, in the report's order: protocol (bins/mcpd/benches/protocol_load), chat_overhead,
# docker_overhead, concurrency, cold_start, history, memory, kubernetes (tests/e2e/benches/;
# kubernetes also needs the test cluster, scripts/k8s-cluster.sh, started when needed and
# taken down after it unless it was already running). Each
# writes NAME.md (its markdown table and the machine's load) and NAME.json (its figures)
# to target/bench-report/ (BENCH_OUT_DIR); tools/bench-report gathers them and draws the
# charts with plotters. mcpd is the release build (MCPD_BIN); the e2e harnesses are built
# optimized too (the bench profile): their HTTP client and JSON work sit inside every
# timed call, and a dev build of them added about 1.7 ms per call that no real client
# pays. BENCH_HARNESS_PROFILE=dev spares that build for a quick look. Needs the
# test prerequisites (scripts/test-deps.sh: the pinned Codex, Docker and the agent image).
# A bench that fails is reported as not run, the others still run; the exit code says so.
set -euo pipefail

# shellcheck source=scripts/test-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/test-lib.sh"
cd "$ROOT"

all=(protocol chat_overhead docker_overhead concurrency cold_start history memory kubernetes)
if [ $# -gt 0 ]; then benches=("$@"); else benches=("${all[@]}"); fi
for b in "${benches[@]}"; do
  case " ${all[*]} " in *" $b "*) ;; *)
    echo "bench-report.sh: unknown bench '$b' (benches: ${all[*]})" >&2
    exit 2 ;;
  esac
done

OUT=$TARGET/bench-report
mkdir -p "$OUT"
export BENCH_OUT_DIR=$OUT
export MCPD_BIN=$TARGET/release/mcpd
export CODEX_MCP_TEST_CACHE=${CODEX_MCP_TEST_CACHE:-$TARGET/test-cache}
quick=${BENCH_QUICK:-0}

echo "== building mcpd (release) and the report tool"
cargo build --release -p mcpd -p bench-report

# protocol_load prints a plain table; its rows become markdown here.
protocol_md() {
  awk -F' [|] ' '
    /^method / && !done { header = 1 }
    header && /^-+$/ { next }
    header && NF >= 6 {
      line = "|"; for (i = 1; i <= NF; i++) { gsub(/^ +| +$/, "", $i); line = line " " $i " |" }
      print line
      if (!rule) { r = "|"; for (i = 1; i <= NF; i++) r = r (i <= 2 ? " --- |" : " ---: |"); print r; rule = 1 }
      next
    }
    header && rule && NF < 6 { header = 0; done = 1 }
    /RSS/ { notes = notes "\n" $0 }
    END { if (notes != "") print notes }
  ' "$1"
}

# The kubernetes bench starts the test cluster when none runs; one left behind would stop
# the next test run's own (two kubelets on one Docker engine kill each other's pods), so
# a cluster this script started is taken down again at the end.
cluster_was_up=0
bash scripts/k8s-cluster.sh env >/dev/null 2>&1 && cluster_was_up=1

failed=()
for b in "${benches[@]}"; do
  rm -f "$OUT/$b.md" "$OUT/$b.json"
  echo "== $b (load: $(cut -d' ' -f1-3 /proc/loadavg))"
  log=$OUT/$b.log
  set +e
  case $b in
    protocol)
      if [ "$quick" = 1 ]; then
        export MCPD_BENCH_SECS=${MCPD_BENCH_SECS:-2} MCPD_BENCH_WARMUP_SECS=${MCPD_BENCH_WARMUP_SECS:-0.5}
      fi
      MCPD_BENCH_BIN=$MCPD_BIN cargo bench -p mcpd --bench protocol_load 2>&1 | tee "$log"
      ok=${PIPESTATUS[0]}
      if [ "$ok" = 0 ]; then
        { protocol_md "$log"; echo; echo "Machine at the end of the run: $(nproc) CPU cores, load average $(cut -d' ' -f1-3 /proc/loadavg)."; } > "$OUT/$b.md"
      fi
      ;;
    *)
      cargo bench --profile "${BENCH_HARNESS_PROFILE:-bench}" -p codex-mcp-e2e --bench "$b" 2>&1 | tee "$log"
      ok=${PIPESTATUS[0]}
      ;;
  esac
  set -e
  if [ "$ok" != 0 ]; then
    echo "!!! $b failed (exit $ok): see $log" >&2
    rm -f "$OUT/$b.md" "$OUT/$b.json"
    failed+=("$b")
  fi
  if [ "$b" = kubernetes ] && [ "$cluster_was_up" = 0 ]; then
    bash scripts/k8s-cluster.sh down >>"$log" 2>&1 || echo "!!! scripts/k8s-cluster.sh down failed: see $log" >&2
  fi
done

mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
mode=full-size; [ "$quick" = 1 ] && mode="quick (BENCH_QUICK=1)"
scope="every bench"
[ $# -gt 0 ] && scope="only ${benches[*]}; every other section is the output of its last run, with its own load line"
cat > "$OUT/header.md" <<EOF
## Report: \`scripts/bench-report.sh\`

Generated $(date -u '+%Y-%m-%d %H:%M UTC'), $mode run of $(git rev-parse --short HEAD) ($scope), by
\`${BENCH_QUICK:+BENCH_QUICK=1 }scripts/bench-report.sh${*:+ $*}\`. Machine: $(nproc) CPU cores
($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $mem RAM; load average at the end
$(cut -d' ' -f1-3 /proc/loadavg). Each table ends with the load when its bench finished.
Benches run one after the other; other work on the machine shows in the load.
EOF

"$TARGET/release/bench-report" "$OUT" docs/benchmarks.md docs/images
echo "== report written to docs/benchmarks.md and docs/images/bench-*.svg"
if [ ${#failed[@]} -gt 0 ]; then
  echo "!!! failed: ${failed[*]}" >&2
  exit 1
fi
