#!/usr/bin/env bash
# Build the agent image `codex-mcp-agent:latest` (deploy/agent/Dockerfile) without any
# image registry.
#
# 1. Base: a Debian bookworm minbase made with debootstrap and `docker import`ed as
#    codex-mcp-base:bookworm. Cached: skipped when that image exists.
# 2. Codex: the pinned npm package @openai/codex (its static musl vendor folder), installed
#    into $CODEX_NPM_PREFIX unless already there.
# 3. `docker build --build-arg BASE_IMAGE=codex-mcp-base:bookworm`. Skipped when the tag
#    already carries labels for the same Dockerfile and Codex version (FORCE=1 rebuilds).
#
# Environment:
#   CODEX_VERSION     default 0.169.0
#   CODEX_NPM_PREFIX  where npm installs Codex (default: <repo>/.cache/codex)
#   AGENT_IMAGE       tag to build (default codex-mcp-agent:latest)
#   BASE_IMAGE        base tag (default codex-mcp-base:bookworm)
#   FORCE=1           rebuild the agent image even when it looks current
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

# --- 3. agent image -----------------------------------------------------------------
df_sha=$(sha256sum "$dockerfile" | cut -c1-16)
want="$df_sha/$codex_version/$(docker image inspect -f '{{.Id}}' "$base_image")"
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
say "docker build $agent_image from $base_image with Codex $codex_version"
docker build -q \
  --build-arg "BASE_IMAGE=$base_image" \
  --label "codex-mcp.build=$want" \
  --label "codex-mcp.codex-version=$codex_version" \
  -t "$agent_image" "$ctx" >/dev/null
say "built $agent_image"
