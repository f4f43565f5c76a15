"""The request timeout is per read for bodies: slow uploads pass, stalled ones are cut.

Over a real uvicorn socket, with ``REQUEST_TIMEOUT=2`` and ``UPLOAD_READ_TIMEOUT=1``: an
authenticated job upload that trickles in steady small pieces for 4 s is accepted
(the client's sending time is not the server's), one that stalls for 3 s mid-body gets
408 within the read timeout, and a handler that itself works past ``REQUEST_TIMEOUT``
still gets 504.
"""

from __future__ import annotations

import asyncio
import io
import time
import wave
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI

from tests.live import live_app
from tests.security.conftest import make_user, running, secure_settings

BOUNDARY = "ballsy-boundary"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, API key) of a server with a 2 s request and 1 s body-read timeout."""
    settings = secure_settings(
        tmp_path_factory.mktemp("upload-timeouts"),
        request_timeout=2.0,
        upload_read_timeout=1.0,
        job_worker_in_process=False,  # the jobs stay queued: this is about the upload
    )

    async def key() -> str:
        async with running(settings) as (app, _):
            return (await make_user(app)).key

    # A key made before the server starts, in the database the server will use.
    secret = asyncio.run(key())
    with live_app(settings) as (url, app):
        _add_slow_route(app)
        yield url, secret


def _add_slow_route(app: FastAPI) -> None:
    @app.get("/api/test-slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(4)
        return {"never": "sent"}


def _wav() -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(b"\0\0" * 16_000)
    return buffer.getvalue()


def _multipart() -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    return head + _wav() + f"\r\n--{BOUNDARY}--\r\n".encode()


async def _open(
    url: str, secret: str, body_length: int
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    where = urlsplit(url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    head = "\r\n".join(
        [
            "POST /api/transcriptions HTTP/1.1",
            f"Host: {where.netloc}",
            f"Authorization: Bearer {secret}",
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
            f"Content-Length: {body_length}",
            "Connection: close",
        ]
    )
    writer.write((head + "\r\n\r\n").encode())
    await writer.drain()
    return reader, writer


async def test_an_upload_that_keeps_sending_outlives_the_request_timeout(
    server: tuple[str, str],
) -> None:
    url, secret = server
    body = _multipart()
    reader, writer = await _open(url, secret, len(body))
    pieces = 20
    size = -(-len(body) // pieces)
    began = time.monotonic()
    try:
        for start in range(0, len(body), size):
            writer.write(body[start : start + size])
            await writer.drain()
            await asyncio.sleep(0.2)  # 4 s in all, twice REQUEST_TIMEOUT
        answer = await asyncio.wait_for(reader.read(), timeout=10.0)
    finally:
        writer.close()
    assert time.monotonic() - began > 3.5
    assert answer.startswith(b"HTTP/1.1 202 "), answer[:300]


async def test_an_upload_that_stalls_mid_body_gets_408(server: tuple[str, str]) -> None:
    url, secret = server
    body = _multipart()
    reader, writer = await _open(url, secret, len(body))
    try:
        writer.write(body[: len(body) // 2])
        await writer.drain()
        began = time.monotonic()
        # The client now stalls for 3 s; the answer must come within the 1 s read timeout.
        answer = await asyncio.wait_for(reader.read(4096), timeout=3.0)
        waited = time.monotonic() - began
    finally:
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:300]
    assert b'"request_timeout"' in answer
    assert waited < 2.0  # the read timeout, not REQUEST_TIMEOUT


async def test_a_slow_handler_still_gets_504(server: tuple[str, str]) -> None:
    url, secret = server
    async with httpx.AsyncClient(base_url=url, timeout=10.0) as http:
        began = time.monotonic()
        answer = await http.get("/api/test-slow", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status_code == 504
    assert answer.json()["error"]["code"] == "request_timeout"
    assert time.monotonic() - began < 3.5
