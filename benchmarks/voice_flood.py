"""Voice under flood: one socket sends audio faster than real time; does anyone else notice?

Starts a real ``ballsy serve`` (embedded models, warm) and measures in one run, first
with no flood and then while a flooder runs:

- ``/health`` latency p50/p95 (a probe every 50 ms, on a thread of its own);
- another user's spoken turn on ``/ws/voice``: from the true end of speech (the last
  sample above the noise floor) to the first reply audio byte received. The speech is
  espeak-ng's (a voice other than Ballsy's own; the JFK recording when espeak-ng is not
  installed), sent at real time and followed by live silence paced at real time;
- a third user's typed turn on ``/v1/realtime`` (text only: item + ``response.create``
  → ``response.done``).

The flooder is a process of its own (so it does not share this one's event loop): it
opens ``/ws/voice`` at 8 kHz and sends 2-s frames of noise as fast as the socket takes
them, reconnecting whenever the server closes it, for ``--flood-seconds``; it reports
the audio it pushed and how each connection ended. Each round floods once. Targets
(issue 12): ``/health`` p95 under 50 ms under flood; the spoken turn's first audio within
1.5x its idle value.

    .venv/bin/python -m benchmarks.voice_flood [--rounds 5] [--flood-seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import websockets
from prometheus_client.parser import text_string_to_metric_families

from ballsy.speech.audio import decode_audio, float_to_pcm16
from ballsy.testing.voice_client import VoiceClient
from benchmarks._common import FIXTURES, RATE, ballsy_server, peak_rss_mb, save
from benchmarks._conversation import summarize
from benchmarks._hostile import FLOOD_RATE, FRAME_SECONDS, HealthProbe, flood
from benchmarks._voices import espeak, have_espeak, trim

QUESTIONS = ["What is twelve plus seven?", "What is eight plus five?", "What is ten times three?"]
TYPED = "what is twelve plus seven"
HEALTH_P95_TARGET_MS = 50.0
FIRST_AUDIO_RATIO_TARGET = 1.5


# --- speech ----------------------------------------------------------------------------


def questions(tmp: Path) -> tuple[str, list[bytes]]:
    """(source, 16 kHz PCM16 of each spoken question, trimmed to the speech)."""
    if have_espeak():
        # Slow and with gaps between words: the default tiny.en model then hears the numbers.
        clips = [espeak(text, "en-us", tmp, speed=130, gap=4) for text in QUESTIONS]
    else:
        clips = [trim(decode_audio(FIXTURES / "jfk.flac", sample_rate=RATE).samples)]
    pcm = [float_to_pcm16(samples).astype("<i2").tobytes() for samples in clips]
    return ("espeak-ng" if have_espeak() else "jfk.flac"), pcm


async def spoken_turn(client: VoiceClient, pcm: bytes) -> dict[str, Any]:
    """Speak at real time, then live silence until the reply is done; first-audio latency."""
    old = {turn_id for _, _, turn_id in client.audio}
    spoke_until = await client.stream(pcm)

    def first() -> tuple[float, str] | None:
        return next(
            ((at, t) for at, _, t in client.audio if t and t not in old and at > spoke_until),
            None,
        )

    found = await live_silence(client, first, within=30)
    if found is None:
        return {"error": "no reply audio"}
    at, turn_id = found

    def done() -> bool:
        return any(m.get("turn_id") == turn_id for m in client.messages("reply_done"))

    await live_silence(client, done, within=60)
    heard = [m["text"] for m in client.messages("transcript") if m.get("turn_id") == turn_id]
    reply = next(m for m in client.messages("reply_done") if m.get("turn_id") == turn_id)
    return {
        "first_audio_ms": round((at - spoke_until) * 1000, 1),
        "heard": heard[-1] if heard else None,
        "handled_by": reply.get("handled_by"),
        "at": at,
    }


async def live_silence(client: VoiceClient, until: Any, within: float) -> Any:
    """20 ms frames of silence at real time, as a live microphone sends, until ``until()``."""
    start = time.perf_counter()
    frame, sent = bytes(RATE // 50 * 2), 0
    while not (result := until()) and time.perf_counter() - start < within:
        if client.closed.is_set():
            return None
        await client.ws.send(frame)
        sent += 1
        await asyncio.sleep(max(0.0, start + sent * 0.02 - time.perf_counter()))
    return result


async def typed_turn(ws: Any) -> dict[str, Any]:
    """One text-only ``/v1/realtime`` turn: item + ``response.create`` → ``response.done``."""
    item = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": TYPED}]}
    started = time.perf_counter()
    await ws.send(json.dumps({"type": "conversation.item.create", "item": item}))
    response = {"output_modalities": ["text"]}
    await ws.send(json.dumps({"type": "response.create", "response": response}))
    try:
        async with asyncio.timeout(60):
            while (event := json.loads(await ws.recv()))["type"] != "response.done":
                if event["type"] == "error":
                    return {"error": event["error"].get("code")}
    except TimeoutError:
        return {"error": "no response.done"}
    return {
        "turn_ms": round((time.perf_counter() - started) * 1000, 1),
        "status": event["response"]["status"],
        "at": time.perf_counter(),
    }


def overruns(url: str) -> dict[str, float]:
    """``ballsy_realtime_input_overruns_total`` by outcome, from ``/metrics``."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    counts: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name == "ballsy_realtime_input_overruns":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    counts[sample.labels.get("outcome", "")] = sample.value
    return counts


async def turns(url: str, talker: VoiceClient, typist: Any, pcm: bytes) -> dict[str, Any]:
    """One spoken and one typed turn, with ``/health`` probed meanwhile."""
    with HealthProbe(url) as probe:
        spoken = await spoken_turn(talker, pcm)
        typed = await typed_turn(typist)
    return {"spoken": spoken, "typed": typed, "health": probe.latencies}


async def idle_phase(url: str, talker: VoiceClient, typist: Any, pcm: bytes) -> dict[str, Any]:
    result = await turns(url, talker, typist, pcm)
    for turn in (result["spoken"], result["typed"]):
        turn.pop("at", None)
    return result


async def flood_phase(
    url: str, talker: VoiceClient, typist: Any, pcm: bytes, seconds: float
) -> dict[str, Any]:
    """The same turns while a flooder process floods for ``seconds`` (longer, when the
    question is: the flood covers the whole turn)."""
    seconds = max(seconds, len(pcm) / 2 / RATE + 6)
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    flooder = spawn.Process(target=flood, args=(url.replace("http", "ws", 1), seconds, out))
    flooder.start()
    try:
        await asyncio.to_thread(out.get, timeout=60)  # ("started", …)
        flood_until = time.perf_counter() + seconds
        await asyncio.sleep(1.0)  # let the flood get going
        result = await turns(url, talker, typist, pcm)
        _, result["flooder"] = await asyncio.to_thread(out.get, timeout=seconds + 60)
        flooder.join(timeout=10)
    finally:
        if flooder.is_alive():
            flooder.kill()
            flooder.join(timeout=10)
    for turn in (result["spoken"], result["typed"]):  # one that ended after is not "flooded"
        turn["during_flood"] = turn.pop("at", 0.0) <= flood_until
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        source, clips = questions(Path(tmp))
        env = {"PRELOAD_MODELS": "true", "MAX_REQUESTS_PER_MINUTE": "100000"}
        with ballsy_server(Path(tmp) / "data", **env) as (url, process):
            await wait_ready(url)
            realtime = f"{url.replace('http', 'ws', 1)}/v1/realtime?model=gpt-realtime"
            async with (
                VoiceClient.connect(url, "flood-talker", max_size=2**22) as talker,
                websockets.connect(f"{realtime}&client_id=flood-typist", max_size=2**22) as typist,
            ):
                await talker.wait_for("ready")
                await spoken_turn(talker, clips[0])  # warm-up
                await typed_turn(typist)
                rounds: list[dict[str, Any]] = []
                for index in range(args.rounds):
                    pcm = clips[index % len(clips)]
                    idle = await idle_phase(url, talker, typist, pcm)
                    await asyncio.sleep(2)
                    flooded = await flood_phase(url, talker, typist, pcm, args.flood_seconds)
                    await asyncio.sleep(2)
                    rounds.append({"idle": idle, "flood": flooded})
                    print(f"round {index + 1}: idle {idle['spoken']} / flood {flooded['spoken']}")
            server_overruns = overruns(url)
            peak = peak_rss_mb(process.pid)
    return results(rounds, source, args, server_overruns, peak)


async def wait_ready(url: str, within: float = 300) -> None:
    """Until ``/ready`` passes: it loads the speech models and checks the LLM (``/health``
    answers at once, before the background preload is done)."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=120) as http:
        while time.monotonic() < deadline:
            if (await http.get(f"{url}/ready")).status_code == 200:
                await asyncio.sleep(5)  # the LLM's one-token warm-up follows the load
                return
            await asyncio.sleep(1)
    raise RuntimeError("the server never became ready")


def results(
    rounds: list[dict[str, Any]],
    source: str,
    args: argparse.Namespace,
    server_overruns: dict[str, float],
    peak_rss: float,
) -> dict[str, Any]:
    def values(kind: str, turn: str, key: str) -> list[float]:
        return [r[kind][turn][key] for r in rounds if key in r[kind][turn]]

    health = {k: summarize([x for r in rounds for x in r[k]["health"]]) for k in ("idle", "flood")}
    spoken = {k: summarize(values(k, "spoken", "first_audio_ms")) for k in ("idle", "flood")}
    typed = {k: summarize(values(k, "typed", "turn_ms")) for k in ("idle", "flood")}
    reports = [r["flood"]["flooder"] for r in rounds]
    closes: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for report in reports:
        closes.update(report["closes"])
        errors.update(report["errors"])
    flood_seconds = sum(r["seconds"] for r in reports)
    pushed = sum(r["audio_pushed_s"] for r in reports)

    def ratio(table: dict[str, dict[str, float]], key: str) -> float | None:
        idle, flooded = table["idle"].get(key), table["flood"].get(key)
        return round(flooded / idle, 2) if idle and flooded is not None else None

    ratios = {
        "health_p95": ratio(health, "p95_ms"),
        "spoken_first_audio_p50": ratio(spoken, "p50_ms"),
        "spoken_first_audio_max": ratio(spoken, "max_ms"),
        "typed_turn_p50": ratio(typed, "p50_ms"),
    }
    return {
        "config": {
            "rounds": args.rounds,
            "flood_seconds": args.flood_seconds,
            "flood_frame": f"{FRAME_SECONDS:g} s of {FLOOD_RATE} Hz noise",
            "speech": source,
        },
        "health": health,
        "spoken_first_audio": spoken,
        "typed_realtime_turn": typed,
        "ratios": ratios,
        "targets": {
            "health_p95_flood_under_50ms": health["flood"].get("p95_ms", 1e9)
            < HEALTH_P95_TARGET_MS,
            "first_audio_within_1_5x_idle": (ratios["spoken_first_audio_p50"] or 1e9)
            <= FIRST_AUDIO_RATIO_TARGET,
        },
        "flooder": {
            "flood_seconds": round(flood_seconds, 1),
            "audio_pushed_s": pushed,
            "audio_per_wall_second": round(pushed / flood_seconds, 1) if flood_seconds else 0,
            "connections": sum(r["connections"] for r in reports),
            "closed_by_server": sum(closes.values()),
            "closes": dict(closes),
            "errors_received": dict(errors),
            "refused_handshakes": sum(r["refused_handshakes"] for r in reports),
        },
        "server_overruns": server_overruns,
        "server_peak_rss_mb": round(peak_rss, 1),
        "rounds": [
            {
                kind: {k: v for k, v in r[kind].items() if k != "health"}
                | {"health": summarize(r[kind]["health"])}
                for kind in ("idle", "flood")
            }
            for r in rounds
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--flood-seconds", type=float, default=10.0)
    args = parser.parse_args()
    results = asyncio.run(run(args))
    print(json.dumps({k: v for k, v in results.items() if k != "rounds"}, indent=2))
    save("voice_flood", results)


if __name__ == "__main__":
    main()
