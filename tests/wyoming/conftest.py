"""A real Ballsy process serving Wyoming, and the ``wyoming`` package's own client.

The server is the installed ``ballsy`` command on free loopback ports with a scratch
SQLite data dir. Its LLM is an OpenAI-compatible server in this test process
(``tests.fake_openai``): the bundled llama.cpp build is not what these tests are about.
Models are not preloaded at start (the preload warms the local LLM too); the session
fixture warms speech-to-text and both voices with one request each instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import string
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import Event
from wyoming.tts import Synthesize, SynthesizeVoice

from ballsy.speech.audio import decode_audio, decode_channels, float_to_pcm16
from tests.conftest import FIXTURES
from tests.fake_openai import FakeOpenAI, free_port, run_fake_openai

BALLSY = Path(sys.executable).parent / "ballsy"
USER = "home-assistant"
READ_TIMEOUT = 60.0
_KEEP_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")


class BallsyProcess:
    """``ballsy serve`` (or ``ballsy wyoming``) with a Wyoming port, in its own data dir."""

    def __init__(self, data_dir: Path, env: dict[str, str], command: str = "serve") -> None:
        self.http_port = free_port()
        self.wyoming_port = free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.data_dir = data_dir
        self.log_path = data_dir / "server.log"
        data_dir.mkdir(parents=True, exist_ok=True)
        environment = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
        environment.update(
            {
                "BALLSY_DATA_DIR": str(data_dir),
                "HOST": "127.0.0.1",
                "PORT": str(self.http_port),
                "WYOMING_PORT": str(self.wyoming_port),
                "LOG_FORMAT": "json",
                "LOG_LEVEL": "INFO",
                "OMP_NUM_THREADS": "1",
                "PRELOAD_MODELS": "false",
                "SHUTDOWN_GRACE_SECONDS": "3",
                "MAX_REQUESTS_PER_MINUTE": "100000",
                "WS_TURNS_PER_MINUTE": "100000",
                **env,
            }
        )
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(BALLSY), command],
                cwd=data_dir,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 90.0) -> BallsyProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                healthy = httpx.get(self.url + "/health", timeout=1.0).status_code == 200
            except httpx.HTTPError:
                healthy = False
            if healthy and _accepts(self.wyoming_port):
                return self
            time.sleep(0.1)
        raise TimeoutError(f"server did not start:\n{self.log()}")

    def stop(self) -> int | None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.process.returncode

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_events(self) -> list[dict[str, object]]:
        events = []
        for line in self.log().splitlines():
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        return events

    def client(self, read_timeout: float = READ_TIMEOUT) -> AsyncTcpClient:
        return AsyncTcpClient("127.0.0.1", self.wyoming_port, read_timeout=read_timeout)


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[tuple[str, FakeOpenAI]]:
    yield from run_fake_openai()


@pytest.fixture(scope="session")
def llm_env(fake_llm: tuple[str, FakeOpenAI]) -> dict[str, str]:
    url, _ = fake_llm
    return {
        "LLM_PROVIDER": "openai",
        "LLM_BASE_URL": url,
        "LLM_MODEL": "echo",
        "LLM_API_KEY": "test-key",
        "LLM_MAX_RETRIES": "0",
    }


# Limits small enough to reach in a test; the rest are the defaults.
SERVER_LIMITS = {
    "WYOMING_MAX_CONNECTIONS": "6",
    "WYOMING_MAX_STREAMS": "2",
    "WYOMING_MAX_TEXT_CHARS": "600",
    "WYOMING_MAX_AUDIO_SECONDS": "30",
    "WYOMING_MAX_EVENT_BYTES": "16384",
    "WYOMING_MAX_PAYLOAD_BYTES": "300000",
    "WYOMING_IDLE_TIMEOUT": "4",
}


@pytest.fixture(scope="session")
async def server(
    tmp_path_factory: pytest.TempPathFactory, llm_env: dict[str, str]
) -> AsyncIterator[BallsyProcess]:
    process = BallsyProcess(tmp_path_factory.mktemp("wyoming"), {**llm_env, **SERVER_LIMITS})
    try:
        await asyncio.to_thread(process.wait_ready)
        await warm_up(process)
        yield process
    finally:
        process.stop()


async def warm_up(process: BallsyProcess) -> None:
    """Load speech-to-text and both voices, so tests and timings see warm models."""
    for voice in ("heart", "joe"):
        async with process.client() as client:
            await client.write_event(
                Synthesize(text="Ready.", voice=SynthesizeVoice(voice)).event()
            )
            await read_until(client, "audio-stop")
    async with process.client() as client:
        await send_audio(client, Clip(float_to_pcm16(speech("english.wav")).tobytes(), 16000))
        await read_until(client, "transcript")


# --- the client side -----------------------------------------------------------------------


async def read_until(client: AsyncTcpClient, *stop_types: str) -> list[Event]:
    """Every event up to and including the first of ``stop_types`` (or ``error``)."""
    events: list[Event] = []
    while True:
        event = await client.read_event()
        assert event is not None, f"connection closed after {[e.type for e in events]}"
        events.append(event)
        if event.type in stop_types or event.type == "error":
            return events


@dataclass(frozen=True)
class Clip:
    audio: bytes
    rate: int
    width: int = 2
    channels: int = 1

    @property
    def frame_bytes(self) -> int:
        return self.width * self.channels

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.frame_bytes / self.rate


async def send_audio(
    client: AsyncTcpClient, clip: Clip, *, chunk_ms: int = 100, realtime: bool = False
) -> float:
    """audio-start, chunks, audio-stop; returns when audio-stop was sent (perf_counter)."""
    fmt = {"rate": clip.rate, "width": clip.width, "channels": clip.channels}
    await client.write_event(AudioStart(**fmt).event())
    step = clip.rate * chunk_ms // 1000 * clip.frame_bytes
    started = time.perf_counter()
    for index, offset in enumerate(range(0, len(clip.audio), step)):
        await client.write_event(
            AudioChunk(audio=clip.audio[offset : offset + step], **fmt).event()
        )
        if realtime:  # like a microphone: never ahead of the wall clock
            await asyncio.sleep(
                max(0.0, started + (index + 1) * chunk_ms / 1000 - time.perf_counter())
            )
    await client.write_event(AudioStop().event())
    return time.perf_counter()


def speech(name: str) -> np.ndarray:
    """A fixture recording as 16 kHz float32 mono."""
    return decode_audio(FIXTURES / name).samples


def native_jfk() -> Clip:
    """jfk.flac as it is stored: 44.1 kHz, stereo, 24-bit — sent as such."""
    decoded = decode_channels(FIXTURES / "jfk.flac", sample_rate=44_100)
    stereo = np.stack(decoded.channels, axis=1)
    ints = np.clip(np.round(stereo * (1 << 23)), -(1 << 23), (1 << 23) - 1).astype("<i4")
    packed = ints.reshape(-1, 1).view(np.uint8).reshape(-1, 4)[:, :3]
    return Clip(packed.tobytes(), 44_100, width=3, channels=2)


def references() -> dict[str, str]:
    refs = json.loads((FIXTURES / "transcripts.json").read_text())
    return {name: entry["text"] for name, entry in refs.items() if "text" in entry}


_PUNCT = str.maketrans({ch: " " for ch in string.punctuation})
_NUMBERS = {"1": "one", "2": "two", "3": "three"}


def normalize(text: str) -> str:
    text = re.sub(r"(?<=\w)'(?=\w)", "", text.lower()).translate(_PUNCT)
    return " ".join(_NUMBERS.get(word, word) for word in text.split())


def word_error_rate(reference: str, hypothesis: str) -> float:
    try:
        import jiwer
    except ImportError:  # a small Levenshtein over words
        ref, hyp = normalize(reference).split(), normalize(hypothesis).split()
        previous = list(range(len(hyp) + 1))
        for i, word in enumerate(ref, 1):
            row = [i] + [0] * len(hyp)
            for j, other in enumerate(hyp, 1):
                row[j] = min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (word != other))
            previous = row
        return previous[-1] / max(1, len(ref))
    return float(jiwer.wer(normalize(reference), normalize(hypothesis) or "<empty>"))


@asynccontextmanager
async def raw_connection(
    port: int, local_host: str | None = None
) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    """A bare TCP connection, for bytes no Wyoming client would send."""
    local = (local_host, 0) if local_host else None
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=local)
    try:
        yield reader, writer
    finally:
        writer.close()
        with suppress(ConnectionError, OSError):
            await writer.wait_closed()
