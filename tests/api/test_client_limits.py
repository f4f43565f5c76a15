"""Caps on what one client may hold: a voice session's ``data`` and open SSE streams."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.conftest import make_settings
from tests.live import live_app


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = make_settings(
        tmp_path_factory.mktemp("limits"),
        session_data_max_bytes=200,
        session_data_max_keys=4,
        sse_streams_per_user=2,
    )
    with live_app(settings) as (url, _app):
        yield url


@pytest.fixture
async def http(live: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live, timeout=10) as client:
        yield client


async def test_session_data_is_capped_in_bytes_and_keys(
    http: httpx.AsyncClient, client_id: str
) -> None:
    params = {"client_id": client_id}
    big = await http.post("/api/sessions", params=params, json={"data": {"x": "y" * 300}})
    assert big.status_code == 413, big.text
    assert big.json()["error"]["code"] == "payload_too_large"
    many = await http.post(
        "/api/sessions", params=params, json={"data": {str(i): i for i in range(5)}}
    )
    assert many.status_code == 413 and many.json()["error"]["code"] == "payload_too_large"

    opened = await http.post("/api/sessions", params=params, json={"data": {"a": 1}})
    assert opened.status_code == 201, opened.text
    session = opened.json()["id"]
    beat = f"/api/sessions/{session}/heartbeat"
    # Each heartbeat is small, but they merge: the merged data is what is capped.
    for key in ("b", "c", "d"):
        ok = await http.post(beat, params=params, json={"data": {key: 1}})
        assert ok.status_code == 200, ok.text
    fifth = await http.post(beat, params=params, json={"data": {"e": 1}})
    assert fifth.status_code == 413 and fifth.json()["error"]["code"] == "payload_too_large"
    grow = await http.post(beat, params=params, json={"data": {"a": "z" * 190}})
    assert grow.status_code == 413
    # A refused heartbeat changed nothing.
    kept = (await http.get(f"/api/sessions/{session}", params=params)).json()["data"]
    assert kept == {"a": 1, "b": 1, "c": 1, "d": 1}
    assert len(json.dumps(kept)) < 200


@contextlib.asynccontextmanager
async def _stream(http: httpx.AsyncClient, client_id: str) -> AsyncIterator[httpx.Response]:
    async with http.stream("GET", "/api/events", params={"client_id": client_id}) as response:
        if response.status_code == 200:
            # Keep the line iterator: dropping it would close the response.
            lines = response.aiter_lines()
            assert await anext(lines) == ": connected"
        yield response


async def test_sse_streams_are_capped_per_user(live: str, client_id: str) -> None:
    async with (
        httpx.AsyncClient(base_url=live, timeout=10) as a,
        httpx.AsyncClient(base_url=live, timeout=10) as b,
        httpx.AsyncClient(base_url=live, timeout=10) as c,
    ):
        async with _stream(a, client_id) as one, _stream(b, client_id) as two:
            assert (one.status_code, two.status_code) == (200, 200)
            async with _stream(c, client_id) as third:
                assert third.status_code == 429
                body = json.loads(await third.aread())
                assert body["error"]["code"] == "rate_limited"
                assert third.headers["retry-after"]
            # Another user is not affected.
            async with _stream(c, client_id + "-other") as other:
                assert other.status_code == 200
        # Both streams closed: the user's slots come back (the server notices the
        # disconnect on its next poll of the stream).
        for _ in range(50):
            async with _stream(c, client_id) as again:
                if again.status_code == 200:
                    break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("the closed streams' slots never came back")
