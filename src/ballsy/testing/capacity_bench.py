"""``ballsy bench capacity``: what a voice session and a REST request cost in this build.

Starts a real ``ballsy serve`` (all roles, embedded models, SQLite, no auth) on a
loopback port and measures its process tree from /proc while clients on the same
machine run, one phase at a time:

1. **base** — nothing connected: the instance's own CPU and memory with models loaded;
2. **idle** — N native WebSockets open, no audio (keepalive pings only);
3. **listening** — L sessions streaming microphone-level noise in real time, so voice
   activity detection runs on every frame, as for a user with the mic open;
4. **talking** — M sessions in a conversation: a spoken question (synthesized by the
   server's own TTS), live noise until the whole reply has played, again; every turn
   runs VAD, STT, the local LLM and TTS;
5. **rest** — REST calls (skill commands, history, settings), then LLM commands.

Each phase subtracts what the phases before it explain, so the figures are marginal:
vCPU and RSS per idle or listening session, CPU seconds per turn, CPU per REST request
and per local LLM reply, and LLM tokens per request (from ``/metrics``). ``ballsy plan``
reads the JSON this writes. The machine running the clients shares its CPUs with the
server; the figures count only the server's CPU time, so they hold on a quieter box.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import re
import statistics
import tempfile
import time
from collections.abc import Coroutine, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from ballsy import __version__
from ballsy.testing.capacity_harness import (
    QUESTIONS,
    bench_server,
    microphone,
    noise,
    question_audio,
    sessions,
    turn,
)
from ballsy.testing.procstat import ProcessSample, sample
from ballsy.testing.voice_client import VoiceClient

SCHEMA = "ballsy.capacity/1"
SKILL_COMMANDS = ("what is 12 times 7", "what is 15 percent of 80", "what time is it")
_METRIC = re.compile(r"^(?P<name>[a-z_]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$")


@dataclass(frozen=True, slots=True)
class BenchConfig:
    idle: int = 100
    listening: int = 10
    talking: int = 2
    seconds: float = 20.0
    requests: int = 200
    llm_requests: int = 4
    warmup: bool = True


# --- phases ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Window:
    before: ProcessSample
    after: ProcessSample

    @property
    def seconds(self) -> float:
        return self.after.at - self.before.at

    @property
    def vcpus(self) -> float:
        return self.after.vcpus_since(self.before)


async def _window(pid: int, seconds: float) -> _Window:
    before = sample(pid)
    await asyncio.sleep(seconds)
    return _Window(before, sample(pid))


def _settle(config: BenchConfig) -> float:
    return min(2.0, config.seconds / 2)


async def _idle_phase(url: str, pid: int, config: BenchConfig, base: _Window) -> dict[str, Any]:
    closed = sample(pid)
    async with sessions(url, config.idle, "idle") as clients:
        await asyncio.sleep(_settle(config))
        window = await _window(pid, config.seconds)
        still_open = sum(not client.closed.is_set() for client in clients)
    return _per_session(config.idle, window, base, closed) | {"still_open": still_open}


async def _listening_phase(
    url: str, pid: int, config: BenchConfig, base: _Window
) -> dict[str, Any]:
    stop = asyncio.Event()
    closed = sample(pid)
    async with sessions(url, config.listening, "listening") as clients:
        mics = [
            asyncio.create_task(microphone(client, noise(250, index), stop))
            for index, client in enumerate(clients)
        ]
        await asyncio.sleep(_settle(config))
        window = await _window(pid, config.seconds)
        stop.set()
        await asyncio.gather(*mics)
    return _per_session(config.listening, window, base, closed)


def _per_session(
    count: int, window: _Window, base: _Window, closed: ProcessSample
) -> dict[str, Any]:
    """Marginal vCPU (over the base load) and memory (over no sessions) per session."""
    rss_delta = max(0, window.after.rss_bytes - closed.rss_bytes)
    return {
        "sessions": count,
        "seconds": round(window.seconds, 2),
        "server_vcpu": round(window.vcpus, 4),
        "vcpu_per_session": round(max(0.0, window.vcpus - base.vcpus) / count, 6),
        "rss_kb_per_session": round(rss_delta / 1024 / count, 1),
    }


async def _talking_phase(
    url: str,
    pid: int,
    config: BenchConfig,
    questions: list[bytes],
    base: _Window,
    listening_vcpu: float,
) -> dict[str, Any]:
    mic = noise(250, 99)
    latencies: list[float] = []

    async def converse(client: VoiceClient, offset: int, until: float) -> int:
        turns = 0
        while time.monotonic() < until or turns == 0:
            latency = await turn(client, questions[(offset + turns) % len(questions)], mic)
            turns += 1
            if latency is not None:
                latencies.append(latency)
        return turns

    closed = sample(pid)
    async with (
        httpx.AsyncClient(base_url=url, timeout=30) as http,
        sessions(url, config.talking, "talking") as clients,
    ):
        before_metrics = await _metrics(http)
        before = sample(pid)
        until = time.monotonic() + config.seconds
        turns = sum(
            await asyncio.gather(
                *(converse(client, index, until) for index, client in enumerate(clients))
            )
        )
        after = sample(pid)
        after_metrics = await _metrics(http)
    window = _Window(before, after)
    # CPU the base load and the open microphones explain is not the turns' own.
    explained = (base.vcpus + listening_vcpu * config.talking) * window.seconds
    used = after.cpu_seconds - before.cpu_seconds
    llm_requests = _delta(before_metrics, after_metrics, "ballsy_llm_requests_total", "ok")
    rss_delta = max(0, after.rss_bytes - closed.rss_bytes)
    return {
        "sessions": config.talking,
        "seconds": round(window.seconds, 2),
        "turns": turns,
        "server_vcpu": round(window.vcpus, 4),
        "cpu_s_per_turn": round(max(0.0, used - explained) / max(1, turns), 4),
        "rss_kb_per_session": round(rss_delta / 1024 / config.talking, 1),
        "turn_latency_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "turn_latency_max_ms": round(max(latencies), 1) if latencies else None,
        "llm_requests": llm_requests,
        **_tokens_per_request(before_metrics, after_metrics, llm_requests),
    }


async def _rest_phase(url: str, pid: int, config: BenchConfig, base: _Window) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:

        async def call(index: int) -> None:
            user = f"rest-{index % 20}"
            kind = index % 3
            if kind == 0:
                text = SKILL_COMMANDS[index % len(SKILL_COMMANDS)]
                response = await http.post("/api/command", json={"text": text, "client_id": user})
            elif kind == 1:
                response = await http.get("/api/history", params={"client_id": user})
            else:
                response = await http.get("/api/settings", params={"client_id": user})
            response.raise_for_status()

        rest = await _cpu_of(pid, [call(i) for i in range(config.requests)], 4, base)

        async def ask(index: int) -> None:
            text = QUESTIONS[index % len(QUESTIONS)]
            body = {"text": text, "client_id": f"llm-{index}"}
            (await http.post("/api/command", json=body)).raise_for_status()

        llm = await _cpu_of(pid, [ask(i) for i in range(config.llm_requests)], 1, base)
    per_request = rest / max(1, config.requests)
    return {
        "requests": config.requests,
        "cpu_ms_per_request": round(per_request * 1000, 3),
        "llm_requests": config.llm_requests,
        # A command answered by the LLM, less what any command costs: the reply itself.
        "llm_cpu_s_per_reply": round(max(0.0, llm / max(1, config.llm_requests) - per_request), 4),
    }


async def _cpu_of(
    pid: int, calls: list[Coroutine[Any, Any, None]], concurrency: int, base: _Window
) -> float:
    """Run ``calls``, ``concurrency`` at a time: the server CPU seconds they added."""
    gate = asyncio.Semaphore(concurrency)

    async def gated(call: Coroutine[Any, Any, None]) -> None:
        async with gate:
            await call

    before = sample(pid)
    await asyncio.gather(*(gated(call) for call in calls))
    window = _Window(before, sample(pid))
    used = window.after.cpu_seconds - window.before.cpu_seconds
    return max(0.0, used - base.vcpus * window.seconds)


async def _metrics(http: httpx.AsyncClient) -> dict[tuple[str, str], float]:
    """``/metrics`` as {(name, labels): value}."""
    response = await http.get("/metrics")
    response.raise_for_status()
    values: dict[tuple[str, str], float] = {}
    for line in response.text.splitlines():
        match = _METRIC.match(line)
        if match:
            values[(match["name"], match["labels"] or "")] = float(match["value"])
    return values


def _delta(
    before: dict[tuple[str, str], float],
    after: dict[tuple[str, str], float],
    name: str,
    label: str,
) -> float:
    total = 0.0
    for (metric, labels), value in after.items():
        if metric == name and f'"{label}"' in labels:
            total += value - before.get((metric, labels), 0.0)
    return total


def _tokens_per_request(
    before: dict[tuple[str, str], float], after: dict[tuple[str, str], float], requests: float
) -> dict[str, float | None]:
    if requests <= 0:
        return {"llm_tokens_in_per_request": None, "llm_tokens_out_per_request": None}
    tokens_in = _delta(before, after, "ballsy_llm_tokens_total", "in")
    tokens_out = _delta(before, after, "ballsy_llm_tokens_total", "out")
    return {
        "llm_tokens_in_per_request": round(tokens_in / requests, 1),
        "llm_tokens_out_per_request": round(tokens_out / requests, 1),
    }


# --- the whole run -----------------------------------------------------------------


async def _measure(url: str, pid: int, config: BenchConfig) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        questions = await question_audio(http)
    if config.warmup:  # the first turn of a process pays one-time costs (caches, JIT)
        async with sessions(url, 1, "warmup") as (client,):
            await turn(client, questions[0], noise(50, 7))
    base = await _window(pid, max(1.0, config.seconds / 2))
    results: dict[str, Any] = {
        "server": {
            "base_vcpu": round(base.vcpus, 4),
            "base_rss_mb": round(base.after.rss_bytes / 2**20, 1),
        }
    }
    results["idle"] = await _idle_phase(url, pid, config, base)
    results["listening"] = await _listening_phase(url, pid, config, base)
    listening_vcpu = results["listening"]["vcpu_per_session"]
    results["talking"] = await _talking_phase(url, pid, config, questions, base, listening_vcpu)
    results["rest"] = await _rest_phase(url, pid, config, base)
    results["server"]["peak_rss_mb"] = round(_peak_rss_mb(pid), 1)
    return results


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        # Other work on the machine slows turns (fewer of them) but not the CPU seconds
        # the server itself spends, which is what the figures count.
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def run_capacity_bench(
    config: BenchConfig, output: Path, *, environment: Mapping[str, str]
) -> dict[str, Any]:
    """Run every phase against a fresh server; write and return the figures.

    ``environment`` is what the server process inherits (see :func:`bench_server`)."""
    max_sessions = config.idle + config.listening + config.talking + 50
    with (
        tempfile.TemporaryDirectory(prefix="ballsy-capacity-") as scratch,
        bench_server(Path(scratch), max_sessions, environment=environment) as (url, pid),
    ):
        measured = asyncio.run(_measure(url, pid, config))
    report = {
        "schema": SCHEMA,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "ballsy_version": __version__,
        "machine": _machine(),
        "config": asdict(config) | {"llm_provider": "local", "server_role": "all"},
        **measured,
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report
