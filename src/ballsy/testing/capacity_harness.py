"""The parts of ``ballsy bench capacity`` that act: a server under test and its clients.

:func:`bench_server` starts a real ``ballsy serve`` (all roles, embedded models, SQLite,
no auth) on a loopback port and waits until ``/ready`` (models loaded). The clients
speak the native voice protocol through :class:`~ballsy.testing.voice_client.VoiceClient`:
idle sockets, microphones streaming noise in real time, and spoken questions whose
audio the server's own TTS made.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path

import httpx
import numpy as np

from ballsy.speech.audio import decode_audio, float_to_pcm16
from ballsy.testing.voice_client import VoiceClient

RATE = 16_000
FRAME_BYTES = RATE * 20 // 1000 * 2  # 20 ms of PCM16, as a microphone sends
QUESTIONS = (
    "Tell me a short joke about cats.",
    "Give me one tip for sleeping better.",
    "What should I cook for dinner tonight?",
    "Tell me something interesting about the ocean.",
)


# --- the server under test ---------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def bench_server(
    data_dir: Path, max_sessions: int, *, environment: Mapping[str, str]
) -> Iterator[tuple[str, int]]:
    """A ``ballsy serve`` process with embedded models, ready (models loaded).

    ``environment`` is all the server inherits (:func:`ballsy.config.child_process_environment`:
    its interpreter, libraries and temp dir); the bench's own settings go on top of it.
    """
    port = _free_port()
    env = dict(environment)
    env.update(
        {
            "BALLSY_DATA_DIR": str(data_dir),
            "ENVIRONMENT": "development",
            "AUTH_MODE": "none",
            "SERVER_ROLE": "all",
            "PRELOAD_MODELS": "true",
            "LOG_LEVEL": "WARNING",
            "MAX_REQUESTS_PER_MINUTE": "1000000",
            "WS_TURNS_PER_MINUTE": "1000",
            "MAX_CONCURRENT_SESSIONS": str(max_sessions),
        }
    )
    log = (data_dir / "server.log").open("ab")
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [sys.executable, "-m", "ballsy.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=data_dir,  # no developer .env is read
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, data_dir / "server.log")
        yield url, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ballsy serve exited:\n{log.read_text(errors='replace')[-3000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/ready", timeout=60).status_code == 200:
                return
        time.sleep(0.5)
    raise TimeoutError("ballsy serve was not ready within 300 s")


# --- clients -----------------------------------------------------------------------


def noise(frames: int, seed: int) -> list[bytes]:
    """Microphone-level noise frames (a live mic is never digital silence)."""
    rng = np.random.default_rng(seed)
    samples = rng.normal(0.0, 0.002, frames * FRAME_BYTES // 2).astype(np.float32)
    pcm = float_to_pcm16(samples).astype("<i2").tobytes()
    return [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]


async def microphone(client: VoiceClient, frames: list[bytes], stop: asyncio.Event) -> None:
    """Send ``frames`` round and round in real time until ``stop``."""
    start, sent = time.perf_counter(), 0
    while not stop.is_set() and not client.closed.is_set():
        await client.ws.send(frames[sent % len(frames)])
        sent += 1
        await asyncio.sleep(max(0.0, start + sent * 0.02 - time.perf_counter()))


@contextlib.asynccontextmanager
async def sessions(url: str, count: int, name: str) -> AsyncIterator[list[VoiceClient]]:
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for index in range(count):
            connect = VoiceClient.connect(url, f"{name}-{index}", max_size=2**22)
            clients.append(await stack.enter_async_context(connect))
        await asyncio.gather(*(client.wait_for("ready", within=60) for client in clients))
        yield clients


async def question_audio(http: httpx.AsyncClient) -> list[bytes]:
    """Each question spoken by the server's own TTS, as 16 kHz PCM16."""
    spoken = []
    for text in QUESTIONS:
        body = {"model": "tts-1", "input": text, "response_format": "wav"}
        response = await http.post("/v1/audio/speech", json=body)
        response.raise_for_status()
        samples = decode_audio(response.content, sample_rate=RATE).samples
        spoken.append(float_to_pcm16(samples).astype("<i2").tobytes())
    return spoken


async def turn(client: VoiceClient, question: bytes, mic: list[bytes]) -> float | None:
    """Ask, keep the mic open until the reply has played; ms to first reply audio."""
    heard, done = len(client.audio), len(client.messages("reply_done"))
    spoke_until = await client.stream(question)
    first_audio: float | None = None
    for frame in _cycle(mic, seconds=90):
        if len(client.messages("reply_done")) > done or client.closed.is_set():
            break
        if first_audio is None and len(client.audio) > heard:
            first_audio = client.audio[heard][0]
        await client.ws.send(frame)
        await asyncio.sleep(0.02)
    return None if first_audio is None else (first_audio - spoke_until) * 1000


def _cycle(frames: list[bytes], *, seconds: float) -> Iterator[bytes]:
    for index in range(int(seconds / 0.02)):
        yield frames[index % len(frames)]
