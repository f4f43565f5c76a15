"""Webhook addresses: resolved once, off the event loop, with a timeout, and the
connection goes to the address that was checked (no DNS rebinding)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ballsy.errors import InvalidInput
from ballsy.jobs.webhooks import deliver, resolve_webhook
from tests.fake_openai import free_port

_REAL_GETADDRINFO = socket.getaddrinfo
PUBLIC = "93.184.215.14"  # a global address: passes the check, unreachable here


class _Hook(BaseHTTPRequestHandler):
    seen: list[dict[str, str]]

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["content-length"]))
        self.seen.append({k.lower(): v for k, v in self.headers.items()})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[tuple[int, list[dict[str, str]]]]:
    seen: list[dict[str, str]] = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), type("H", (_Hook,), {"seen": seen}))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, seen
    server.shutdown()
    server.server_close()


def _name(host: str | bytes) -> str:
    return host.decode() if isinstance(host, bytes) else host  # httpx passes bytes


def _answer(address: str, port: int) -> list[Any]:
    return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]


async def test_a_rebinding_name_gets_no_post_to_the_internal_address(
    hook: tuple[int, list[dict[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """First lookup: a public address (the check passes); every later one: loopback.

    Connecting with a second lookup would POST to the internal receiver."""
    port, seen = hook
    lookups: list[str] = []

    def rebinding(host: str | bytes, *args: Any, **kwargs: Any) -> list[Any]:
        if _name(host) != "rebind.test":
            return _REAL_GETADDRINFO(host, *args, **kwargs)
        lookups.append(_name(host))
        return _answer(PUBLIC if len(lookups) == 1 else "127.0.0.1", port)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    delivered = await deliver(
        f"http://rebind.test:{port}/hook", {"event": "x"}, secret="k", attempts=1,
        request_timeout=1.0, allow_private=False,
    )  # fmt: skip
    assert delivered is False
    assert seen == [] and lookups == ["rebind.test"]  # one lookup, no internal POST


async def test_the_checked_address_is_connected_with_the_name_as_host(
    hook: tuple[int, list[dict[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, seen = hook
    lookups: list[str] = []

    def resolver(host: str | bytes, *args: Any, **kwargs: Any) -> list[Any]:
        if _name(host) != "hooks.test":
            return _REAL_GETADDRINFO(host, *args, **kwargs)
        lookups.append(_name(host))
        return _answer("127.0.0.1", port)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    delivered = await deliver(
        f"http://hooks.test:{port}/hook", {"event": "x"}, secret="k", attempts=1,
        request_timeout=2.0, allow_private=True,
    )  # fmt: skip
    assert delivered is True and lookups == ["hooks.test"]
    assert seen[0]["host"] == f"hooks.test:{port}"
    target = await resolve_webhook(
        f"https://hooks.test:{port}/x", allow_private=True, lookup_seconds=1.0
    )
    assert target.url == f"https://127.0.0.1:{port}/x"
    assert target.extensions == {"sni_hostname": "hooks.test"}  # TLS checks the name


async def test_a_slow_lookup_does_not_block_the_loop_and_times_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def slow(host: str | bytes, *args: Any, **kwargs: Any) -> list[Any]:
        if _name(host) != "slow.test":
            return _REAL_GETADDRINFO(host, *args, **kwargs)
        time.sleep(2.0)
        return _answer(PUBLIC, 443)

    monkeypatch.setattr(socket, "getaddrinfo", slow)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    running = asyncio.create_task(ticker())
    began = time.monotonic()
    with pytest.raises(InvalidInput, match="resolve"):
        await resolve_webhook("https://slow.test/x", allow_private=False, lookup_seconds=0.5)
    took = time.monotonic() - began
    running.cancel()
    assert took < 1.5 and ticks >= 5  # the loop kept running while the name was looked up


async def test_every_resolved_address_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    def mixed(host: str | bytes, *args: Any, **kwargs: Any) -> list[Any]:
        if _name(host) != "mixed.test":
            return _REAL_GETADDRINFO(host, *args, **kwargs)
        return _answer(PUBLIC, 443) + _answer("10.0.0.5", 443)

    monkeypatch.setattr(socket, "getaddrinfo", mixed)
    with pytest.raises(InvalidInput, match="private"):
        await resolve_webhook("https://mixed.test/x", allow_private=False, lookup_seconds=1.0)
