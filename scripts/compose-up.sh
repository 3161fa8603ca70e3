#!/usr/bin/env bash
# Build both images and start codex-mcp with Docker Compose (deploy/docker-compose.yml):
#
# 1. The agent image codex-mcp-agent:latest and its base codex-mcp-base:bookworm
#    (scripts/build-agent-image.sh; cached).
# 2. `mcpd`: `cargo build --release -p mcpd`, unless MCPD_BIN names a built binary.
# 3. The server image codex-mcp-server:latest (deploy/Dockerfile) from the same base, with
#    mcpd's uid = the owner of ~/.codex and the Docker socket's group.
# 4. deploy/.env from deploy/.env.example when missing, then
#    `docker compose --profile codex-mcp up -d` (or docker-compose 1.29), and waits until
#    the container reports healthy.
#
# Environment: MCPD_BIN, SERVER_IMAGE (default codex-mcp-server:latest), COMPOSE (the
# compose command, default `docker compose` if it works, else docker-compose),
# COMPOSE_FILES (extra -f files, space-separated), CODEX_MCP_UID, DOCKER_GID, BUILD_ONLY=1
# (build the images, start nothing), and anything scripts/build-agent-image.sh reads.
# Extra arguments go to `up`.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
say() { echo "compose-up: $*" >&2; }
server_image=${SERVER_IMAGE:-codex-mcp-server:latest}
base_image=${BASE_IMAGE:-codex-mcp-base:bookworm}

docker info >/dev/null 2>&1 || { say "the Docker engine does not answer: run scripts/docker-setup.sh"; exit 1; }

# --- 1. agent image (and the base) ------------------------------------------------------
bash "$repo/scripts/build-agent-image.sh"

# --- 2. mcpd ------------------------------------------------------------------------------
mcpd=${MCPD_BIN:-}
if [ -z "$mcpd" ]; then
  say "cargo build --release -p mcpd"
  (cd "$repo" && cargo build --release -p mcpd)
  mcpd=${CARGO_TARGET_DIR:-$repo/target}/release/mcpd
fi
[ -x "$mcpd" ] || { say "no mcpd binary at $mcpd (MCPD_BIN)"; exit 1; }

# --- 3. server image ------------------------------------------------------------------------
socket=${DOCKER_SOCKET:-/var/run/docker.sock}
export DOCKER_GID=${DOCKER_GID:-$(stat -c %g "$socket")}
export CODEX_MCP_UID=${CODEX_MCP_UID:-$(stat -c %u "${CODEX_HOST_HOME:-$HOME/.codex}" 2>/dev/null || id -u)}
if [ "$CODEX_MCP_UID" = 0 ]; then
  say "mcpd would run as root (~/.codex is root's): set CODEX_MCP_UID to another uid"
  exit 1
fi
ctx=$(mktemp -d "${TMPDIR:-/tmp}/codex-mcp-server-ctx.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
cp "$repo/deploy/Dockerfile" "$ctx/Dockerfile"
cp "$mcpd" "$ctx/mcpd"
say "docker build $server_image (mcpd uid $CODEX_MCP_UID, docker group $DOCKER_GID)"
docker build -q \
  --build-arg "BASE_IMAGE=$base_image" \
  --build-arg "MCPD_UID=$CODEX_MCP_UID" \
  --build-arg "DOCKER_GID=$DOCKER_GID" \
  -t "$server_image" "$ctx" >/dev/null
export CODEX_MCP_SERVER_IMAGE=$server_image
if [ "${BUILD_ONLY:-0}" = 1 ]; then
  say "built $server_image (BUILD_ONLY=1: not starting it)"
  exit 0
fi

# --- 4. up ----------------------------------------------------------------------------------
cd "$repo/deploy"
[ -f .env ] || { cp .env.example .env; say "created deploy/.env from .env.example"; }
if [ -n "${COMPOSE:-}" ]; then
  read -r -a compose <<<"$COMPOSE"
elif docker compose version >/dev/null 2>&1; then
  compose=(docker compose)
else
  compose=(docker-compose)
fi
files=(-f docker-compose.yml)
for f in ${COMPOSE_FILES:-}; do files+=(-f "$f"); done
"${compose[@]}" "${files[@]}" --profile codex-mcp up -d "$@"

say "waiting for codex-mcp-server to be healthy"
for _ in $(seq 1 60); do
  state=$(docker inspect -f '{{.State.Health.Status}}' codex-mcp-server 2>/dev/null || echo missing)
  if [ "$state" = healthy ]; then
    say "healthy: curl http://127.0.0.1:${CODEX_MCP_PORT:-8210}/health"
    exit 0
  fi
  sleep 1
done
say "codex-mcp-server is $state after 60 s; last log lines:"
docker logs --tail 20 codex-mcp-server >&2 || true
exit 1
