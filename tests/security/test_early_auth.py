"""Authentication before the body: an unauthenticated upload is refused from its headers.

Over a real uvicorn socket: the client sends the headers of a 1 GiB upload and then
only 64 KiB of its body, and waits. The server cannot have read more than was sent, so
a 401 arriving now was decided before more than 64 KiB was read; a server that reads
the body first would wait for the other 1 GiB and never answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.live import live_app
from tests.security.conftest import secure_settings

GIB = 1024**3
SENT = 64 * 1024
BOUNDARY = "ballsy-boundary"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = secure_settings(
        tmp_path_factory.mktemp("early-auth"),
        job_max_upload_bytes=2 * GIB,
        request_timeout=600.0,
    )
    with live_app(settings) as (url, _app):
        yield url


async def _upload(url: str, path: str, headers: dict[str, str], *, chunked: bool) -> bytes:
    """Send an upload's headers and its first 64 KiB; the server's answer, or b"" if none
    comes within 5 s."""
    where = urlsplit(url)
    reader, writer = await asyncio.open_connection(where.hostname, where.port)
    framing = {"Transfer-Encoding": "chunked"} if chunked else {"Content-Length": str(GIB)}
    lines = [f"POST {path} HTTP/1.1", f"Host: {where.netloc}"]
    lines += [f"{k}: {v}" for k, v in {**framing, **headers}.items()]
    lines.append(f"Content-Type: multipart/form-data; boundary={BOUNDARY}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    part = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n'
        "Content-Type: audio/wav\r\n\r\n"
    ).encode()
    body = part + b"\0" * (SENT - len(part) - 16)
    writer.write(f"{len(body):x}\r\n".encode() + body + b"\r\n" if chunked else body)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(4096), timeout=5.0)
    except TimeoutError:
        return b""
    finally:
        writer.close()


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/transcriptions", {}),
        ("/api/voice", {}),
        ("/v1/audio/transcriptions", {}),
        ("/api/transcriptions", {"Authorization": "Bearer bk_not-a-real-key"}),
        ("/api/transcriptions", {"X-API-Key": "bk_not-a-real-key"}),
        ("/api/transcriptions", {"Authorization": "Basic Zm9vOmJhcg=="}),
    ],
    ids=["none", "voice", "openai", "bad-bearer", "bad-x-api-key", "basic"],
)
async def test_an_unauthenticated_1_gib_upload_is_refused_before_64_kib_is_read(
    server: str, path: str, headers: dict[str, str], chunked: bool
) -> None:
    answer = await _upload(server, path, headers, chunked=chunked)
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200] or "no answer: the body was awaited"
    assert b"www-authenticate: bearer" in answer.lower()
    assert b'"unauthorized"' in answer
