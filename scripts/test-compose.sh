#!/usr/bin/env bash
# The compose step of scripts/test.sh: the deployment of deploy/docker-compose.yml driven
# end to end (tests/e2e/tests/suite/docker_agents.rs,
# compose_deployment_serves_python_clients_and_keeps_the_conversation; docs/deploy.md).
# Installs Debian's docker-compose (1.29) when no compose command exists. Needs the engine
# and the agent image (scripts/test-deps.sh), the Python venv.
set -euo pipefail

# shellcheck source=scripts/test-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/test-lib.sh"
cd "$ROOT"

if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
  echo "test-compose: installing docker-compose (Debian package)"
  mkdir -p "$TARGET/test-logs"
  apt_install "$TARGET/test-logs/compose-apt.log" docker-compose
fi
export TEST_DEPS_DIR=$DEPS
# CI=true: a missing engine, image or compose fails the test instead of skipping it.
# --workspace: the same feature set as the rust step, so nothing is rebuilt.
# The rust step leaves this test out (.config/nextest.toml's default filter); here it is
# the only one run.
test=compose_deployment_serves_python_clients_and_keeps_the_conversation
if cargo nextest --version >/dev/null 2>&1; then
  exec cargo nextest run --workspace --ignore-default-filter -E "test($test)" "$@"
fi
exec cargo test --workspace --test all "$@" -- --exact "suite::docker_agents::$test"
