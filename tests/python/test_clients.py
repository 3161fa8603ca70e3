"""mcpd driven by a real MCP client written by others: the official Python SDK (`mcp`).

Every transport and protocol era a client can pick, each listing the tools and calling
`health_check`:
  (a) streamable HTTP, `mode="legacy"` (initialize handshake, 2025-11-25)
  (b) streamable HTTP, `mode="2026-07-28"` (stateless, no handshake) and `mode="auto"`
      (probes server/discover, must land on 2026-07-28)
  (c) the legacy HTTP+SSE transport at /sse (`sse_client`)
  (d) stdio: `mcpd serve --stdio` as a subprocess (`StdioServerParameters`)
plus plain HTTP: (e) GET /health and (f) the REST route POST /tools/health_check.

SDK API used (mcp 2.3.0, read from its source): `mcp.Client(server, mode=...)` where
`server` is a URL string (streamable HTTP), a `StdioServerParameters` (subprocess over
stdio) or any transport context manager such as `mcp.client.sse.sse_client(url)`;
`mode` is "legacy", "auto" or a modern version string like "2026-07-28".
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from conftest import Mcpd, http_get_json
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client

CALL_TIMEOUT_S = 30
LEGACY_VERSIONS = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"}


def run(fn: Callable[[], Awaitable[Any]]) -> Any:
    async def bounded() -> Any:
        with anyio.fail_after(CALL_TIMEOUT_S):
            return await fn()

    return anyio.run(bounded)


def assert_health_report(report: Any, version: str) -> None:
    assert isinstance(report, dict), f"health_check structured result is not an object: {report!r}"
    assert report.get("status") == "ok", report
    assert isinstance(report.get("version"), str) and report["version"], report
    assert report["version"] == version, report
    uptime = report.get("uptime_seconds")
    assert isinstance(uptime, int) and not isinstance(uptime, bool) and uptime >= 0, report


async def exercise(client: Client, version: str) -> dict[str, Any]:
    """tools/list contains health_check; tools/call health_check returns a healthy report."""
    listed = await client.list_tools()
    names = [t.name for t in listed.tools]
    assert "health_check" in names, names
    tool = next(t for t in listed.tools if t.name == "health_check")
    assert tool.input_schema.get("type") == "object", tool.input_schema
    assert tool.output_schema is not None and tool.output_schema.get("type") == "object"

    result = await client.call_tool("health_check", {})
    assert not result.is_error, result
    assert_health_report(result.structured_content, version)
    # The same JSON also as text content, for clients that ignore structuredContent.
    texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
    assert texts, result.content
    assert json.loads(texts[0]) == result.structured_content
    return {
        "protocol_version": client.protocol_version,
        "server_info": client.server_info,
        "report": result.structured_content,
    }


# (a) streamable HTTP, legacy handshake ---------------------------------------------------
def test_streamable_http_legacy(mcpd: Mcpd, mcpd_version: str) -> None:
    async def go() -> dict[str, Any]:
        async with Client(mcpd.mcp_url, mode="legacy") as client:
            return await exercise(client, mcpd_version)

    seen = run(go)
    assert seen["protocol_version"] in LEGACY_VERSIONS, seen["protocol_version"]
    assert seen["server_info"] is not None and seen["server_info"].name == "mcpd", seen["server_info"]
    assert seen["server_info"].version == mcpd_version


# (b) streamable HTTP, 2026-07-28 (stateless) ---------------------------------------------
@pytest.mark.parametrize("mode", ["2026-07-28", "auto"])
def test_streamable_http_modern(mcpd: Mcpd, mcpd_version: str, mode: str) -> None:
    async def go() -> dict[str, Any]:
        async with Client(mcpd.mcp_url, mode=mode) as client:
            return await exercise(client, mcpd_version)

    seen = run(go)
    assert seen["protocol_version"] == "2026-07-28", seen["protocol_version"]
    # A stateless call opens no session on the server.
    assert seen["report"].get("open_sessions", 0) == 0, seen["report"]


# (c) legacy HTTP+SSE at /sse -------------------------------------------------------------
@pytest.mark.parametrize("mode", ["legacy", "auto"])
def test_legacy_sse(mcpd: Mcpd, mcpd_version: str, mode: str) -> None:
    async def go() -> dict[str, Any]:
        async with Client(sse_client(mcpd.sse_url), mode=mode) as client:
            return await exercise(client, mcpd_version)

    seen = run(go)
    # The SSE transport is handshake-era only; "auto" must fall back to initialize.
    assert seen["protocol_version"] in LEGACY_VERSIONS, seen["protocol_version"]
    assert seen["server_info"] is not None and seen["server_info"].name == "mcpd"


# (d) stdio -------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["legacy", "2026-07-28", "auto"])
def test_stdio(mcpd_bin: Any, mcpd_version: str, stdio_env: dict[str, str], mode: str) -> None:
    params = StdioServerParameters(command=str(mcpd_bin), args=["serve", "--stdio"], env=stdio_env)

    async def go() -> dict[str, Any]:
        async with Client(params, mode=mode) as client:
            return await exercise(client, mcpd_version)

    seen = run(go)
    if mode == "legacy":
        assert seen["protocol_version"] in LEGACY_VERSIONS, seen["protocol_version"]
        assert seen["server_info"] is not None and seen["server_info"].name == "mcpd"
    else:
        assert seen["protocol_version"] == "2026-07-28", seen["protocol_version"]


# (e) GET /health -------------------------------------------------------------------------
def test_health_endpoint(mcpd: Mcpd, mcpd_version: str) -> None:
    status, content_type, body = http_get_json(f"{mcpd.base_url}/health")
    assert status == 200
    assert content_type.startswith("application/json"), content_type
    assert isinstance(body, dict), body
    assert body.get("status") == "ok", body
    assert isinstance(body.get("uptime_seconds"), int), body
    assert body.get("server", {}).get("name") == "mcpd", body
    assert body["server"].get("version") == mcpd_version, body


# (f) REST: POST /tools/health_check ------------------------------------------------------
def _post(url: str, body: bytes) -> tuple[int, str, Any]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.headers.get("Content-Type", ""), json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), json.loads(e.read() or b"null")


def test_rest_tool_call(mcpd: Mcpd, mcpd_version: str) -> None:
    status, content_type, body = _post(f"{mcpd.base_url}/tools/health_check", b"{}")
    assert status == 200, body
    assert content_type.startswith("application/json"), content_type
    assert not body.get("isError", False), body
    assert_health_report(body.get("structuredContent"), mcpd_version)
    assert json.loads(body["content"][0]["text"]) == body["structuredContent"]


def test_rest_unknown_tool_is_404(mcpd: Mcpd) -> None:
    status, _, body = _post(f"{mcpd.base_url}/tools/no_such_tool", b"{}")
    assert status == 404, body
    assert "no_such_tool" in body.get("error", ""), body
