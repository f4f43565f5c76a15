"""Graceful shutdown of a real ``ballsy serve`` process on a real signal.

The LLM is a chat-completions server in this test process that streams its answer
slowly, so the request is certainly in flight when the signal arrives. Checked: the
request still completes with 200, no new connection is accepted, the process exits 0
well within the grace period, every log line is JSON, and the finished turn is in the
SQLite file afterwards.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from tests.fake_openai import free_port

REPLY = "Once upon a time a brave knight befriended a shy dragon and they flew home"
STORY = REPLY.split()
WORD_DELAY = 0.2  # ≈ 3 s for the whole answer
GRACE_SECONDS = 20


class SlowLLM:
    """Streams ``STORY`` one word every ``WORD_DELAY`` seconds."""

    def __init__(self) -> None:
        self.received = threading.Event()
        self.app = Starlette(routes=[Route("/v1/chat/completions", self.chat, methods=["POST"])])

    async def chat(self, request: Request) -> Response:
        model = (await request.json())["model"]
        self.received.set()
        base = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model}

        async def events() -> AsyncIterator[str]:
            for i, word in enumerate(STORY):
                await asyncio.sleep(WORD_DELAY)
                delta = {"index": 0, "delta": {"content": f" {word}" if i else word}}
                yield f"data: {json.dumps({**base, 'choices': [delta]})}\n\n"
            end = {"index": 0, "delta": {}, "finish_reason": "stop"}
            yield f"data: {json.dumps({**base, 'choices': [end]})}\n\n"
            usage = {"prompt_tokens": 20, "completion_tokens": len(STORY), "total_tokens": 35}
            yield f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")


@pytest.fixture
def slow_llm() -> Iterator[tuple[str, SlowLLM]]:
    llm = SlowLLM()
    port = free_port()
    config = uvicorn.Config(llm.app, host="127.0.0.1", port=port, log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "slow LLM server did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/v1", llm
    server.should_exit = True
    thread.join(timeout=10)


class ServeProcess:
    def __init__(self, data_dir: Path, llm_url: str, cwd: Path) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.db_path = data_dir / "ballsy.db"
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(cwd),
            "BALLSY_DATA_DIR": str(data_dir),
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "LOG_FORMAT": "json",
            "SHUTDOWN_GRACE_SECONDS": str(GRACE_SECONDS),
            "LLM_PROVIDER": "openai",
            "LLM_BASE_URL": llm_url,
            "LLM_MODEL": "slow-story",
            "LLM_API_KEY": "test-key",
            "LLM_MAX_RETRIES": "0",
            "PRELOAD_MODELS": "false",
        }
        # cwd is empty, so no stray .env file is read.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ballsy.cli", "serve"],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "\n".join(self.lines)
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("ballsy serve did not become healthy:\n" + "\n".join(self.lines))

    def in_flight(self) -> float:
        text = httpx.get(f"{self.base_url}/metrics", timeout=5).text
        for family in text_string_to_metric_families(text):
            if family.name == "ballsy_http_requests_in_flight":
                return family.samples[0].value
        raise AssertionError("no in-flight gauge in /metrics")

    def records(self) -> list[dict[str, Any]]:
        self._reader.join(timeout=5)
        return [json.loads(line) for line in self.lines if line.strip()]

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_drains_in_flight_request_and_exits_zero(
    tmp_path: Path, slow_llm: tuple[str, SlowLLM], sig: signal.Signals
) -> None:
    llm_url, llm = slow_llm
    server = ServeProcess(tmp_path / "data", llm_url, cwd=tmp_path)
    try:
        server.wait_healthy()
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(
                httpx.post,
                f"{server.base_url}/api/command",
                json={"text": "Tell me a story about a knight", "client_id": "drain-test"},
                headers={"X-Request-ID": "drain-me-1"},
                timeout=30,
            )
            assert llm.received.wait(15), "the command never reached the LLM"
            # The command, plus this scrape itself.
            assert server.in_flight() >= 2
            signalled = time.monotonic()
            server.process.send_signal(sig)

            time.sleep(0.5)
            with pytest.raises(httpx.ConnectError):
                httpx.get(f"{server.base_url}/health", timeout=2)

            response = pending.result(timeout=30)
            answered = time.monotonic()
        assert response.status_code == 200, response.text
        assert response.headers["x-request-id"] == "drain-me-1"
        body = response.json()
        assert body["reply"] == REPLY
        assert answered - signalled > 1.0, "the request was not in flight at the signal"

        assert server.process.wait(timeout=GRACE_SECONDS) == 0
        assert time.monotonic() - signalled < GRACE_SECONDS
    finally:
        server.kill()

    records = server.records()  # every line parses as JSON
    messages = [record["message"] for record in records]
    assert "ballsy.lifecycle.shutdown_started" in messages
    assert "ballsy.lifecycle.shutdown_completed" in messages
    assert any(r.get("logger") == "uvicorn.error" for r in records), "uvicorn not routed"
    completed = [
        r
        for r in records
        if r["message"] == "ballsy.http.request_completed" and r.get("request_id") == "drain-me-1"
    ]
    assert len(completed) == 1
    assert completed[0]["httpRequest"]["status"] == 200
    assert messages.index("ballsy.lifecycle.shutdown_started") < records.index(completed[0])
    turn = next(r for r in records if r["message"] == "ballsy.turn.completed")
    assert turn["request_id"] == "drain-me-1" and turn["turn_id"] == body["id"]

    with sqlite3.connect(server.db_path) as db:
        row = db.execute(
            "SELECT input_text, reply_text FROM command_history WHERE id = ?", (body["id"],)
        ).fetchone()
    assert row == ("Tell me a story about a knight", REPLY)
