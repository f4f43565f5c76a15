"""Voice latency: true end of speech → first reply audio byte, over the native WebSocket.

Starts one real ``ballsy serve`` per turn-detection mode (embedded models, warm) and
plays the same spoken questions into each ``/ws/voice`` at real time like a microphone
— espeak-ng voices of several accents and the shared real recording, never Ballsy's
own voice — followed by live silence paced at real time until the reply's first audio
arrives; the modes take turns question by question, so they share the machine's noise.
Latency runs from the true end of speech to the first audio frame received. Per mode:
p50/p95 overall and for the skill and LLM paths, hesitations (a 600–800 ms pause
mid-sentence) and how often they were cut off, word error rate of the transcripts,
the typed stage timings, speculative-reply hit rate and wasted seconds, CPU-s per
turn. Also N concurrent talking sessions (each a user of its own: p50/p95/max, CPU-s
per turn, and the largest N whose p95 stays under 1.5 s) and idle connections.
Results: JSON + PNG.

    .venv/bin/python -m benchmarks.voice_latency [--turns 40] [--hesitations 10]
        [--modes semantic,fixed] [--sessions 1,2,5,10,20] [--idle 1000]
        [--baseline-src /path/to/older/checkout/src]

``--baseline-src`` adds a server running another checkout's ``src`` (same venv), so a
change is compared with the code before it in one run on one (noisy) machine.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ballsy.speech.audio import float_to_pcm16
from ballsy.testing.voice_client import VoiceClient
from benchmarks._common import (
    RESULTS,
    ballsy_server,
    peak_rss_mb,
    save,
)
from benchmarks._conversation import cpu_seconds, report, speculation_counts, spoken_turn, summarize
from benchmarks._voices import Utterance, hesitations, questions, trim


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def one_turn(client: VoiceClient, audio: np.ndarray, turn: int) -> dict[str, Any]:
    """Speak, keep the microphone open with silence, time the first reply audio.

    Only audio of a turn that started after this question did counts, and only audio
    that arrives after the speech ended: if a pause split the question into two turns,
    the reply to the first half is barged in on and the second half's reply is timed."""
    pcm = float_to_pcm16(trim(audio)).astype("<i2").tobytes()
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
    for mode, figures in results["modes"].items():
        values = [t["latency_ms"] for t in figures["turns"] if "latency_ms" in t]
        left.hist(values, bins=20, alpha=0.5, label=mode)
    left.axvline(450, color="green", linestyle="--", label="p50 target")
    left.axvline(800, color="red", linestyle="--", label="p95 target")
    left.set(title="End of speech → first audio (1 session)", xlabel="ms", ylabel="turns")
    left.legend()
    sessions = results["concurrency"]
    xs = [int(n) for n in sessions]
    right.plot(xs, [sessions[n].get("p50_ms", 0) for n in sessions], "o-", label="p50")
    right.plot(xs, [sessions[n].get("p95_ms", 0) for n in sessions], "o-", label="p95")
    right.set(title="Latency vs concurrent talking sessions", xlabel="sessions", ylabel="ms")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


async def concurrency(
    url: str, pid: int, audio: list[np.ndarray], sessions: list[int]
) -> dict[str, dict[str, Any]]:
    """N users talking at once (3 questions each): latency, CPU-s per answered turn."""
    out: dict[str, dict[str, Any]] = {}
    for n in sessions:
        cpu_at = cpu_seconds(pid)
        per_session = await asyncio.gather(
            *(talk(url, f"c{n}-{i}", audio[i % 3 :: 3][:3]) for i in range(n))
        )
        flat = [t["latency_ms"] for s in per_session for t in s if "latency_ms" in t]
        out[str(n)] = {
            **summarize(flat),
            "unanswered": sum(len(s) for s in per_session) - len(flat),
            "cpu_s_per_turn": round((cpu_seconds(pid) - cpu_at) / max(1, len(flat)), 3),
        }
        print(f"{n} sessions: {out[str(n)]}")
    return out


def largest_under(figures: dict[str, dict[str, Any]], p95_ms: float) -> int:
    """The most sessions whose every turn was answered with p95 under ``p95_ms``."""
    return max(
        (
            int(n)
            for n, f in figures.items()
            if f.get("n") and f["p95_ms"] < p95_ms and not f["unanswered"]
        ),
        default=0,
    )


async def conversation(
    urls: dict[str, tuple[str, int]], items: list[Utterance]
) -> dict[str, list[dict[str, Any]]]:
    """Every item once per mode, the modes taking turns item by item (same noise)."""
    turns: dict[str, list[dict[str, Any]]] = {mode: [] for mode in urls}
    clients = {}
    async with contextlib.AsyncExitStack() as stack:
        for mode, (url, _) in urls.items():
            client = await stack.enter_async_context(
                VoiceClient.connect(url, f"talker-{mode}", max_size=2**22)
            )
            await client.wait_for("ready")
            clients[mode] = client
        for index, item in enumerate(items):
            for mode, client in clients.items():
                turn = await spoken_turn(client, item, index)
                turns[mode].append(turn)
                shown = turn.get("latency_ms", turn.get("error"))
                print(f"  {mode:8} {item.label[:60]:60} {shown} ms  heard: {turn.get('heard')!r}")
    return turns


async def run(args: argparse.Namespace) -> dict[str, Any]:
    items = questions(args.turns) + hesitations(args.hesitations)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        env = {
            "MAX_CONCURRENT_SESSIONS": str(args.idle + 100),
            "MAX_SESSIONS_PER_USER": str(args.idle + 100),
            "MAX_REQUESTS_PER_MINUTE": "100000",
            "WS_TURNS_PER_MINUTE": "100000",
            "WS_MESSAGES_PER_MINUTE": "10000000",
        }
        urls: dict[str, tuple[str, int]] = {}
        for mode in args.modes:
            mode_env = {**env, "REALTIME_TURN_DETECTION": mode}
            if mode == "baseline":  # another checkout's code, its own defaults
                mode_env = {**env, "PYTHONPATH": args.baseline_src}
            url, process = stack.enter_context(
                ballsy_server(Path(tmp) / f"data-{mode}", **mode_env)
            )
            urls[mode] = (url, process.pid)
        warm = questions(2)
        await conversation(urls, warm)
        cpu_before = {mode: cpu_seconds(pid) for mode, (_, pid) in urls.items()}
        turns = await conversation(urls, items)
        results: dict[str, Any] = {"modes": {}, "concurrency": {}}
        for mode, (url, pid) in urls.items():
            count = max(1, len(turns[mode]))
            results["modes"][mode] = {
                **report(turns[mode]),
                "cpu_s_per_turn": round((cpu_seconds(pid) - cpu_before[mode]) / count, 3),
                "speculation": speculation_counts(url) if mode != "baseline" else None,
                "turns": turns[mode],
            }
        first_url, first_pid = next(iter(urls.values()))
        audio = [item.audio for item in items if item.pause_at_s is None]
        results["concurrency"] = await concurrency(first_url, first_pid, audio, args.sessions)
        results["largest_sessions_p95_under_1_5_s"] = largest_under(results["concurrency"], 1500)
        if "baseline" in urls:  # the older code under the same load, in the same run
            url, pid = urls["baseline"]
            results["baseline_concurrency"] = await concurrency(url, pid, audio, args.sessions)
        if args.idle:
            results["idle"] = await idle_load(first_url, first_pid, args.idle)
        results["server_peak_rss_mb"] = round(peak_rss_mb(first_pid), 1)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=40, help="questions per mode")
    parser.add_argument("--hesitations", type=int, default=10)
    parser.add_argument(
        "--modes", default="semantic,fixed", help="turn detection per server: semantic, fixed"
    )
    parser.add_argument("--sessions", default="1,2,5,10,20")
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--baseline-src", default=None, help="another checkout's src/ to compare")
    args = parser.parse_args()
    args.sessions = [int(n) for n in args.sessions.split(",") if n]
    args.modes = [m for m in args.modes.split(",") if m]
    if args.baseline_src:
        args.baseline_src = str(Path(args.baseline_src).resolve())
        args.modes.append("baseline")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    results = asyncio.run(run(args))
    summary = {
        mode: {k: v for k, v in figures.items() if k != "turns"}
        for mode, figures in results["modes"].items()
    }
    print(
        json.dumps(
            {
                "modes": summary,
                "concurrency": results["concurrency"],
                "largest_sessions_p95_under_1_5_s": results["largest_sessions_p95_under_1_5_s"],
                "baseline_concurrency": results.get("baseline_concurrency"),
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
