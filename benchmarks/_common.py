"""Shared pieces of the benchmarks: fixture audio, a real server process, WER, RSS."""

from __future__ import annotations

import json
import os
import re
import socket
import string
import subprocess
import sys
import time
import wave
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import jiwer
import numpy as np

from ballsy.speech.audio import decode_audio, decode_channels

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "speech"
RESULTS = ROOT / "benchmarks" / "results"
RATE = 16_000

_PUNCT = str.maketrans({ch: " " for ch in string.punctuation})


def normalize(text: str) -> str:
    text = re.sub(r"(?<=\w)'(?=\w)", "", text.lower())
    return " ".join(text.translate(_PUNCT).split())


def wer(reference: str, hypothesis: str) -> float:
    return float(jiwer.wer(normalize(reference), normalize(hypothesis) or "<empty>"))


def english_clips() -> list[tuple[np.ndarray, str]]:
    """(16 kHz float32 samples, reference text) for each English fixture recording."""
    refs = json.loads((FIXTURES / "transcripts.json").read_text())
    clips = [
        (decode_audio(FIXTURES / "jfk.flac").samples, refs["jfk.flac"]["text"]),
        (decode_audio(FIXTURES / "english.wav").samples, refs["english.wav"]["text"]),
    ]
    stereo = decode_channels(FIXTURES / "stereo_diarization.wav")
    for channel, key in zip(stereo.channels, ("left", "right"), strict=True):
        clips.append((channel, refs["stereo_diarization.wav"]["channels"][key]))
    return clips


def long_recording(min_seconds: float, pause: float = 1.5) -> tuple[np.ndarray, str]:
    """Fixture clips with pauses between them, repeated until ``min_seconds`` long."""
    clips = english_clips()
    silence = np.zeros(int(pause * RATE), dtype=np.float32)
    parts: list[np.ndarray] = []
    words: list[str] = []
    total = 0
    while total < min_seconds * RATE:
        for samples, text in clips:
            parts += [samples, silence]
            words.append(text)
            total += len(samples) + len(silence)
    return np.concatenate(parts), " ".join(words)


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory (VmHWM) of a live process, in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@contextmanager
def ballsy_server(data_dir: Path, **env: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A real ``ballsy serve`` process on a free loopback port."""
    port = free_port()
    environment = {**os.environ, "BALLSY_DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING", **env}
    process = subprocess.Popen(
        [sys.executable, "-m", "ballsy.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environment,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("ballsy serve did not start")
            time.sleep(0.2)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=30)


def save(name: str, results: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nresults written to {path.relative_to(ROOT)}")
    return path
