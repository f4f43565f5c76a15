"""Batched vs one-by-one transcription of voice turns that end together.

When several users finish speaking at once, their turns could be decoded in one
batched CTranslate2 call (faster-whisper's ``BatchedInferencePipeline`` over the turns
laid end to end, one clip per turn) instead of one call per turn. This measures, on
this CPU, for batches of 2, 4 and 8 turns (espeak-ng voices, never Ballsy's own, and
the shared real recording), the realtime path's decode settings (beam size, prompt),
the two ways taking turns batch by batch so they share the machine's noise:

- wall time until every turn of the batch is transcribed, and until the first is;
- process CPU seconds per turn;
- word error rate, so a faster way that hears worse shows.

    .venv/bin/python -m benchmarks.stt_batch [--reps 4] [--sizes 2,4,8]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time
from typing import Any

import numpy as np

from ballsy.config import Settings
from ballsy.speech.stt import STT_SAMPLE_RATE, UtteranceDecoding, stt_engines
from benchmarks._common import save
from benchmarks._voices import questions, word_errors


def cpu_now() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def one_by_one(engine: Any, turns: list[np.ndarray], decoding: UtteranceDecoding) -> list[str]:
    return [
        engine.transcribe(audio, decoding.options(len(audio) / STT_SAMPLE_RATE)).text
        for audio in turns
    ]


def batched(model: Any, turns: list[np.ndarray], decoding: UtteranceDecoding) -> list[str]:
    from faster_whisper import BatchedInferencePipeline

    gap = np.zeros(STT_SAMPLE_RATE // 10, dtype=np.float32)
    pieces, clips, at = [], [], 0
    for audio in turns:
        clips.append({"start": at / STT_SAMPLE_RATE, "end": (at + len(audio)) / STT_SAMPLE_RATE})
        pieces += [audio, gap]
        at += len(audio) + len(gap)
    options = decoding.options(max(len(a) for a in turns) / STT_SAMPLE_RATE)
    segments, _info = BatchedInferencePipeline(model).transcribe(
        np.concatenate(pieces),
        language="en",
        beam_size=options.beam_size,
        best_of=options.beam_size,
        initial_prompt=options.prompt,
        without_timestamps=True,
        vad_filter=False,
        clip_timestamps=clips,
        batch_size=len(turns),
    )
    texts = ["" for _ in turns]
    for segment in segments:
        middle = (segment.start + segment.end) / 2
        index = next(
            (i for i, c in enumerate(clips) if c["start"] - 0.05 <= middle <= c["end"] + 0.15),
            len(clips) - 1,
        )
        texts[index] = f"{texts[index]} {segment.text.strip()}".strip()
    return texts


def run(args: argparse.Namespace) -> dict[str, Any]:
    settings = Settings()
    engine = stt_engines()[settings.stt_model].load(settings)
    decoding = UtteranceDecoding.from_settings(settings)
    items = questions(max(args.sizes) * 2)
    audio = [item.audio for item in items]
    one_by_one(engine, audio[:2], decoding)  # warm
    results: dict[str, Any] = {"model": settings.stt_model, "beam": decoding.beam_size, "sizes": {}}
    for size in args.sizes:
        figures: dict[str, list[float]] = {
            "sequential_wall_s": [], "batched_wall_s": [],
            "sequential_cpu_s_per_turn": [], "batched_cpu_s_per_turn": [],
        }  # fmt: skip
        errors = {"sequential": [0, 0], "batched": [0, 0]}
        for rep in range(args.reps):
            picked = [items[(rep * size + i) % len(items)] for i in range(size)]
            ways = ("sequential", "batched") if rep % 2 == 0 else ("batched", "sequential")
            for way in ways:
                turns = [item.audio for item in picked]
                cpu, wall = cpu_now(), time.perf_counter()
                if way == "sequential":
                    texts = one_by_one(engine, turns, decoding)
                else:
                    texts = batched(engine._model, turns, decoding)
                figures[f"{way}_wall_s"].append(time.perf_counter() - wall)
                figures[f"{way}_cpu_s_per_turn"].append((cpu_now() - cpu) / size)
                for item, text in zip(picked, texts, strict=True):
                    wrong, words = word_errors(item.text, text)
                    errors[way][0] += wrong
                    errors[way][1] += words
        row = {key: round(statistics.median(values), 3) for key, values in figures.items()}
        row["batched_speedup"] = round(row["sequential_wall_s"] / row["batched_wall_s"], 3)
        row["sequential_wer"] = round(errors["sequential"][0] / max(1, errors["sequential"][1]), 3)
        row["batched_wer"] = round(errors["batched"][0] / max(1, errors["batched"][1]), 3)
        results["sizes"][str(size)] = row
        print(f"{size} turns: {row}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--sizes", default="2,4,8")
    args = parser.parse_args()
    args.sizes = [int(n) for n in args.sizes.split(",") if n]
    results = run(args)
    print(json.dumps(results, indent=2))
    save("stt_batch", results)


if __name__ == "__main__":
    main()
