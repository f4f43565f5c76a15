"""Wyoming latency: what Home Assistant waits for, measured with the ``wyoming`` client.

Starts a real ``ballsy serve`` with ``WYOMING_PORT`` (embedded models, warmed up
first) and times, over several runs each:

- speech-to-text: spoken commands streamed like a microphone (20 ms chunks at real
  time, then the ~0.7 s of silence Home Assistant's VAD waits before it sends
  ``audio-stop``): audio-start → first ``transcript-chunk``, and ``audio-stop`` →
  ``transcript`` (what the pipeline waits for);
- text-to-speech: ``synthesize`` → first ``audio-chunk`` for a short and a long text
  in both voices, and streamed text (``synthesize-chunk`` one word every 40 ms, like
  an LLM) → first audio, including whether it beat the last text chunk;
- handle: ``transcript`` → first ``handled-chunk`` and → ``handled``, for a skill and
  for an LLM question.

The LLM is the configured one unless ``--llm-url`` names an OpenAI-compatible server;
``--stand-in-llm`` starts one here that streams a fixed answer at 50 tokens/s, for
machines where the local model cannot run. Results: JSON in benchmarks/results.

    .venv/bin/python -m benchmarks.wyoming_latency [--runs 5] [--stand-in-llm]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.tts import (
    Synthesize,
    SynthesizeChunk,
    SynthesizeStart,
    SynthesizeStop,
    SynthesizeVoice,
)

from ballsy.speech.audio import decode_audio, float_to_pcm16
from benchmarks._common import FIXTURES, ballsy_server, free_port, save, wer

RATE = 16_000
FRAME = 320  # 20 ms
HA_SILENCE_S = 0.7
COMMANDS = [
    "Turn on the kitchen lights.",
    "What is twelve times seven?",
    "Set a timer for ten minutes.",
    "Add milk to my shopping list.",
]
SHORT = "The front door is locked."
LONG = (
    "Good morning. It is seven degrees outside and cloudy, with light rain expected "
    "after lunch. Your first meeting starts at nine thirty, and the bus to the office "
    "leaves in twenty minutes."
)
STAND_IN_ANSWER = (
    "The moon is slowly drifting away from the Earth, by about four centimetres every "
    "year, so the total eclipses we enjoy today will one day no longer happen."
)


_ONES = (  # noqa: SIM905
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()  # noqa: SIM905


def _spelled(match: re.Match[str]) -> str:
    number = int(match.group())
    if number < 20:
        return _ONES[number]
    if number < 100:
        return _TENS[number // 10] + ("" if number % 10 == 0 else f" {_ONES[number % 10]}")
    return match.group()


def command_wer(reference: str, hypothesis: str) -> float:
    """WER with numbers spelled out ("12 times 7" is what was said)."""
    return wer(re.sub(r"\d+", _spelled, reference), re.sub(r"\d+", _spelled, hypothesis))


def summarize(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))], 1),
        "max_ms": round(ordered[-1], 1),
    }


def spoken_commands(tmp: Path) -> list[tuple[str, np.ndarray]]:
    """(text, 16 kHz audio): a recording and commands spoken by Piper."""
    items = [("one two three", decode_audio(FIXTURES / "english.wav").samples)]
    for index, text in enumerate(COMMANDS):
        out = tmp / f"c{index}.wav"
        subprocess.run(
            [sys.executable, "-m", "ballsy.cli", "say", text, "-o", str(out), "--engine", "piper"],
            check=True,
            capture_output=True,
        )
        items.append((text, decode_audio(out).samples))
    return items


# --- speech to text ------------------------------------------------------------------------


async def transcribe_live(port: int, audio: np.ndarray) -> dict[str, Any]:
    pcm = float_to_pcm16(np.concatenate([audio, np.zeros(int(HA_SILENCE_S * RATE))]))
    data = pcm.astype("<i2").tobytes()
    fmt = {"rate": RATE, "width": 2, "channels": 1}
    async with AsyncTcpClient("127.0.0.1", port, read_timeout=60) as client:
        first_chunk: float | None = None
        stopped = 0.0

        async def send() -> None:
            nonlocal stopped
            await client.write_event(Transcribe(language="en").event())
            await client.write_event(AudioStart(**fmt).event())
            begin = time.perf_counter()
            for index, offset in enumerate(range(0, len(data), FRAME * 2)):
                chunk = AudioChunk(audio=data[offset : offset + FRAME * 2], **fmt)
                await client.write_event(chunk.event())
                await asyncio.sleep(max(0.0, begin + (index + 1) * 0.02 - time.perf_counter()))
            await client.write_event(AudioStop().event())
            stopped = time.perf_counter()

        started = time.perf_counter()
        sending = asyncio.create_task(send())
        while (event := await client.read_event()) is not None:
            if event.type == "transcript-chunk" and first_chunk is None:
                first_chunk = time.perf_counter()
            if event.type == "transcript":
                text, done = Transcript.from_event(event).text, time.perf_counter()
                break
            if event.type == "error":
                raise RuntimeError(event.data)
        await sending
    return {
        "audio_s": round(len(audio) / RATE, 2),
        "first_chunk_ms": None if first_chunk is None else round((first_chunk - started) * 1000, 1),
        "first_chunk_before_stop": first_chunk is not None and first_chunk < stopped,
        "final_after_stop_ms": round((done - stopped) * 1000, 1),
        "text": text,
    }


# --- text to speech ------------------------------------------------------------------------


async def synthesize(port: int, text: str, voice: str) -> dict[str, float]:
    async with AsyncTcpClient("127.0.0.1", port, read_timeout=60) as client:
        started = time.perf_counter()
        await client.write_event(Synthesize(text=text, voice=SynthesizeVoice(voice)).event())
        first = None
        while (event := await client.read_event()) is not None:
            if event.type == "audio-chunk" and first is None:
                first = time.perf_counter()
            if event.type in ("audio-stop", "error"):
                break
        done = time.perf_counter()
    assert first is not None, "no audio"
    return {"first_audio_ms": (first - started) * 1000, "done_ms": (done - started) * 1000}


async def synthesize_streamed(port: int, text: str) -> dict[str, Any]:
    async with AsyncTcpClient("127.0.0.1", port, read_timeout=60) as client:
        first: float | None = None
        last_sent = 0.0

        async def feed() -> None:
            nonlocal last_sent
            await client.write_event(SynthesizeStart(voice=SynthesizeVoice("heart")).event())
            for word in text.split(" "):
                await client.write_event(SynthesizeChunk(text=word + " ").event())
                last_sent = time.perf_counter()
                await asyncio.sleep(0.04)
            await client.write_event(Synthesize(text=text).event())
            await client.write_event(SynthesizeStop().event())

        started = time.perf_counter()
        feeding = asyncio.create_task(feed())
        while (event := await client.read_event()) is not None:
            if event.type == "audio-chunk" and first is None:
                first = time.perf_counter()
            if event.type in ("synthesize-stopped", "error"):
                break
        await feeding
    assert first is not None
    return {
        "first_audio_ms": round((first - started) * 1000, 1),
        "text_stream_ms": round((last_sent - started) * 1000, 1),
        "first_audio_before_last_text": first < last_sent,
    }


# --- handle --------------------------------------------------------------------------------


async def handle(port: int, text: str) -> dict[str, Any]:
    async with AsyncTcpClient("127.0.0.1", port, read_timeout=120) as client:
        started = time.perf_counter()
        await client.write_event(Transcript(text=text).event())
        first = None
        while (event := await client.read_event()) is not None:
            if event.type == "handled-chunk" and first is None:
                first = time.perf_counter()
            if event.type in ("handled", "not-handled", "error"):
                break
        done = time.perf_counter()
    assert event is not None and event.type == "handled", event
    return {
        "first_text_ms": (first or done) * 1000 - started * 1000,
        "handled_ms": (done - started) * 1000,
        "reply": event.data.get("text", ""),
    }


@contextmanager
def stand_in_llm() -> Iterator[str]:
    """An OpenAI-compatible server streaming ``STAND_IN_ANSWER`` at 50 tokens/s."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def chat(request: Request) -> StreamingResponse:
        model = (await request.json())["model"]
        base = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": model}

        async def events() -> Any:
            for i, word in enumerate(STAND_IN_ANSWER.split()):
                await asyncio.sleep(0.02)
                delta = {"index": 0, "delta": {"content": f" {word}" if i else word}}
                yield f"data: {json.dumps({**base, 'choices': [delta]})}\n\n"
            end = {"index": 0, "delta": {}, "finish_reason": "stop"}
            yield f"data: {json.dumps({**base, 'choices': [end]})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    port = free_port()
    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# --- the run ---------------------------------------------------------------------------------


async def measure(port: int, runs: int, commands: list[tuple[str, np.ndarray]]) -> dict[str, Any]:
    jfk = decode_audio(FIXTURES / "jfk.flac").samples
    reference = json.loads((FIXTURES / "transcripts.json").read_text())["jfk.flac"]["text"]
    await transcribe_live(port, commands[0][1])  # warm: models load on first use
    for voice in ("heart", "joe"):
        await synthesize(port, "Warming up.", voice)
    await handle(port, "what is two plus two")
    await handle(port, "Say hello.")

    asr = [await transcribe_live(port, audio) for _ in range(runs) for _, audio in commands]
    for result, (text, _) in zip(asr, commands * runs, strict=True):
        result["wer"] = round(command_wer(text, result["text"]), 3)
    long = [await transcribe_live(port, jfk) for _ in range(max(1, runs // 2))]
    tts: dict[str, list[dict[str, float]]] = {}
    for voice in ("heart", "joe"):
        for label, text in (("short", SHORT), ("long", LONG)):
            tts[f"{voice}_{label}"] = [await synthesize(port, text, voice) for _ in range(runs)]
    streamed = [await synthesize_streamed(port, LONG) for _ in range(runs)]
    skill = [await handle(port, "what is twelve times seven") for _ in range(runs)]
    llm = [await handle(port, "Tell me a fun fact about the moon.") for _ in range(runs)]
    return {
        "asr_commands": {
            "first_chunk": summarize([r["first_chunk_ms"] for r in asr if r["first_chunk_ms"]]),
            "final_after_audio_stop": summarize([r["final_after_stop_ms"] for r in asr]),
            "mean_wer": round(statistics.mean(r["wer"] for r in asr), 3),
            "runs": asr,
        },
        "asr_long_jfk_11s": {
            "first_chunk": summarize([r["first_chunk_ms"] for r in long if r["first_chunk_ms"]]),
            "first_chunk_before_audio_stop": all(r["first_chunk_before_stop"] for r in long),
            "final_after_audio_stop": summarize([r["final_after_stop_ms"] for r in long]),
            "wer": round(wer(reference, long[0]["text"]), 3),
        },
        "tts_first_audio": {k: summarize([r["first_audio_ms"] for r in v]) for k, v in tts.items()},
        "tts_done": {k: summarize([r["done_ms"] for r in v]) for k, v in tts.items()},
        "tts_streamed": {
            "first_audio": summarize([r["first_audio_ms"] for r in streamed]),
            "text_stream": summarize([r["text_stream_ms"] for r in streamed]),
            "first_audio_before_last_text": all(
                r["first_audio_before_last_text"] for r in streamed
            ),
        },
        "handle_skill": {
            "first_text": summarize([r["first_text_ms"] for r in skill]),
            "handled": summarize([r["handled_ms"] for r in skill]),
            "reply": skill[0]["reply"],
        },
        "handle_llm": {
            "first_text": summarize([r["first_text_ms"] for r in llm]),
            "handled": summarize([r["handled_ms"] for r in llm]),
            "reply": llm[0]["reply"][:120],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--llm-url", help="an OpenAI-compatible endpoint for the LLM turns")
    parser.add_argument("--stand-in-llm", action="store_true", help="stream a fixed answer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, contextlib_llm(args) as llm_env:
        commands = spoken_commands(Path(tmp))
        port = free_port()
        env = {"WYOMING_PORT": str(port), "PRELOAD_MODELS": "false", **llm_env}
        env |= {"WS_TURNS_PER_MINUTE": "100000", "MAX_REQUESTS_PER_MINUTE": "100000"}
        with ballsy_server(Path(tmp) / "data", **env):
            results = asyncio.run(measure(port, args.runs, commands))
    results["config"] = {"runs": args.runs, "llm": llm_env.get("LLM_BASE_URL", "local")}
    if args.stand_in_llm:
        results["config"]["llm"] = "stand-in, 50 tokens/s"
    print(json.dumps({k: v for k, v in results.items() if k != "asr_commands"}, indent=2))
    commands_summary = {k: v for k, v in results["asr_commands"].items() if k != "runs"}
    print(json.dumps({"asr_commands": commands_summary}, indent=2))
    save("wyoming_latency", results)


@contextmanager
def contextlib_llm(args: argparse.Namespace) -> Iterator[dict[str, str]]:
    if args.stand_in_llm:
        with stand_in_llm() as url:
            yield _openai(url)
    elif args.llm_url:
        yield _openai(args.llm_url)
    else:
        yield {}


def _openai(url: str) -> dict[str, str]:
    return {
        "LLM_PROVIDER": "openai",
        "LLM_BASE_URL": url,
        "LLM_MODEL": "stand-in",
        "LLM_API_KEY": "benchmark",
    }


if __name__ == "__main__":
    main()
