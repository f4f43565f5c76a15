"""Hostile clients for the abuse tests (tests/realtime/test_abuse.py).

A flooder that sends audio faster than real time and reconnects whenever it is closed
(run in a process of its own, so it does not share the test's event loop), a client
that never reads its socket, and the probes that watch the server meanwhile: ``/health``
latency, the server's resident memory, whether it still holds a TCP connection.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import websockets

FLOOD_RATE = 8_000


def flood(url: str, seconds: float, out: Any) -> None:
    """Child process: flood ``/ws/voice`` with 2-s frames of noise, reconnecting when closed.

    Puts ``("started", monotonic)`` and then ``("report", {...})`` on ``out``."""
    out.put(("started", time.monotonic()))
    out.put(("report", asyncio.run(_flood(url, seconds))))


async def _flood(url: str, seconds: float) -> dict[str, Any]:
    noise = np.random.default_rng(7).integers(-12000, 12000, 2 * FLOOD_RATE, dtype=np.int16)
    frame = noise.astype("<i2").tobytes()
    errors: Counter[str] = Counter()
    closes: Counter[str] = Counter()
    frames = connections = refused = 0
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            async with (
                asyncio.timeout(left),
                websockets.connect(
                    f"{url}/ws/voice/flooder?sample_rate={FLOOD_RATE}",
                    open_timeout=5,
                    close_timeout=2,
                ) as ws,
            ):
                connections += 1
                reader = asyncio.create_task(_count_errors(ws, errors))
                try:
                    while True:
                        await ws.send(frame)
                        frames += 1
                        # send() need not yield: without this the reader never runs,
                        # and the flooder would not see the server close it.
                        await asyncio.sleep(0)
                except websockets.ConnectionClosed:
                    await asyncio.wait([reader], timeout=1)
                    closes[f"{ws.close_code} {ws.close_reason}"] += 1
        except TimeoutError:
            pass  # the flood's time is up, mid-send or mid-handshake
        except (websockets.InvalidHandshake, OSError):
            refused += 1
            await asyncio.sleep(0.05)
    return {
        "frames": frames,
        "audio_s": frames * 2.0,
        "connections": connections,
        "refused_handshakes": refused,
        "closes": dict(closes),
        "errors": dict(errors),
    }


async def _count_errors(ws: Any, errors: Counter[str]) -> None:
    try:
        async for raw in ws:
            if isinstance(raw, str) and (message := json.loads(raw)).get("type") == "error":
                errors[message.get("code", "?")] += 1
    except websockets.ConnectionClosed:
        pass


class HealthProbe:
    """GETs ``/health`` every 50 ms on a thread of its own until stopped; latencies in ms."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        with httpx.Client(timeout=5) as http:
            while not self._stop.is_set():
                start = time.perf_counter()
                try:
                    ok = http.get(f"{self.url}/health").status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = (time.perf_counter() - start) * 1000
                self.latencies.append(elapsed if ok else 5000.0)
                self._stop.wait(0.05)

    def p95(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


class DeafClient:
    """A WebSocket client on a raw socket with a tiny receive buffer that, after the
    handshake, only writes: the server's replies pile up in the kernel, then in the
    server's outbox."""

    def __init__(self, port: int, path: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        head = b""
        while not head.endswith(b"\r\n\r\n"):  # byte by byte: no frame is read with it
            chunk = self.sock.recv(1)
            assert chunk and len(head) < 8192, head
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head

    def send_text(self, text: str) -> None:
        payload, mask = text.encode(), os.urandom(4)
        size = len(payload)
        header = bytes([0x81])
        if size < 126:
            header += bytes([0x80 | size])
        else:
            header += bytes([0x80 | 126]) + size.to_bytes(2, "big")
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def close_code(self) -> int | None:
        """Read everything now; the code of the server's close frame, if one came."""
        data = b""
        self.sock.settimeout(2)
        try:
            while chunk := self.sock.recv(65536):
                data += chunk
        except OSError:  # reset by the server, or nothing more to read
            pass
        at = 0
        while at + 2 <= len(data):
            opcode, size = data[at] & 0x0F, data[at + 1] & 0x7F
            at += 2
            if size == 126:
                size, at = int.from_bytes(data[at : at + 2], "big"), at + 2
            elif size == 127:
                size, at = int.from_bytes(data[at : at + 8], "big"), at + 8
            if opcode == 0x8 and size >= 2:
                return int.from_bytes(data[at : at + 2], "big")
            at += size
        return None


def vm_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for {pid}")


def holds_connection(pid: int, server_port: int, client_port: int) -> bool:
    """Whether process ``pid`` still has the TCP connection from ``client_port`` open."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            link = os.readlink(fd)
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(link[8:-1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1].rsplit(":", 1)[1], fields[2].rsplit(":", 1)[1]
            ports = (int(local, 16), int(remote, 16))
            if ports == (server_port, client_port) and fields[9] in inodes:
                return True
    return False
