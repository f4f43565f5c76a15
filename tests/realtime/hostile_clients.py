"""Hostile clients for the abuse tests (tests/realtime/test_abuse.py).

The flooder and the ``/health`` probe are the flood benchmark's (benchmarks/_hostile.py);
here: a client that never reads its socket, and the probes of the server's resident
memory and of whether it still holds a TCP connection.
"""

from __future__ import annotations

import base64
import os
import socket
from pathlib import Path

from benchmarks._hostile import HealthProbe, flood

__all__ = ["DeafClient", "HealthProbe", "flood", "holds_connection", "vm_rss_mb"]


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
