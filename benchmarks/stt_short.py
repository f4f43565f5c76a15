"""Short-utterance accuracy: how the realtime transcriber should decode a voice turn.

Speaks the voice benchmark's questions and some skill commands with espeak-ng's
English voices (never Ballsy's own), adds the shared real recordings, and cuts each
the way the realtime listener does (Silero turn detector, the audio of the turn at the
first candidate pause: what the speculative transcript decodes). Every utterance is
then transcribed by the realtime path's transcriber (``SpeechTranscriber`` over the
embedded default model) under each decode variant, the variants taking turns
utterance by utterance so they share the machine's noise:

- greedy vs beam search (3, 5), with and without the temperature fallback;
- with and without an ``initial_prompt`` of the assistant's own vocabulary.

Word error rate after normalization (lower case, no punctuation, number words as
digits, "%" as "percent", fillers dropped), overall and per group — skill questions,
skill commands, open (LLM) questions whose words the prompt does not contain, real
recordings — plus how many skill requests still reach a skill, how often the fallback
fired, and the decode time (median, p95).

    .venv/bin/python -m benchmarks.stt_short [--limit 3] [--voices en-us,en-gb]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import re
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import jiwer
import numpy as np

from ballsy.assistant.skills import PERSONAL_SKILLS, SkillContext, find_personal_request
from ballsy.assistant.skills import find_skill_reply as skill_reply
from ballsy.config import Settings
from ballsy.realtime.session.adapters import SpeechTranscriber
from ballsy.realtime.wire.native import default_vad
from ballsy.speech.audio import decode_audio, decode_channels
from ballsy.speech.service import SpeechService
from ballsy.speech.stt import FALLBACK_TEMPERATURES, UtteranceDecoding
from ballsy.speech.vad import TurnDetector
from benchmarks._common import FIXTURES, save
from benchmarks._voices import (
    QUESTIONS,
    RATE,
    VOICES,
    espeak,
    have_espeak,
    normalized_words,
    word_errors,
)

# Skill commands beyond the voice benchmark's questions (timers, reminders, lists).
COMMANDS = (
    "Set a timer for ten minutes.",
    "Remind me to call my mother at six thirty.",
    "Add milk and eggs to my shopping list.",
    "What's on my shopping list?",
    "Cancel the pasta timer.",
    "Remind me in twenty five minutes to check the oven.",
)

# The assistant's own vocabulary, written as Whisper writes it (digits, "%", "p.m."):
# skill phrasings and service names. Deliberately none of the benchmark's sentences.
VOCABULARY = (
    "Hey Ballsy, set a timer for 10 minutes. What time is it? Remind me to call Anna "
    "at 6:30 p.m. Add eggs to my shopping list. What's 25% of 200? 3 times 4 plus the "
    "square root of 16. Play a song on Spotify or YouTube. Directions to the station."
)
# The same vocabulary as a short list of names, the other way of prompting.
GLOSSARY = (
    "Ballsy: timers, reminders, shopping list, the time, plus, minus, times, percent, "
    "square root, Spotify, YouTube."
)
_FILLERS = frozenset({"uh", "um", "er", "erm", "hmm", "mm", "ah"})


@dataclass(frozen=True, slots=True)
class Item:
    label: str
    group: str
    """``skill`` questions, skill ``command``s, ``llm`` questions, ``recording``s."""
    text: str
    audio: np.ndarray


def words(text: str) -> list[str]:
    """Normalized words: lower case, no punctuation, digits, '%' as 'percent', no fillers."""
    spelled = re.sub(r"(?<=\d)\s*%", " percent", text).replace("&", " and ")
    return [w for w in normalized_words(spelled) if w not in _FILLERS]


def whisper_normalizer() -> Callable[[str], str] | None:
    """OpenAI's EnglishTextNormalizer (``whisper_normalizer``), when it is installed: a
    cross-check only (it writes "one two three" as "123" but "1 2 3" as "one 2 3")."""
    try:
        module = importlib.import_module("whisper_normalizer.english")
    except ImportError:
        return None
    normalizer: Callable[[str], str] = module.EnglishTextNormalizer()
    return normalizer


def realtime_cut(audio: np.ndarray, settings: Settings) -> np.ndarray:
    """The turn's audio at its last candidate pause: what the speculative transcript of
    a confirmed turn decodes (the realtime listener's turn detector, semantic mode, so
    a pause inside the utterance does not end it)."""
    vad = replace(default_vad(settings), silence_ms=settings.realtime_max_pause_ms)
    detector = TurnDetector(vad)
    lead = np.zeros(int(0.5 * RATE), dtype=np.float32)
    tail = np.zeros(int(0.5 * RATE), dtype=np.float32)
    stream = np.concatenate([lead, audio.astype(np.float32), tail])
    pause = settings.realtime_candidate_pause_ms / 1000
    cut, taken = audio.astype(np.float32), False
    for start in range(0, len(stream), 320):  # 20 ms frames, as clients send them
        detector.feed(stream[start : start + 320])
        quiet = detector.speaking and detector.trailing_silence_s >= pause
        if quiet and not taken:
            cut = detector.turn_audio()
        taken = quiet
    return cut


def utterances(voices: tuple[str, ...], limit: int | None, settings: Settings) -> list[Item]:
    items: list[Item] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for v, voice in enumerate(voices):
            for text, path in QUESTIONS:
                items.append(Item(f"{voice}: {text}", path, text, espeak(text, voice, folder)))
            for c, text in enumerate(COMMANDS):
                if (c + v) % 2 == 0:  # each command in half the voices
                    items.append(
                        Item(f"{voice}: {text}", "command", text, espeak(text, voice, folder))
                    )
    refs = json.loads((FIXTURES / "transcripts.json").read_text())
    for name in ("english.wav", "jfk.flac"):
        items.append(
            Item(name, "recording", refs[name]["text"], decode_audio(FIXTURES / name).samples)
        )
    stereo = decode_channels(FIXTURES / "stereo_diarization.wav")
    for channel, side in zip(stereo.channels, ("left", "right"), strict=True):
        text = refs["stereo_diarization.wav"]["channels"][side]
        items.append(Item(f"stereo_diarization.wav:{side}", "recording", text, channel))
    if limit:
        items = items[:limit]
    return [replace(item, audio=realtime_cut(item.audio, settings)) for item in items]


def variants() -> dict[str, UtteranceDecoding]:
    """Today's decode first; every variant decodes like the realtime path (no VAD filter).
    (A first run showed greedy without the fallback looping on one utterance — 112
    errors — so greedy is only measured with it.)"""
    today = UtteranceDecoding(beam_size=1, fallback_temperatures=FALLBACK_TEMPERATURES)
    return {
        "greedy+fallback (today)": today,
        "beam3+fallback": replace(today, beam_size=3),
        "beam5+fallback": replace(today, beam_size=5),
        "beam5": replace(today, beam_size=5, fallback_temperatures=()),
        "greedy+fallback+prompt": replace(today, prompt=VOCABULARY),
        "beam3+fallback+prompt": replace(today, beam_size=3, prompt=VOCABULARY),
        "beam5+fallback+prompt": replace(today, beam_size=5, prompt=VOCABULARY),
        "beam5+fallback+glossary": replace(today, beam_size=5, prompt=GLOSSARY),
    }


def routed_to_skill(text: str) -> bool:
    """What the assistant would do with ``text``: answer it with a built-in skill."""
    context = SkillContext(now=datetime.now().astimezone())
    return (
        skill_reply(text, context) is not None
        or find_personal_request(text, context, PERSONAL_SKILLS) is not None
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def wer_of(rows: list[dict[str, Any]], key: str = "errors") -> float | None:
    total = sum(r["words"] for r in rows)
    return round(sum(r[key] for r in rows) / total, 3) if total else None


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    ms = [r["decode_ms"] for r in rows]
    skills = [r for r in rows if r["group"] in ("skill", "command")]
    out: dict[str, Any] = {
        "wer": wer_of(rows),
        "wer_by_group": {
            g: wer_of([r for r in rows if r["group"] == g])
            for g in ("skill", "command", "llm", "recording")
        },
        "wer_voice_latency_metric": wer_of(rows, "errors_voice_latency"),
        "skill_requests_reaching_a_skill": f"{sum(r['skill'] for r in skills)}/{len(skills)}",
        "fallbacks": sum(r["fallback"] for r in rows),
        "decode_ms": {
            "p50": round(statistics.median(ms), 1),
            "p95": round(percentile(ms, 0.95), 1),
            "mean": round(statistics.fmean(ms), 1),
        },
    }
    if all("errors_whisper_normalizer" in r for r in rows):
        out["wer_whisper_normalizer"] = wer_of(rows, "errors_whisper_normalizer")
    return out


async def transcribe_all(
    items: list[Item], decodings: dict[str, UtteranceDecoding], speech: SpeechService
) -> dict[str, list[dict[str, Any]]]:
    transcribers = {name: SpeechTranscriber(speech, d) for name, d in decodings.items()}
    seen_fallback: dict[str, bool] = {}
    original = speech.transcribe

    async def spy(*args: Any, **kwargs: Any) -> Any:
        transcript = await original(*args, **kwargs)
        seen_fallback["last"] = any(s.temperature > 0 for s in transcript.segments)
        return transcript

    speech.transcribe = spy  # type: ignore[method-assign]
    whisper_norm = whisper_normalizer()
    rows: dict[str, list[dict[str, Any]]] = {name: [] for name in decodings}
    names = list(decodings)
    await transcribers[names[0]].transcribe(items[0].audio)  # warm the model
    for index, item in enumerate(items):
        order = names[index % len(names) :] + names[: index % len(names)]
        for name in order:
            heard = await transcribers[name].transcribe(item.audio)
            ref, hyp = words(item.text), words(heard.text)
            row: dict[str, Any] = {
                "label": item.label,
                "group": item.group,
                "seconds": round(len(item.audio) / RATE, 2),
                "heard": heard.text,
                "errors": _edits(" ".join(ref), " ".join(hyp)),
                "errors_voice_latency": _voice_latency_errors(item.text, heard.text),
                "words": len(ref),
                "skill": item.group in ("skill", "command") and routed_to_skill(heard.text),
                "fallback": seen_fallback.get("last", False),
                "decode_ms": round(heard.seconds * 1000, 1),
            }
            if whisper_norm is not None:
                wref = whisper_norm(item.text)
                row["errors_whisper_normalizer"] = _edits(wref, whisper_norm(heard.text))
            rows[name].append(row)
        print(f"  {index + 1}/{len(items)} {item.label}", flush=True)
    return rows


def _edits(reference: str, hypothesis: str) -> int:
    """Word substitutions + deletions + insertions (jiwer)."""
    out = jiwer.process_words(reference, hypothesis or "<empty>")
    return int(out.substitutions + out.deletions + out.insertions)


def _voice_latency_errors(reference: str, hypothesis: str) -> int:
    """The error count ``benchmarks/voice_latency.py`` reports (its 0.26), for comparison."""
    return word_errors(reference, hypothesis)[0]


def print_table(results: dict[str, dict[str, Any]]) -> None:
    head = f"{'variant':26} {'WER':>6} {'skill':>6} {'cmd':>6} {'llm':>6} {'rec':>6}"
    print(f"\n{head} {'to skill':>9} {'fallb':>5} {'p50 ms':>7} {'p95 ms':>7}")
    for name, r in results.items():
        g = r["wer_by_group"]
        cells = " ".join(f"{g[k] if g[k] is not None else '-':>6}" for k in g)
        print(
            f"{name:26} {r['wer']:>6} {cells} {r['skill_requests_reaching_a_skill']:>9} "
            f"{r['fallbacks']:>5} {r['decode_ms']['p50']:>7} {r['decode_ms']['p95']:>7}"
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=0, help="only the first N utterances")
    parser.add_argument("--voices", default=",".join(VOICES))
    parser.add_argument("--name", default="stt_short", help="results file name")
    args = parser.parse_args()
    if not have_espeak():
        raise SystemExit("espeak-ng is needed: scripts/speech_tools.sh installs it")
    settings = Settings()
    items = utterances(tuple(args.voices.split(",")), args.limit or None, settings)
    print(f"{len(items)} utterances, {sum(len(i.audio) for i in items) / RATE:.0f} s of audio")
    speech = SpeechService(settings)
    decodings = variants()
    started = time.perf_counter()
    try:
        rows = await transcribe_all(items, decodings, speech)
    finally:
        await speech.close()
    results = {name: summarize(r) for name, r in rows.items()}
    print_table(results)
    save(
        args.name,
        {
            "model": settings.stt_model,
            "utterances": len(items),
            "groups": {
                g: sum(i.group == g for i in items)
                for g in ("skill", "command", "llm", "recording")
            },
            "voices": args.voices.split(","),
            "prompt": VOCABULARY,
            "glossary": GLOSSARY,
            "wall_seconds": round(time.perf_counter() - started, 1),
            "variants": results,
            "turns": rows,
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
