"""Where a voice turn's CPU goes: each stage's process CPU seconds, measured alone.

A turn on ``/ws/voice`` runs, on the shared models: the VAD over every 20 ms frame
(speech and the silence after it), the end-of-turn model (semantic mode) and a
speculative transcription at each candidate pause, the final transcription when no
guess could be reused, the LLM's prompt and first sentence, and the speech of that
first sentence (the rest of the reply follows while the user listens). This runs each
stage in this process, one after the other (nothing overlaps), on the voice
benchmark's spoken questions (espeak-ng voices, never Ballsy's own, and the shared
real recording), and reports each stage's CPU seconds per call and per turn (median),
so the figure ``benchmarks/voice_latency.py`` measures for the whole server process
(CPU-s per turn) can be split by stage.

    .venv/bin/python -m benchmarks.turn_cpu [--turns 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import numpy as np

from ballsy.assistant.prompt import build_prompt
from ballsy.config import Settings
from ballsy.llm.base import GenerationOptions
from ballsy.llm.interleave import lead_done
from ballsy.llm.local import LocalLLM
from ballsy.llm.providers.local import build_local
from ballsy.realtime.wire.native import default_vad
from ballsy.speech.service import SpeechService
from ballsy.speech.stt import STT_SAMPLE_RATE, UtteranceDecoding
from ballsy.speech.turn_model import SmartTurn, shared_smart_turn
from ballsy.speech.vad import TurnDetector
from benchmarks._common import save
from benchmarks._voices import questions

T = TypeVar("T")
FRAME = 320  # 20 ms at 16 kHz, as the listener feeds the VAD
SILENCE_AFTER_S = 0.6  # the pause heard before the turn ends


def cpu_now() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def timed(costs: dict[str, list[float]], stage: str, fn: Callable[[], T]) -> T:
    started = cpu_now()
    result = fn()
    costs.setdefault(stage, []).append(cpu_now() - started)
    return result


async def atimed(costs: dict[str, list[float]], stage: str, fn: Callable[[], Any]) -> Any:
    started = cpu_now()
    result = await fn()
    costs.setdefault(stage, []).append(cpu_now() - started)
    return result


async def first_sentence(llm: LocalLLM, question: str, settings: Settings) -> str:
    """The reply's text up to its first speakable piece (the rest is cancelled)."""
    prompt = build_prompt(
        system_prompt=settings.default_system_prompt,
        now=datetime.now(UTC),
        memory=[],
        text=question,
    )
    text, tokens = "", 0
    stream = llm.stream(prompt, GenerationOptions(max_tokens=64))
    async for delta in stream:
        text += delta.text
        tokens += 1 if delta.text else 0
        if lead_done(text, tokens):
            break
    await stream.aclose()  # type: ignore[attr-defined]
    return text.strip()


async def one_turn(
    audio: np.ndarray,
    costs: dict[str, list[float]],
    speech: SpeechService,
    decoding: UtteranceDecoding,
    llm: LocalLLM,
    judge: SmartTurn,
    settings: Settings,
) -> tuple[str, str]:
    """Each stage of one turn once, in the order the server runs them; (heard, said)."""
    audio = audio.astype(np.float32)
    stream = np.concatenate([audio, np.zeros(int(SILENCE_AFTER_S * STT_SAMPLE_RATE))])
    detector = TurnDetector(default_vad(settings))

    def vad() -> None:
        for start in range(0, len(stream) - FRAME + 1, FRAME):
            detector.feed(stream[start : start + FRAME].astype(np.float32))

    timed(costs, "vad", vad)
    timed(costs, "end_of_turn_model", lambda: judge.completion(audio))
    options = decoding.options(len(audio) / STT_SAMPLE_RATE)
    heard = await atimed(costs, "transcription", lambda: speech.transcribe(audio, options))
    text = await atimed(
        costs, "llm_first_sentence", lambda: first_sentence(llm, heard.text, settings)
    )

    async def speak() -> int:
        chunks = await speech.synthesize(text or "Sure.")
        samples = 0
        async for chunk in chunks:
            samples += len(chunk)
        return samples

    await atimed(costs, "tts_first_sentence", speak)
    return heard.text, text


async def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings()
    speech = SpeechService(settings)
    await speech.start()
    decoding = UtteranceDecoding.from_settings(settings)
    llm = build_local(settings)  # as the server builds its `local` provider
    judge = shared_smart_turn()
    items = [item for item in questions(args.turns * 2) if item.path == "llm"][: args.turns]
    costs: dict[str, list[float]] = {}
    await llm.warm_up()
    for index, item in enumerate([items[0], *items]):
        warm = index == 0  # models loaded, first call paid: not counted
        heard, text = await one_turn(
            item.audio, {} if warm else costs, speech, decoding, llm, judge, settings
        )
        if not warm:
            print(f"  {item.label[:50]:50} heard {heard!r} → {text!r}")
    await llm.close()
    await speech.close()
    per_call = {stage: round(statistics.median(v), 3) for stage, v in costs.items()}
    return {
        "turns": len(items),
        "cpu_s_per_call": per_call,
        "cpu_s_per_turn_one_call_each": round(sum(per_call.values()), 3),
        "note": "a live turn may run more than one transcription and end-of-turn "
        "check (one per candidate pause): multiply by the counts voice_latency reports",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=8)
    args = parser.parse_args()
    results = asyncio.run(run(args))
    print(json.dumps(results, indent=2))
    save("turn_cpu", results)


if __name__ == "__main__":
    main()
