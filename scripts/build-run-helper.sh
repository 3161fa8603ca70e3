#!/usr/bin/env bash
# Build the run helper (bins/codex-mcp-run) as a static binary and print its path.
#
# The helper runs inside agent containers, whatever their libc, so it is linked statically
# (`-C target-feature=+crt-static`, glibc's static libraries from libc6-dev). It builds
# into its own target folder, so it neither waits for nor invalidates the workspace's
# other builds.
#
# Environment:
#   RUN_HELPER_TARGET_DIR  where cargo builds it (default <repo>/target/run-helper)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
target_dir=${RUN_HELPER_TARGET_DIR:-$repo/target/run-helper}
host=$(rustc -vV | sed -n 's/^host: //p')
[ -n "$host" ] || { echo "build-run-helper: rustc names no host target" >&2; exit 1; }

cd "$repo"
CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=symbols \
  RUSTFLAGS="-C target-feature=+crt-static" \
  cargo build -q --locked --release -p codex-mcp-run --target "$host" --target-dir "$target_dir" >&2
bin=$target_dir/$host/release/codex-mcp-run
# A dynamic helper would fail in an image with another libc: refuse it here instead.
if ldd "$bin" >/dev/null 2>&1 && ! ldd "$bin" 2>&1 | grep -qE 'not a dynamic executable|statically linked'; then
  echo "build-run-helper: $bin is not static" >&2
  exit 1
fi
echo "$bin"
