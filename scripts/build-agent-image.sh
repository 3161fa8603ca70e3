#!/usr/bin/env bash
# Build the agent image `codex-mcp-agent:latest` (deploy/agent/Dockerfile) without any
# image registry.
#
# 1. Base: a Debian bookworm minbase made with debootstrap and `docker import`ed as
#    codex-mcp-base:bookworm. Cached: skipped when that image exists.
# 2. Codex: the pinned npm package @openai/codex (its static musl vendor folder), installed
#    into $CODEX_NPM_PREFIX unless already there.
# 3. The run helper (scripts/build-run-helper.sh: a static binary, bins/codex-mcp-run),
#    placed beside Codex as bin/codex-mcp-run and named by the label codex-mcp.run-helper.
#    mcpd copies both into the pinned Codex volume agent containers mount. Without cargo
#    the image is built without it (RUN_HELPER=0 too), and turns run under shell scripts.
# 4. `docker build --build-arg BASE_IMAGE=codex-mcp-base:bookworm`. Skipped when the tag
#    already carries labels for the same Dockerfile, Codex version and run helper
#    (FORCE=1 rebuilds).
#
# Environment:
#   CODEX_VERSION     default 0.169.0
#   CODEX_NPM_PREFIX  where npm installs Codex (default: <repo>/.cache/codex)
#   AGENT_IMAGE       tag to build (default codex-mcp-agent:latest)
#   BASE_IMAGE        base tag (default codex-mcp-base:bookworm)
#   FORCE=1           rebuild the agent image even when it looks current
#   RUN_HELPER=0      leave the run helper out
# Needs root (debootstrap) and a running engine (scripts/docker-setup.sh).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
codex_version=${CODEX_VERSION:-0.169.0}
npm_prefix=${CODEX_NPM_PREFIX:-$repo/.cache/codex}
agent_image=${AGENT_IMAGE:-codex-mcp-agent:latest}
base_image=${BASE_IMAGE:-codex-mcp-base:bookworm}
dockerfile=$repo/deploy/agent/Dockerfile

say() { echo "build-agent-image: $*" >&2; }
# shellcheck source=scripts/test-lib.sh
. "$repo/scripts/test-lib.sh"

docker info >/dev/null 2>&1 || { say "the Docker engine does not answer: run scripts/docker-setup.sh"; exit 1; }

# --- 1. base image -----------------------------------------------------------------
if docker image inspect "$base_image" >/dev/null 2>&1; then
  say "base $base_image exists (cached)"
else
  command -v debootstrap >/dev/null 2>&1 || {
    say "installing debootstrap"
    apt_install "${TMPDIR:-/tmp}/codex-mcp-apt.log" debootstrap
  }
  rootfs=$(mktemp -d /tmp/codex-mcp-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  say "debootstrap bookworm into $rootfs (about 30 s)"
  debootstrap --variant=minbase --include=git,ca-certificates,bash bookworm "$rootfs" >/dev/null
  # Drop what an image does not need: package caches and lists.
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -c . | docker import - "$base_image" >/dev/null
  rm -rf "$rootfs"
  trap - EXIT
  say "imported $base_image"
fi

# --- 2. Codex vendor folder ---------------------------------------------------------
vendor=$npm_prefix/node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl
installed=$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' \
  "$npm_prefix/node_modules/@openai/codex/package.json" 2>/dev/null | head -n1 || true)
if [ ! -x "$vendor/bin/codex" ] || [ "$installed" != "$codex_version" ]; then
  say "installing @openai/codex@$codex_version into $npm_prefix"
  mkdir -p "$npm_prefix"
  npm install --no-audit --no-fund --prefix "$npm_prefix" "@openai/codex@$codex_version" >/dev/null
fi
[ -x "$vendor/bin/codex" ] || { say "no codex binary at $vendor/bin/codex"; exit 1; }

# --- 3. run helper ------------------------------------------------------------------
helper=
if [ "${RUN_HELPER:-1}" = 1 ] && command -v cargo >/dev/null 2>&1; then
  helper=$(bash "$repo/scripts/build-run-helper.sh")
else
  say "no run helper (RUN_HELPER=${RUN_HELPER:-1}, cargo $(command -v cargo || echo missing)): agents' turns will run under shell scripts"
fi
helper_sha=none
[ -z "$helper" ] || helper_sha=$(sha256sum "$helper" | cut -c1-16)

# --- 4. agent image -----------------------------------------------------------------
df_sha=$(sha256sum "$dockerfile" | cut -c1-16)
want="$df_sha/$codex_version/$(docker image inspect -f '{{.Id}}' "$base_image")/$helper_sha"
have=$(docker image inspect -f '{{index .Config.Labels "codex-mcp.build"}}' "$agent_image" 2>/dev/null || true)
if [ "${FORCE:-0}" != 1 ] && [ "$have" = "$want" ]; then
  say "$agent_image is current (cached)"
  exit 0
fi

ctx=$(mktemp -d "${TMPDIR:-/tmp}/codex-mcp-agent-ctx.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
cp "$dockerfile" "$ctx/Dockerfile"
# Hard links when the vendor folder is on the same file system (294 MB otherwise copied).
cp -al "$vendor" "$ctx/codex" 2>/dev/null || cp -a "$vendor" "$ctx/codex"
helper_label=()
if [ -n "$helper" ]; then
  install -m 0755 "$helper" "$ctx/codex/bin/codex-mcp-run"
  helper_label=(--label "codex-mcp.run-helper=bin/codex-mcp-run")
fi
say "docker build $agent_image from $base_image with Codex $codex_version (run helper: $helper_sha)"
docker build -q \
  --build-arg "BASE_IMAGE=$base_image" \
  --label "codex-mcp.build=$want" \
  --label "codex-mcp.codex-version=$codex_version" \
  "${helper_label[@]}" \
  -t "$agent_image" "$ctx" >/dev/null
say "built $agent_image"
