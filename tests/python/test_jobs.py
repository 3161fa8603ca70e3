"""Background jobs through the official Python MCP SDK (`mcp`): a client that gives up on
any read after 10 s calls `chat` with `background: true` on a turn that takes longer
than that (the real Codex CLI against a scripted model that answers after 13 s), gets a
job id at once, then polls `get_job` (each wait under its timeout) until the job is done
and checks the whole result: the same as a foreground call of the same script returns.

Streamable HTTP in both eras (the SDK validates every structured result against the
tool's outputSchema, the background answer included).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import ScriptedModelHandler, responses_sse, serve_mcpd_with_codex
from mcp import Client

READ_TIMEOUT_S = 10
SLOW_S = 13
SLOW_MARKER = "take your time"
ANSWER = {"reply": "worth the wait", "follow_up_suggestions": ["next"], "referenced_files": []}


class _SlowModel(ScriptedModelHandler):
    """A Responses API server answering every turn with ANSWER; turns whose prompt says
    SLOW_MARKER get it after SLOW_S seconds."""

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        request = self.rfile.read(length).decode(errors="replace")
        if SLOW_MARKER in request:
            time.sleep(SLOW_S)
        self._send(200, "text/event-stream", responses_sse(json.dumps(ANSWER)))


@pytest.fixture(scope="module")
def mcpd_with_codex(mcpd_bin: Path):
    yield from serve_mcpd_with_codex(mcpd_bin, _SlowModel, "codex-mcp-pytest-jobs-")


def _run(fn: Any) -> Any:
    async def bounded() -> Any:
        with anyio.fail_after(180):
            return await fn()

    return anyio.run(bounded)


@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
def test_a_background_job_outlives_the_clients_read_timeout(mcpd_with_codex: Any, mode: str) -> None:
    agent = f"py-jobs-{mode.replace('-', '')}"

    async def go() -> tuple[Any, list[Any], Any, Any]:
        async with Client(mcpd_with_codex.mcp_url, mode=mode, read_timeout_seconds=READ_TIMEOUT_S) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert "background" in tools["chat"].input_schema["properties"], tools["chat"].input_schema
            assert {"get_job", "cancel_job"} <= tools.keys(), sorted(tools)
            started = await client.call_tool(
                "chat", {"message": f"{SLOW_MARKER}, please", "agent_id": agent, "background": True}
            )
            polls = []
            job_id = (started.structured_content or {}).get("job_id")
            deadline = time.monotonic() + 120
            while job_id and time.monotonic() < deadline:
                got = await client.call_tool("get_job", {"job_id": job_id, "wait_seconds": READ_TIMEOUT_S - 2})
                polls.append(got)
                if (got.structured_content or {}).get("status") != "working":
                    break
            foreground = await client.call_tool(
                "chat", {"message": "quick", "agent_id": agent}, read_timeout_seconds=120
            )
            bad = await client.call_tool("get_job", {"job_id": job_id, "wait_seconds": 51})
            return started, polls, foreground, bad

    started, polls, foreground, bad = _run(go)
    assert not started.is_error, started
    job = started.structured_content
    assert job == {"job_id": job["job_id"], "status": "working"}, job
    assert "get_job" in started.content[0].text, started.content

    # The turn outlasted the read timeout: at least one poll still saw it working.
    statuses = [p.structured_content["status"] for p in polls]
    assert len(polls) >= 2 and statuses[0] == "working" and statuses[-1] == "completed", statuses
    done = polls[-1].structured_content
    assert done["job_id"] == job["job_id"] and done["tool"] == "chat" and done["error"] is None, done
    assert done["elapsed_seconds"] >= SLOW_S - 1, done
    assert done["result"] == ANSWER, done
    assert not foreground.is_error, foreground
    assert done["result"] == foreground.structured_content
    assert bad.is_error and bad.content[0].text == "wait_seconds must be an integer from 0 to 50, got 51", bad
