"""Real processes for multi-instance tests: ``ballsy serve`` and a private redis-server.

Each server is the installed ``ballsy`` command on a loopback port, configured only
through its environment (a scratch data dir as working directory, so no developer
``.env`` leaks in). A private redis-server lets a test kill and restart Redis without
touching the shared one on 6379.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import asyncpg
import httpx

from tests.fake_openai import free_port

BALLSY = Path(sys.executable).parent / "ballsy"
POSTGRES_SERVER = os.environ.get("BALLSY_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
_KEEP_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")


class BallsyServer:
    def __init__(self, data_dir: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        self.log_path = data_dir / f"server-{self.port}.log"
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> BallsyServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
        env.update(
            {
                "BALLSY_DATA_DIR": str(self.data_dir),
                "OMP_NUM_THREADS": "1",
                "LOG_LEVEL": "INFO",
                "SHUTDOWN_GRACE_SECONDS": "2",
                # Models load lazily: these tests are about state, not speech.
                "PRELOAD_MODELS": "false",
                **self.env,
            }
        )
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [str(BALLSY), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=self.data_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                if httpx.get(self.url + "/health", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server on {self.port} did not start:\n{self.log()}")

    def stop(self, *, signalled: bool = False) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        if not signalled:  # a second SIGTERM would force an unclean exit
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def start_servers(count: int, data_dir: Path, env: dict[str, str]) -> list[BallsyServer]:
    """Start ``count`` servers at once (they migrate under PostgreSQL's advisory lock)."""
    servers = [BallsyServer(data_dir / f"instance-{i}", env).start() for i in range(count)]
    try:
        for server in servers:
            server.wait_ready()
    except BaseException:
        stop_all(servers)
        raise
    return servers


def stop_all(servers: Iterable[BallsyServer]) -> None:
    """SIGTERM every server first, then wait: their graceful shutdowns overlap."""
    running = [s for s in servers if s.process is not None and s.process.poll() is None]
    for server in running:
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
    for server in running:
        server.stop(signalled=True)


class RedisServer:
    """A redis-server of our own, stopped and started at will."""

    def __init__(self, workdir: Path, password: str | None = None) -> None:
        self.port = free_port()
        auth = f":{password}@" if password else ""
        self.url = f"redis://{auth}127.0.0.1:{self.port}/0"
        self.password = password
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, check=False
            ).stdout.strip()
            != b"PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # like a crash: no goodbye to the clients
            self.process.wait(timeout=10)


async def create_database() -> str:
    """A fresh, empty PostgreSQL database on the local server; its URL."""
    name = f"ballsy_mp_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(f"{POSTGRES_SERVER}/postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return f"{POSTGRES_SERVER}/{name}"


async def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[-1]
    admin = await asyncpg.connect(f"{POSTGRES_SERVER}/postgres")
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
