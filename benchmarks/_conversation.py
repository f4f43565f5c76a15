"""One spoken turn as a user has it, and what a run of them adds up to.

A question is played into ``/ws/voice`` at real time, then live silence follows in
20 ms frames until the reply's first audio arrives: latency runs from the true end of
speech to that first audio byte. A hesitation is cut off when the server ends the
turn before the sentence was finished.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

import httpx

from ballsy.speech.audio import float_to_pcm16
from ballsy.testing.voice_client import VoiceClient
from benchmarks._voices import RATE, Utterance, word_errors

STAGES = (
    "eot_wait_ms",
    "turn_decision_ms",
    "transcript_wait_ms",
    "transcription_ms",
    "skills_ms",
    "llm_first_token_ms",
    "tts_first_audio_ms",
    "first_audio_ms",
    "end_to_end_ms",
)


async def spoken_turn(client: VoiceClient, item: Utterance, index: int) -> dict[str, Any]:
    pcm = float_to_pcm16(item.audio).astype("<i2").tobytes()
    old_turns = {turn_id for _, _, turn_id in client.audio}
    seen = len(client.received)
    started = time.perf_counter()
    spoke_until = await client.stream(pcm)
    silence = bytes(640)

    def reply_audio() -> tuple[float, str] | None:
        for at, _, turn_id in client.audio:
            if turn_id and turn_id not in old_turns and at > spoke_until:
                return at, turn_id
        return None

    while (first := reply_audio()) is None and time.perf_counter() - started < 30:
        await client.ws.send(silence)
        await asyncio.sleep(0.02)
    stops = [r for r in client.received[seen:] if r.message.get("type") == "speech_stopped"]
    cut_off = any(r.at < spoke_until - 0.05 for r in stops)
    if first is None:
        return {"turn": index, "label": item.label, "error": "no reply audio", "cut_off": cut_off}
    first_audio, turn_id = first
    # The user has heard the answer begin: stop it (a barge-in) so the next question
    # need not wait for a long reply to play out; the turn's timings are complete.
    await client.send({"type": "interrupt"})
    done = await client.wait_for("reply_done", within=90, turn_id=turn_id)
    timings = (await client.wait_for("turn", within=10, turn_id=turn_id)).message["timings"]
    final = await client.wait_for("transcript", within=5, final=True, turn_id=turn_id)
    heard = str(final.message.get("text") or "")
    errors, words = word_errors(item.text, heard)
    await asyncio.sleep(0.5)
    return {
        "turn": index,
        "label": item.label,
        "path": item.path,
        "hesitation": item.pause_at_s is not None,
        "latency_ms": round((first_audio - spoke_until) * 1000, 1),
        "cut_off": cut_off,
        "heard": heard,
        "word_errors": errors,
        "words": words,
        "handled_by": done.message.get("handled_by"),
        "stages": timings,
    }


def summarize(latencies: list[float]) -> dict[str, float]:
    if not latencies:
        return {"n": 0}
    ordered = sorted(latencies)
    pick = lambda q: ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]  # noqa: E731
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(pick(0.95), 1),
        "max_ms": round(ordered[-1], 1),
    }


def stage_percentiles(turns: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    out = {}
    for key in STAGES:
        values = sorted(t["stages"][key] for t in turns if key in t.get("stages", {}))
        if values:
            out[key] = {
                "p50": round(statistics.median(values), 1),
                "p95": round(values[min(len(values) - 1, round(0.95 * (len(values) - 1)))], 1),
            }
    return out


def report(turns: list[dict[str, Any]]) -> dict[str, Any]:
    """Latency overall and per path, cut-offs, word error rate and stage breakdown."""
    questions = [t for t in turns if not t.get("hesitation")]
    hesitations = [t for t in turns if t.get("hesitation")]
    answered = [t for t in questions if "latency_ms" in t]
    by_path = {
        path: summarize([t["latency_ms"] for t in answered if t["path"] == path])
        for path in ("skill", "llm")
    }
    errors = sum(t.get("word_errors", 0) for t in answered)
    words = sum(t.get("words", 0) for t in answered)
    return {
        "latency": summarize([t["latency_ms"] for t in answered]),
        "by_path": by_path,
        "unanswered": len(questions) - len(answered),
        "wer": round(errors / words, 3) if words else None,
        "hesitations": len(hesitations),
        "false_cut_off_rate": (
            round(sum(t["cut_off"] for t in hesitations) / len(hesitations), 3)
            if hesitations
            else None
        ),
        "questions_split": sum(t.get("cut_off", False) for t in questions),
        "stages": stage_percentiles(answered),
    }


def speculation_counts(url: str) -> dict[str, float]:
    """used / wasted speculative replies and their seconds, from the server's metrics."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    counts: dict[str, float] = {}
    for line in text.splitlines():
        for name, key in (
            ("ballsy_speculative_replies_total", "{0}"),
            ("ballsy_speculative_reply_seconds_sum", "{0}_seconds"),
        ):
            if line.startswith(name + "{"):
                outcome = line.split('outcome="', 1)[1].split('"', 1)[0]
                counts[key.format(outcome)] = float(line.rsplit(" ", 1)[1])
    used, wasted = counts.get("used", 0.0), counts.get("wasted", 0.0)
    counts["hit_rate"] = round(used / (used + wasted), 3) if used + wasted else 0.0
    return counts


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime in clock ticks


__all__ = ["RATE", "report", "speculation_counts", "spoken_turn"]
