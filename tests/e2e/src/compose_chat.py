"""Calls `chat` on a running mcpd with the official Python MCP SDK, for the compose e2e test
(tests/e2e/tests/docker_agents.rs). Prints one JSON object: isError, structuredContent,
the result's _meta and the text content.

Usage: python compose_chat.py URL mcp|sse AGENT MESSAGE
"""

from __future__ import annotations

import json
import sys

import anyio
from mcp import Client
from mcp.client.sse import sse_client


async def main(url: str, transport: str, agent: str, message: str) -> None:
    target = Client(url) if transport == "mcp" else Client(sse_client(url), mode="legacy")
    with anyio.fail_after(120):
        async with target as client:
            result = await client.call_tool("chat", {"agent_id": agent, "message": message})
    texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
    print(
        json.dumps(
            {
                "isError": bool(result.is_error),
                "structuredContent": result.structured_content,
                "meta": result.meta,
                "text": texts,
            }
        )
    )


if __name__ == "__main__":
    anyio.run(main, *sys.argv[1:5])
