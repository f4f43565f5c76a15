"""Fairness: does one user's flood of requests delay another user's first audio?

Starts a real ``ballsy serve`` (embedded models, warm; with ``--baseline-src`` a second
one running another checkout's code, for the same run's comparison) and, round after
round, times a *victim's* spoken turn on ``/ws/voice`` twice: once with the server
otherwise idle, and once while a *flooder* — another user — keeps ``--flood`` streamed
``/v1/chat/completions`` requests for long stories in progress (each one re-issued as
soon as it ends). The questions go to the LLM (no skill answers them), in espeak-ng
voices other than Ballsy's own, played at real time and followed by live silence paced
at real time; latency runs from the true end of speech to the first reply audio byte.

Per server: p50/p95 alone and under flood, and their ratio (target, issue 14: the
flood delays the victim's first audio by no more than 30 %, i.e. p50 ratio ≤ 1.3), the
victim's stage timings in both conditions (which stage the flood slows), and the flood's
throughput (tokens/s), which shows the flood was really served meanwhile.

    .venv/bin/python -m benchmarks.fairness [--rounds 8] [--flood 6]
        [--baseline-src /path/to/older/checkout/src]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from ballsy.testing.voice_client import VoiceClient
from benchmarks._common import ballsy_server, save
from benchmarks._conversation import spoken_turn, stage_percentiles, summarize
from benchmarks._voices import Utterance, questions

STORY = "Tell me a long story about a dragon who learns to bake bread, with many details."


class Flood:
    """``width`` streamed chat completions in progress at all times, for one user."""

    def __init__(self, url: str, width: int) -> None:
        self.url, self.width = url, width
        self.tokens = 0
        self.errors = 0
        self._tasks: list[asyncio.Task[None]] = []
        self._started = 0.0
        self._seconds = 0.0
        self._under_way = asyncio.Event()

    async def __aenter__(self) -> Flood:
        self._client = httpx.AsyncClient(base_url=self.url, timeout=120)
        self._started = time.perf_counter()
        self._tasks = [asyncio.create_task(self._keep_asking(n)) for n in range(self.width)]
        # Until the requests are past their prompts: the flood is under way.
        await asyncio.wait_for(self._under_way.wait(), 120)
        return self

    async def __aexit__(self, *_: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._client.aclose()
        self._seconds += time.perf_counter() - self._started

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self._seconds if self._seconds else 0.0

    async def _keep_asking(self, n: int) -> None:
        body = {
            "model": "local",
            "stream": True,
            "max_tokens": 400,
            "messages": [{"role": "user", "content": f"{STORY} (story {n})"}],
        }
        while True:
            try:
                async with self._client.stream(
                    "POST", "/v1/chat/completions", json=body, headers={"x-client-id": "flooder"}
                ) as response:
                    if response.status_code != 200:
                        self.errors += 1
                        await response.aread()
                        await asyncio.sleep(0.5)
                        continue
                    async for line in response.aiter_lines():
                        if line.startswith("data: {") and '"content"' in line:
                            self.tokens += 1
                            if self.tokens >= 4 * self.width:
                                self._under_way.set()
            except httpx.HTTPError:
                self.errors += 1
                await asyncio.sleep(0.5)


async def victim_turn(url: str, item: Utterance, index: int) -> dict[str, Any]:
    async with VoiceClient.connect(url, "victim", max_size=2**22) as client:
        await client.wait_for("ready")
        return await spoken_turn(client, item, index)


async def measure(url: str, items: list[Utterance], flood_width: int) -> dict[str, Any]:
    alone: list[dict[str, Any]] = []
    flooded: list[dict[str, Any]] = []
    throughput: list[float] = []
    errors = 0
    for index, item in enumerate(items):
        # Which condition goes first alternates, so drift hits both alike.
        order = ("alone", "flood") if index % 2 == 0 else ("flood", "alone")
        for condition in order:
            if condition == "alone":
                alone.append(await victim_turn(url, item, index))
                continue
            async with Flood(url, flood_width) as flood:
                flooded.append(await victim_turn(url, item, index))
            throughput.append(flood.tokens_per_s)
            errors += flood.errors
        shown = [t.get("latency_ms", t.get("error")) for t in (alone[-1], flooded[-1])]
        print(f"  {item.label[:56]:56} alone {shown[0]} ms  flooded {shown[1]} ms")
    quiet = summarize([t["latency_ms"] for t in alone if "latency_ms" in t])
    loud = summarize([t["latency_ms"] for t in flooded if "latency_ms" in t])
    ratio = round(loud["p50_ms"] / quiet["p50_ms"], 3) if quiet.get("n") and loud.get("n") else None
    return {
        "alone": quiet,
        "flooded": loud,
        "p50_ratio": ratio,
        "p95_ratio": (round(loud["p95_ms"] / quiet["p95_ms"], 3) if ratio is not None else None),
        "stages_alone": stage_percentiles([t for t in alone if "stages" in t]),
        "stages_flooded": stage_percentiles([t for t in flooded if "stages" in t]),
        "flood_tokens_per_s": round(statistics.median(throughput), 1) if throughput else 0.0,
        "flood_errors": errors,
        "turns": {"alone": alone, "flooded": flooded},
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    items = [item for item in questions(args.rounds * 4) if item.path == "llm"][: args.rounds]
    env = {
        "MAX_REQUESTS_PER_MINUTE": "100000",
        "WS_TURNS_PER_MINUTE": "100000",
        "MAX_SESSIONS_PER_USER": "100",
    }
    results: dict[str, Any] = {"rounds": len(items), "flood_width": args.flood, "servers": {}}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        servers = {"current": env}
        if args.baseline_src:
            servers["baseline"] = {**env, "PYTHONPATH": args.baseline_src}
        urls = {
            name: stack.enter_context(ballsy_server(Path(tmp) / name, **server_env))[0]
            for name, server_env in servers.items()
        }
        for url in urls.values():  # warm: models loaded, first turn paid
            await victim_turn(url, items[0], -1)
        for name, url in urls.items():
            print(f"{name}:")
            results["servers"][name] = await measure(url, items, args.flood)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8, help="victim turns per condition")
    parser.add_argument("--flood", type=int, default=6, help="flooder's requests in progress")
    parser.add_argument("--baseline-src", default=None, help="another checkout's src/ to compare")
    args = parser.parse_args()
    if args.baseline_src:
        args.baseline_src = str(Path(args.baseline_src).resolve())
    results = asyncio.run(run(args))
    summary = {
        name: {k: v for k, v in figures.items() if k != "turns"}
        for name, figures in results["servers"].items()
    }
    print(json.dumps(summary, indent=2))
    save("fairness", results)


if __name__ == "__main__":
    main()
