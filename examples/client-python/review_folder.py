"""Asks a codex-mcp server (mcpd, or an app embedding it) to review the files of a folder,
with the official Python MCP SDK (`pip install mcp`):

    python review_folder.py URL FOLDER [--sse]

URL is the streamable HTTP endpoint (http://127.0.0.1:8210/mcp, or .../ai/mcp/mcp for
examples/embed-axum), or with --sse the HTTP+SSE one (.../sse). Prints the review's
structured result as JSON. tests/python/test_embed_axum.py runs it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from mcp import Client
from mcp.client.sse import sse_client

MAX_FILE_BYTES = 64 * 1024


def folder_text(folder: Path) -> str:
    parts = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        if path.stat().st_size > MAX_FILE_BYTES:
            parts.append(f"--- {path.name} (too large, not included)")
        else:
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')}")
    return "\n".join(parts)


async def review(url: str, folder: Path, sse: bool) -> dict:
    server = sse_client(url) if sse else url
    async with Client(server, mode="legacy") as client:
        result = await client.call_tool("review", {"content": f"Review these files:\n{folder_text(folder)}"})
    if result.is_error:
        raise SystemExit(f"review failed: {result.content}")
    return result.structured_content


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--sse"]
    if len(args) != 2:
        raise SystemExit("usage: review_folder.py URL FOLDER [--sse]")
    print(json.dumps(asyncio.run(review(args[0], Path(args[1]), "--sse" in sys.argv)), indent=2))


if __name__ == "__main__":
    main()
