"""examples/embed-axum as a test: an axum app mounting the codex-mcp tools under /ai/mcp.

Its own routes answer; the mounted engine answers /ai/mcp/health; the official Python SDK
calls the app's own tool and `chat` (the real Codex CLI against a scripted model on
127.0.0.1) through the prefix over streamable HTTP and over the HTTP+SSE transport (whose
`endpoint` event must name /ai/mcp/messages, not /messages).

The client examples run against it too: examples/client-rust (`CLIENT_RUST_BIN`, default
<target>/debug/client-rust) and examples/client-python ask for a `review` of a folder.

examples/custom-tool (`CUSTOM_TOOL_BIN`, default <target>/debug/custom-tool) serves a Codex
tool of its own, `explain_file`: it is listed with its schemas, a call returns the result
Codex gave once it fits the custom output schema (and an error when it does not), and bad
arguments get an error naming them.

`EMBED_AXUM_BIN` names the app's binary (default: <target>/debug/embed-axum). The real Codex is
`CODEX_BIN`, else the pinned one in the test cache (`CODEX_MCP_TEST_CACHE`); without it the
test is skipped, except under CI=true where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import pytest
from conftest import (
    ScriptedModelHandler,
    _free_port,
    _stop,
    _target_dir,
    clean_env,
    codex_bin_or_skip,
    codex_config_toml,
    http_get_json,
    responses_sse,
)
from mcp import Client
from mcp.client.sse import sse_client

REPLY = "hello from the scripted model"
CHAT_TIMEOUT_S = 120


REVIEW = {
    "summary": "Looks fine.",
    "verdict": "approve",
    "comments": [],
    "scores": [],
    "recommendations": [],
}


EXPLANATION = {"summary": "Adds two numbers.", "key_points": ["add is wrong: it subtracts"]}
# A path that makes the model answer `explain_file` with JSON missing `key_points`.
OFF_SCHEMA_PATH = "off-schema.py"


class _Model(ScriptedModelHandler):
    """A Responses-API server: a turn asking for `review`'s schema gets REVIEW, one
    asking for `explain_file`'s gets EXPLANATION (cut short when the prompt names
    OFF_SCHEMA_PATH), any other `chat`'s answer with REPLY. Request bodies are kept in
    `seen`."""

    seen: list[str] = []

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        request = self.rfile.read(length).decode(errors="replace")
        _Model.seen.append(request)
        schema = json.dumps(json.loads(request).get("text", {}).get("format", {}))
        if '"verdict"' in schema:
            text = json.dumps(REVIEW)
        elif '"key_points"' in schema and OFF_SCHEMA_PATH in request:
            text = json.dumps({"summary": EXPLANATION["summary"]})
        elif '"key_points"' in schema:
            text = json.dumps(EXPLANATION)
        else:
            text = json.dumps({"reply": REPLY, "follow_up_suggestions": [], "referenced_files": []})
        body = responses_sse(text)
        self._send(200, "text/event-stream", body)


def _start_app(env_var: str, name: str, ready_path: str):
    """Starts the example binary `name` (or `$env_var`) against the scripted model and the
    real Codex, waits until `ready_path` answers 200; yields its base URL and log path,
    stops it afterwards."""
    binary = Path(os.environ.get(env_var, _target_dir() / "debug" / name))
    if not binary.is_file():
        pytest.fail(f"{binary} missing: run `cargo build -p {name}` or set {env_var}")
    codex = codex_bin_or_skip()
    model = ThreadingHTTPServer(("127.0.0.1", 0), _Model)
    threading.Thread(target=model.serve_forever, daemon=True).start()
    tmp = Path(tempfile.mkdtemp(prefix=f"codex-mcp-{name}-"))
    (tmp / "home").mkdir()
    config = tmp / "config.toml"
    config.write_text(codex_config_toml(f"http://127.0.0.1:{model.server_address[1]}"))
    port = _free_port()
    log_path = tmp / f"{name}.log"
    env = clean_env(
        EMBED_LISTEN=f"127.0.0.1:{port}",
        EMBED_DATA_DIR=str(tmp / "data"),
        EMBED_CODEX_CONFIG=str(config),
        HOME=str(tmp / "home"),
        OPENAI_API_KEY="sk-embed-axum-test",
        CODEX_AUTH_DIR=str(tmp / "no-login"),
        PATH=f"{codex.parent}{os.pathsep}{os.environ.get('PATH', '')}",
        NO_COLOR="1",
    )
    with open(log_path, "wb") as log:
        process = subprocess.Popen([str(binary)], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}:\n{log_path.read_text()}")
            try:
                if http_get_json(f"{base}{ready_path}", timeout=2)[0] == 200:
                    break
            except (urllib.error.URLError, ConnectionError, OSError, ValueError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"{name} did not answer within 30 s:\n{log_path.read_text()}")
            time.sleep(0.05)
        yield base, log_path
    finally:
        _stop(process)
        model.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def embed_app():
    yield from _start_app("EMBED_AXUM_BIN", "embed-axum", "/api/status")


@pytest.fixture(scope="module")
def custom_tool_app():
    yield from _start_app("CUSTOM_TOOL_BIN", "custom-tool", "/health")


def _chat_and_count(client_factory: Any) -> tuple[Any, Any]:
    async def go() -> tuple[Any, Any]:
        with anyio.fail_after(CHAT_TIMEOUT_S):
            async with client_factory() as client:
                counted = await client.call_tool("word_count", {"text": "one two three"})
                chat = await client.call_tool("chat", {"message": "say hello"})
                return counted, chat

    return anyio.run(go)


def test_the_apps_own_routes_and_the_mounted_health_answer(embed_app) -> None:
    base, _ = embed_app
    with urllib.request.urlopen(f"{base}/", timeout=5) as resp:
        assert resp.read() == b"my app"
    assert http_get_json(f"{base}/api/status")[2] == {"app": "ok"}
    status, _, health = http_get_json(f"{base}/ai/mcp/health")
    assert status == 200 and health.get("status") == "ok", health


@pytest.mark.parametrize("transport", ["streamable", "sse"])
def test_chat_and_the_apps_tool_through_the_prefix(embed_app, transport: str) -> None:
    base, log_path = embed_app
    if transport == "streamable":
        factory = lambda: Client(f"{base}/ai/mcp/mcp", mode="legacy")  # noqa: E731
    else:
        factory = lambda: Client(sse_client(f"{base}/ai/mcp/sse"), mode="legacy")  # noqa: E731
    counted, chat = _chat_and_count(factory)
    assert not counted.is_error, counted
    assert counted.structured_content == {"words": 3}
    assert not chat.is_error, f"{chat}\n{log_path.read_text(errors='replace')}"
    assert chat.structured_content.get("reply") == REPLY, chat.structured_content


def test_the_client_examples_review_a_folder_through_the_prefix(embed_app, tmp_path: Path) -> None:
    base, log_path = embed_app
    folder = tmp_path / "project"
    folder.mkdir()
    marker = "def add(a, b): return a - b  # marker-7f3a"
    (folder / "calc.py").write_text(marker + "\n")
    client_rust = Path(os.environ.get("CLIENT_RUST_BIN", _target_dir() / "debug" / "client-rust"))
    if not client_rust.is_file():
        pytest.fail(f"{client_rust} missing: run `cargo build -p client-rust` or set CLIENT_RUST_BIN")
    client_python = Path(__file__).resolve().parents[2] / "examples" / "client-python" / "review_folder.py"
    runs = {
        "rust": [str(client_rust), f"{base}/ai/mcp/mcp", str(folder)],
        "python": [sys.executable, str(client_python), f"{base}/ai/mcp/mcp", str(folder)],
        "python-sse": [sys.executable, str(client_python), f"{base}/ai/mcp/sse", str(folder), "--sse"],
    }
    for name, argv in runs.items():
        before = len(_Model.seen)
        out = subprocess.run(argv, capture_output=True, text=True, timeout=CHAT_TIMEOUT_S)
        assert out.returncode == 0, f"{name}: {out.stderr}\n{log_path.read_text(errors='replace')}"
        assert json.loads(out.stdout) == REVIEW, f"{name}: {out.stdout}"
        # The folder's file reached the model through the client, the app and Codex.
        assert any("marker-7f3a" in r for r in _Model.seen[before:]), name


def _custom_tool_calls(base: str, calls: list[dict[str, Any]]) -> tuple[Any, list[Any]]:
    """Lists the tools of examples/custom-tool and calls `explain_file` with each of
    `calls`, over streamable HTTP."""

    async def go() -> tuple[Any, list[Any]]:
        with anyio.fail_after(CHAT_TIMEOUT_S):
            async with Client(f"{base}/mcp", mode="legacy") as client:
                listed = await client.list_tools()
                results = [await client.call_tool("explain_file", args) for args in calls]
                return listed, results

    return anyio.run(go)


def _text(result: Any) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


def test_custom_tool_is_listed_with_its_own_schemas(custom_tool_app) -> None:
    base, _ = custom_tool_app
    listed, _ = _custom_tool_calls(base, [])
    assert [t.name for t in listed.tools] == ["explain_file"]
    tool = listed.tools[0]
    # Its own arguments, plus `background`, which every Codex tool takes.
    assert set(tool.input_schema["properties"]) == {"path", "audience", "agent_id", "background"}
    assert tool.input_schema["required"] == ["path"]
    # Its own result, or the answer of a background call.
    result_schema, job_started = tool.output_schema["anyOf"]
    assert tool.output_schema["type"] == "object"
    assert sorted(result_schema["required"]) == ["key_points", "summary"]
    assert result_schema["properties"]["key_points"]["type"] == "array"
    assert sorted(job_started["required"]) == ["job_id", "status"]
    assert tool.annotations.read_only_hint is True


def test_custom_tool_returns_codex_answer_checked_against_its_output_schema(custom_tool_app) -> None:
    base, log_path = custom_tool_app
    before = len(_Model.seen)
    listed, (good, off_schema) = _custom_tool_calls(
        base, [{"path": "calc.py", "audience": "a reviewer"}, {"path": OFF_SCHEMA_PATH}]
    )
    assert not good.is_error, f"{good}\n{log_path.read_text(errors='replace')}"
    assert good.structured_content == EXPLANATION
    jsonschema.validate(good.structured_content, listed.tools[0].output_schema)
    # The example's prompt and output schema reached the model through Codex.
    turns = _Model.seen[before:]
    assert any("`calc.py`" in r and "a reviewer" in r for r in turns), turns
    # An answer missing `key_points` is refused, not passed on.
    assert off_schema.is_error, off_schema
    assert "does not match the output schema" in _text(off_schema), _text(off_schema)
    assert "key_points" in _text(off_schema), _text(off_schema)


def test_custom_tool_names_bad_arguments(custom_tool_app) -> None:
    base, _ = custom_tool_app
    before = len(_Model.seen)
    _, (unknown, missing, wrong_type) = _custom_tool_calls(
        base, [{"path": "a.py", "colour": "red"}, {"audience": "me"}, {"path": 7}]
    )
    for result, named in [(unknown, "colour"), (missing, "path"), (wrong_type, "path")]:
        assert result.is_error, result
        assert named in _text(result), _text(result)
    assert len(_Model.seen) == before, "bad arguments must not reach Codex"
