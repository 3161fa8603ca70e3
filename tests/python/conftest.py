"""Fixtures for the tests that drive mcpd with the official Python MCP SDK (`mcp`).

`MCPD_BIN` names the binary (default: <repo>/target/debug/mcpd, built by scripts/test.sh).
Every server started here listens on 127.0.0.1 only, with a temporary data directory and
HOME, and without any of the developer's mcpd settings.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Settings that would let a developer's shell change what the server under test does: every
# variable mcpd reads (`mcpd config --list`) or hands to Codex; the same list as
# tests/e2e/src/lib.rs and server_env_leaks in scripts/test-lib.sh.
_LEAKY_ENV = re.compile(
    r"^(MCPD_|CODEX_|OPENAI_|OAUTH_|CONTAINER_)"
    r"|^(CHATGPT_OAUTH_TOKEN|MAX_CONCURRENT_SESSIONS|SESSION_TIMEOUT|LOG_LEVEL|LOG_FORMAT|PERSISTENT_MODE|RUST_LOG)$"
)


def _target_dir() -> Path:
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target if target.is_absolute() else REPO / target


@pytest.fixture(scope="session")
def mcpd_bin() -> Path:
    path = Path(os.environ.get("MCPD_BIN", _target_dir() / "debug" / "mcpd"))
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"mcpd binary not found at {path}: run `cargo build -p mcpd` or set MCPD_BIN")
    return path


@pytest.fixture(scope="session")
def mcpd_version(mcpd_bin: Path) -> str:
    """The version `mcpd --version` prints (clap: `mcpd X.Y.Z`)."""
    out = subprocess.run([mcpd_bin, "--version"], capture_output=True, text=True, timeout=30, check=True)
    return out.stdout.strip().split()[-1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not _LEAKY_ENV.match(k)}
    env.update(extra)
    return env


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get_json(url: str, timeout: float = 5.0) -> tuple[int, str, object]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        body = resp.read()
        return resp.status, resp.headers.get("Content-Type", ""), json.loads(body)


@dataclass
class Mcpd:
    """A running `mcpd serve` on 127.0.0.1."""

    base_url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def mcp_url(self) -> str:
        return f"{self.base_url}/mcp"

    @property
    def sse_url(self) -> str:
        return f"{self.base_url}/sse"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


def _start(mcpd_bin: Path, tmp: Path, attempt: int, extra_env: dict[str, str] | None = None) -> Mcpd | None:
    """Starts mcpd on a free port; None when the port was taken meanwhile (mcpd exits).
    `extra_env` adds or overrides settings."""
    port = _free_port()
    data_dir = tmp / f"data-{attempt}"
    home = tmp / "home"
    data_dir.mkdir(parents=True)
    home.mkdir(exist_ok=True)
    log_path = tmp / f"mcpd-{attempt}.log"
    env = clean_env(
        MCPD_LISTEN=f"127.0.0.1:{port}",
        CODEX_MCP_DATA_DIR=str(data_dir),
        HOME=str(home),
        NO_COLOR="1",
        LOG_LEVEL="info",
        **{**_health_ready_env(tmp), **(extra_env or {})},
    )
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [str(mcpd_bin), "serve"], env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
    server = Mcpd(base_url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            if "cannot listen" in server.log():
                return None
            pytest.fail(f"mcpd exited with {process.returncode} before answering /health:\n{server.log()}")
        try:
            status, _, _ = http_get_json(f"{server.base_url}/health", timeout=2)
            if status == 200:
                return server
        except (urllib.error.URLError, ConnectionError, OSError, ValueError):
            pass
        time.sleep(0.05)
    _stop(process)
    pytest.fail(f"mcpd did not answer GET /health within 30 s:\n{server.log()}")


def _health_ready_env(tmp: Path) -> dict[str, str]:
    """Settings under which health_check can say "ok": the local runtime, an API key (fake:
    these tests never reach a model) and a Codex program that exists (a stub script that
    reports the supported version: no Codex tool is called here)."""
    stub = tmp / "bin" / "codex"
    stub.parent.mkdir(parents=True, exist_ok=True)
    stub.write_text("#!/bin/sh\necho 'codex-cli 0.169.0'\n")
    stub.chmod(0o755)
    return {"CODEX_MCP_RUNTIME": "local", "OPENAI_API_KEY": "sk-python-sdk-test", "CODEX_BIN": str(stub)}


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def serve_mcpd(mcpd_bin: Path, prefix: str, extra_env=None):
    """Yields a running mcpd HTTP server in a temporary folder; stops it (SIGTERM, then
    SIGKILL) and removes the folder after. `extra_env(tmp)` gives settings to add or
    override, made once the folder exists."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    server = None
    try:
        env = extra_env(tmp) if extra_env else None
        for attempt in range(5):
            server = _start(mcpd_bin, tmp, attempt, env)
            if server is not None:
                break
        else:
            pytest.fail("could not start mcpd on a free port in 5 attempts")
        yield server
    finally:
        if server is not None:
            _stop(server.process)
        shutil.rmtree(tmp, ignore_errors=True)


def codex_bin() -> Path | None:
    """The real, pinned Codex CLI: `CODEX_BIN`, else the one scripts/test-deps.sh cached."""
    if os.environ.get("CODEX_BIN"):
        return Path(os.environ["CODEX_BIN"])
    cache = Path(os.environ.get("CODEX_MCP_TEST_CACHE", _target_dir() / "test-cache"))
    found = sorted(cache.glob("codex-0.169.0/node_modules/@openai/codex-linux-*/vendor/*/bin/codex"))
    return found[0] if found else None


def codex_bin_or_skip() -> Path:
    """`codex_bin()`, or a skip that says so; under `CI=true` a failure instead."""
    codex = codex_bin()
    if codex is None or not codex.is_file():
        if os.environ.get("CI") == "true":
            pytest.fail("the real Codex CLI is missing: run scripts/test-deps.sh or set CODEX_BIN")
        pytest.skip("SKIPPED: the real Codex CLI is missing (set CODEX_BIN)")
    return codex


def codex_config_toml(model_url: str) -> str:
    """A Codex config.toml whose only model provider is the scripted model at `model_url`."""
    return (
        'model = "gpt-5.1-codex"\nmodel_provider = "scripted"\n'
        f'chatgpt_base_url = "{model_url}/backend-api/"\n\n'
        '[model_providers.scripted]\nname = "scripted"\n'
        f'base_url = "{model_url}/v1"\nwire_api = "responses"\nrequires_openai_auth = true\n'
        "request_max_retries = 0\nstream_max_retries = 0\n\n"
        "[analytics]\nenabled = false\n\n[features]\n"
        "apps = false\nbrowser_use = false\ncomputer_use = false\nplugins = false\n"
    )


def serve_mcpd_with_codex(mcpd_bin: Path, handler: type[BaseHTTPRequestHandler], prefix: str):
    """Yields a running mcpd that runs the real Codex (suggest mode) against a scripted
    model: a threaded HTTP server on 127.0.0.1 answering with `handler`. Skips (fails
    under CI=true) when Codex is missing; stops both afterwards."""
    codex = codex_bin_or_skip()
    model = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    model.daemon_threads = True
    threading.Thread(target=model.serve_forever, daemon=True).start()

    def env(tmp: Path) -> dict[str, str]:
        config = tmp / "server-config.toml"
        config.write_text(codex_config_toml(f"http://127.0.0.1:{model.server_address[1]}"))
        return {
            "CODEX_BIN": str(codex),
            "CODEX_MCP_CODEX_CONFIG": str(config),
            "CODEX_APPROVAL_MODE": "suggest",
            "OPENAI_API_KEY": "sk-python-codex-test",
        }

    try:
        yield from serve_mcpd(mcpd_bin, prefix, env)
    finally:
        model.shutdown()


class ScriptedModelHandler(BaseHTTPRequestHandler):
    """The quiet parts of a scripted Responses API server: no request log, a helper to
    answer, and the model list Codex may ask for. Subclasses answer POST."""

    def log_message(self, *_: object) -> None:
        pass

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self._send(200, "application/json", b'{"models": []}')


def responses_events(text: str, reasoning: list[str] | tuple[str, ...] = ()) -> list[bytes]:
    """The Responses API events (one `bytes` each) of a stream whose output is one
    reasoning item per entry of `reasoning` (its summary text), then one assistant message
    that is `text`: what a scripted model sends Codex. Send them one by one to stream."""
    items = [
        {"type": "reasoning", "id": f"rs_{i}", "summary": [{"type": "summary_text", "text": summary}]}
        for i, summary in enumerate(reasoning)
    ]
    items.append(
        {
            "type": "message",
            "id": "msg_1",
            "role": "assistant",
            "content": [{"type": "output_text", "text": text}],
        }
    )
    usage = {
        "input_tokens": 10,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 5,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 15,
    }
    events = [("response.created", {"type": "response.created", "response": {"id": "resp_1"}})]
    events += [
        (
            "response.output_item.done",
            {"type": "response.output_item.done", "output_index": i, "item": item},
        )
        for i, item in enumerate(items)
    ]
    events.append(
        (
            "response.completed",
            {"type": "response.completed", "response": {"id": "resp_1", "usage": usage}},
        )
    )
    return [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]


def responses_sse(text: str) -> bytes:
    """A Responses API event stream whose one assistant message is `text` (what a
    scripted model sends Codex)."""
    return b"".join(responses_events(text))


@pytest.fixture(scope="session")
def mcpd(mcpd_bin: Path):
    """One mcpd HTTP server for the whole session."""
    yield from serve_mcpd(mcpd_bin, "codex-mcp-pytest-")


@pytest.fixture()
def stdio_env(tmp_path: Path) -> dict[str, str]:
    """Environment for `mcpd serve --stdio` (the SDK adds only PATH, HOME, USER, ... itself)."""
    (tmp_path / "data").mkdir()
    (tmp_path / "home").mkdir()
    return {
        "CODEX_MCP_DATA_DIR": str(tmp_path / "data"),
        "HOME": str(tmp_path / "home"),
        "NO_COLOR": "1",
        **_health_ready_env(tmp_path),
    }
