"""Issue 12's acceptance for a client that does not speak tasks: the official Python MCP
SDK (`mcp`), giving up on any read after 10 s, calls `chat` with `background: true` on
a turn that takes 90 s (the real Codex CLI against a scripted model that streams a
reasoning item every 5 s, then answers). It gets a job id at once, then calls `get_job`
with `wait_seconds` (each wait under its read timeout) until the job is done, seeing
Codex's progress meanwhile, and gets the whole result.

Streamable HTTP in both eras at once (each on its own agent), so the run costs 90 s once.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from conftest import ScriptedModelHandler, responses_events, serve_mcpd_with_codex
from mcp import Client

READ_TIMEOUT_S = 10
LONG_RUN_S = 90
STEP_S = 5
ANSWER = {"reply": "ninety seconds later", "follow_up_suggestions": ["rest"], "referenced_files": []}


class _StreamingModel(ScriptedModelHandler):
    """A Responses API server that streams a reasoning item every STEP_S seconds for
    LONG_RUN_S seconds, then answers ANSWER (the response ends when the connection
    closes: HTTP/1.0, no length)."""

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        steps = LONG_RUN_S // STEP_S
        events = responses_events(json.dumps(ANSWER), [f"step {i + 1} of {steps}" for i in range(steps)])
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        try:
            self.wfile.write(events[0])
            self.wfile.flush()
            for event in events[1 : steps + 1]:
                time.sleep(STEP_S)
                self.wfile.write(event)
                self.wfile.flush()
            self.wfile.write(b"".join(events[steps + 1 :]))
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def mcpd_streaming(mcpd_bin: Path):
    yield from serve_mcpd_with_codex(mcpd_bin, _StreamingModel, "codex-mcp-pytest-long-")


async def _background_job(url: str, mode: str) -> tuple[Any, list[Any], float]:
    """Starts the 90 s chat as a job and polls it; returns (the start answer, every
    get_job answer, seconds the start took)."""
    agent = f"py-long-{mode.replace('-', '')}"
    async with Client(url, mode=mode, read_timeout_seconds=READ_TIMEOUT_S) as client:
        asked = time.monotonic()
        started = await client.call_tool("chat", {"message": "a long one", "agent_id": agent, "background": True})
        start_took = time.monotonic() - asked
        polls = []
        job_id = (started.structured_content or {}).get("job_id")
        deadline = time.monotonic() + 4 * LONG_RUN_S
        while job_id and time.monotonic() < deadline:
            got = await client.call_tool("get_job", {"job_id": job_id, "wait_seconds": READ_TIMEOUT_S - 2})
            polls.append(got)
            if (got.structured_content or {}).get("status") != "working":
                break
        return started, polls, start_took


@pytest.mark.timeout(5 * LONG_RUN_S)
def test_a_ninety_second_background_job_outlives_a_ten_second_read_timeout(mcpd_streaming: Any) -> None:
    results: dict[str, tuple[Any, list[Any], float]] = {}

    async def go() -> None:
        async def one(mode: str) -> None:
            results[mode] = await _background_job(mcpd_streaming.mcp_url, mode)

        with anyio.fail_after(5 * LONG_RUN_S):
            async with anyio.create_task_group() as group:
                for mode in ("legacy", "2026-07-28"):
                    group.start_soon(one, mode)

    anyio.run(go)
    for mode, (started, polls, start_took) in results.items():
        assert not started.is_error, (mode, started)
        job = started.structured_content
        assert job == {"job_id": job["job_id"], "status": "working"}, (mode, job)
        print(f"{mode}: the job id came back in {start_took:.2f} s; {len(polls)} get_job calls")
        statuses = [p.structured_content["status"] for p in polls]
        # Several waits ran out while it worked: the run outlived many read timeouts.
        assert statuses.count("working") >= LONG_RUN_S // READ_TIMEOUT_S - 1, (mode, statuses)
        assert statuses[-1] == "completed", (mode, statuses)
        progress = {p.structured_content.get("progress") for p in polls if p.structured_content["status"] == "working"}
        assert "reasoned about the task" in progress, (mode, progress)
        done = polls[-1].structured_content
        assert done["job_id"] == job["job_id"] and done["tool"] == "chat" and done["error"] is None, (mode, done)
        assert done["elapsed_seconds"] >= LONG_RUN_S - 1, (mode, done)
        assert done["result"] == ANSWER, (mode, done)
