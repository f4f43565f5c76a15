"""Voice latency: true end of speech → first reply audio byte, over the native WebSocket.

Starts a real ``ballsy serve`` (embedded models, warm), then plays spoken questions
into ``/ws/voice`` at real time like a microphone — fixture recordings and questions
synthesized with Piper — followed by live silence until the reply's first audio
arrives. Latency is measured from the true end of speech in the audio (the last
sample above the noise floor) to the first audio frame received. Also: N concurrent
talking sessions (p95 for each N) and 1000 idle connections with keepalive (server
RSS per connection, ping round trip under that load). Results: JSON + a PNG plot.

    .venv/bin/python -m benchmarks.voice_latency [--turns 30] [--sessions 1,5,10] [--idle 1000]
        [--baseline-src /path/to/older/checkout/src]

``--baseline-src`` also starts a server from another checkout's ``src`` (same venv) and
alternates rounds of single-session questions between the two, so the comparison is
made in one run on one (noisy) machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ballsy.realtime.client import VoiceClient
from ballsy.speech.audio import decode_audio, float_to_pcm16
from benchmarks._common import (
    FIXTURES,
    RESULTS,
    ballsy_server,
    peak_rss_mb,
    save,
)

RATE = 16_000
QUESTIONS = [
    "What is twelve times seven?",
    "What time is it?",
    "Play some relaxing jazz on Spotify.",
    "Tell me a joke.",
    "What is the capital of France?",
    "How do I get to the nearest pharmacy?",
    "What is fifteen percent of eighty?",
    "Give me a tip for sleeping better.",
]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def speech_end_s(samples: np.ndarray) -> float:
    """Where speech really ends: the last 10 ms frame above the noise floor."""
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    energy = np.sqrt((frames**2).mean(axis=1))
    loud = np.nonzero(energy > max(0.01, energy.max() * 0.05))[0]
    return float((loud[-1] + 1) * 160 / RATE) if len(loud) else 0.0


def utterances(tmp: Path) -> list[tuple[str, np.ndarray]]:
    """(label, 16 kHz float32 audio) for each question: recordings and Piper speech."""
    items = [("english.wav", decode_audio(FIXTURES / "english.wav").samples)]
    for index, text in enumerate(QUESTIONS):
        out = tmp / f"q{index}.wav"
        subprocess.run(
            [sys.executable, "-m", "ballsy.cli", "say", text, "-o", str(out), "--engine", "piper"],
            check=True,
            capture_output=True,
        )
        items.append((text, decode_audio(out).samples))
    return items


async def one_turn(client: VoiceClient, audio: np.ndarray, turn: int) -> dict[str, Any]:
    """Speak, keep the microphone open with silence, time the first reply audio.

    Only audio of a turn that started after this question did counts, and only audio
    that arrives after the speech ended: if a pause split the question into two turns,
    the reply to the first half is barged in on and the second half's reply is timed."""
    end = speech_end_s(audio)
    pcm = float_to_pcm16(audio[: int(end * RATE)]).astype("<i2").tobytes()
    old_turns = {turn_id for _, _, turn_id in client.audio}
    started = time.perf_counter()
    spoke_until = await client.stream(pcm)
    silence = bytes(640)  # 20 ms frames of silence while waiting, as a live mic sends

    def reply_audio() -> tuple[float, str] | None:
        for at, _, turn_id in client.audio:
            if turn_id and turn_id not in old_turns and at > spoke_until:
                return at, turn_id
        return None

    while (first := reply_audio()) is None and time.perf_counter() - started < 30:
        await client.ws.send(silence)
        await asyncio.sleep(0.02)
    if first is None:
        return {"turn": turn, "error": "no reply audio"}
    first_audio, turn_id = first
    done = await client.wait_for("reply_done", within=60, turn_id=turn_id)
    timings = (await client.wait_for("turn", within=10, turn_id=turn_id)).message
    # Let the reply play out before the next question (a polite user).
    await asyncio.sleep(1.0)
    return {
        "turn": turn,
        "latency_ms": round((first_audio - spoke_until) * 1000, 1),
        "stages": timings["timings"],
        "handled_by": done.message.get("handled_by"),
    }


async def talk(url: str, name: str, questions: list[np.ndarray]) -> list[dict[str, Any]]:
    async with VoiceClient.connect(url, name, max_size=2**22) as client:
        await client.wait_for("ready")
        return [await one_turn(client, audio, i) for i, audio in enumerate(questions)]


def summarize(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]  # noqa: E731
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(pick(0.95), 1),
        "max_ms": round(ordered[-1], 1),
    }


def stage_medians(turns: list[dict[str, Any]]) -> dict[str, float]:
    keys = (
        "eot_wait_ms",
        "transcript_wait_ms",
        "transcription_ms",
        "skills_ms",
        "llm_first_token_ms",
        "first_audio_ms",
        "end_to_end_ms",
    )
    out = {}
    for key in keys:
        values = [t["stages"][key] for t in turns if key in t.get("stages", {})]
        if values:
            out[key] = round(statistics.median(values), 1)
    return out


async def idle_load(url: str, pid: int, count: int) -> dict[str, Any]:
    """Open ``count`` idle sockets; measure server RSS per socket and ping RTT meanwhile."""
    base_rss = rss_mb(pid)
    clients, stacks = [], []
    for i in range(count):
        manager = VoiceClient.connect(url, f"idle-{i}")
        clients.append(await manager.__aenter__())
        stacks.append(manager)
    for client in clients:
        await client.wait_for("ready")
    await asyncio.sleep(2)
    loaded_rss = rss_mb(pid)
    rtts = []
    async with VoiceClient.connect(url, "pinger") as pinger:
        await pinger.wait_for("ready")
        for n in range(50):
            start = time.perf_counter()
            await pinger.send({"type": "ping", "ts": n})
            await pinger.wait_for("pong", count=n + 1)
            rtts.append((time.perf_counter() - start) * 1000)
            await asyncio.sleep(0.05)
    alive = sum(1 for c in clients if not c.closed.is_set())
    for manager in stacks:
        await manager.__aexit__(None, None, None)
    return {
        "connections": count,
        "still_open": alive,
        "server_rss_before_mb": round(base_rss, 1),
        "server_rss_with_idle_mb": round(loaded_rss, 1),
        "rss_per_connection_kb": round((loaded_rss - base_rss) * 1024 / count, 1),
        "ping_rtt_p50_ms": round(statistics.median(rtts), 2),
        "ping_rtt_p95_ms": round(sorted(rtts)[int(0.95 * (len(rtts) - 1))], 2),
    }


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    single = [t["latency_ms"] for t in results["single"]["turns"] if "latency_ms" in t]
    left.hist(single, bins=20, color="#3b7dd8")
    left.axvline(600, color="green", linestyle="--", label="p50 target")
    left.axvline(900, color="red", linestyle="--", label="p95 target")
    left.set(title="End of speech → first audio (1 session)", xlabel="ms", ylabel="turns")
    left.legend()
    sessions = results["concurrency"]
    xs = [int(n) for n in sessions]
    right.plot(xs, [sessions[n]["p50_ms"] for n in sessions], "o-", label="p50")
    right.plot(xs, [sessions[n]["p95_ms"] for n in sessions], "o-", label="p95")
    right.set(title="Latency vs concurrent talking sessions", xlabel="sessions", ylabel="ms")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        audio = [a for _, a in utterances(Path(tmp))]
        env = {
            "MAX_CONCURRENT_SESSIONS": str(args.idle + 100),
            "MAX_REQUESTS_PER_MINUTE": "100000",
            "WS_TURNS_PER_MINUTE": "100000",
            "WS_MESSAGES_PER_MINUTE": "10000000",
        }
        with contextlib.ExitStack() as stack:
            url, process = stack.enter_context(ballsy_server(Path(tmp) / "data", **env))
            baseline_url = None
            if args.baseline_src:
                baseline_env = {**env, "PYTHONPATH": args.baseline_src}
                baseline_url, _ = stack.enter_context(
                    ballsy_server(Path(tmp) / "baseline-data", **baseline_env)
                )
                await talk(baseline_url, "warmup", audio[:2])
            await talk(url, "warmup", audio[:2])
            turns: list[dict[str, Any]] = []
            baseline_turns: list[dict[str, Any]] = []
            while len(turns) < args.turns:
                turns += await talk(url, f"single-{len(turns)}", audio)
                if baseline_url is not None:
                    baseline_turns += await talk(baseline_url, f"single-{len(turns)}", audio)
            turns = turns[: args.turns]
            single = [t["latency_ms"] for t in turns if "latency_ms" in t]
            results: dict[str, Any] = {
                "single": {**summarize(single), "stages_p50": stage_medians(turns), "turns": turns},
                "concurrency": {},
            }
            if baseline_url is not None:
                baseline_turns = baseline_turns[: args.turns]
                base = [t["latency_ms"] for t in baseline_turns if "latency_ms" in t]
                results["baseline"] = {
                    "src": str(args.baseline_src),
                    **summarize(base),
                    "turns": baseline_turns,
                }
                results["single_vs_baseline"] = {
                    "p50_ratio": round(
                        results["single"]["p50_ms"] / results["baseline"]["p50_ms"], 3
                    ),
                    "p95_ratio": round(
                        results["single"]["p95_ms"] / results["baseline"]["p95_ms"], 3
                    ),
                }
                print(f"single session vs baseline: {results['single_vs_baseline']}")
            for n in args.sessions:
                per_session = await asyncio.gather(
                    *(talk(url, f"c{n}-{i}", audio[i % 3 :: 3][:3]) for i in range(n))
                )
                flat = [t["latency_ms"] for s in per_session for t in s if "latency_ms" in t]
                results["concurrency"][str(n)] = summarize(flat)
                print(f"{n} sessions: {results['concurrency'][str(n)]}")
            if args.idle:
                results["idle"] = await idle_load(url, process.pid, args.idle)
            results["server_peak_rss_mb"] = round(peak_rss_mb(process.pid), 1)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--sessions", default="1,5,10")
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--baseline-src", default=None, help="another checkout's src/ to compare")
    args = parser.parse_args()
    args.sessions = [int(n) for n in args.sessions.split(",") if n]
    if args.baseline_src:
        args.baseline_src = str(Path(args.baseline_src).resolve())
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    results = asyncio.run(run(args))
    summary = {k: v for k, v in results["single"].items() if k != "turns"}
    print(
        json.dumps(
            {
                "single": summary,
                "baseline": {k: v for k, v in results.get("baseline", {}).items() if k != "turns"},
                "concurrency": results["concurrency"],
                "idle": results.get("idle"),
            },
            indent=2,
        )
    )
    save("voice_latency", results)
    plot(results, RESULTS / "voice_latency.png")
    print(f"plot written to {(RESULTS / 'voice_latency.png').relative_to(RESULTS.parents[1])}")


if __name__ == "__main__":
    main()
