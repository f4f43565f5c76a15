"""STT throughput: Ballsy's /v1/audio/transcriptions versus raw faster-whisper.

Builds a recording of at least ``--minutes`` from the fixture clips with pauses,
then, in the same run and interleaved, transcribes it (a) through a real
``ballsy serve`` process over HTTP and (b) with faster-whisper's ``WhisperModel``
directly in a child process, same model files and decode settings. Prints
audio-seconds per wall-second for both, their ratio (target >= 0.95), peak RSS and
WER, then the time to first audio byte of /v1/audio/speech.

    .venv/bin/python benchmarks/stt_throughput.py [--minutes 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks._common import ballsy_server, long_recording, peak_rss_mb, save, wer, write_wav

RAW_SCRIPT = r"""
import json, resource, sys, time
from faster_whisper import WhisperModel, decode_audio
from ballsy.speech.model_files import whisper_tiny_en_dir
start = time.perf_counter()
model = WhisperModel(str(whisper_tiny_en_dir()), device="cpu",
                     compute_type="int8", cpu_threads=0, num_workers=1, local_files_only=True)
loaded = time.perf_counter()
audio = decode_audio(sys.argv[1], sampling_rate=16000)
segments, info = model.transcribe(
    audio, language="en", task="transcribe", temperature=(0.0, 0.2, 0.4, 0.6, 0.8, 1.0),
    beam_size=1, best_of=1, vad_filter=True, word_timestamps=False)
text = " ".join(s.text.strip() for s in segments)
done = time.perf_counter()
print(json.dumps({"text": text, "seconds": done - loaded, "load_seconds": loaded - start,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_raw(path: Path) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", RAW_SCRIPT, str(path)], capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run_ballsy(url: str, path: Path) -> dict[str, Any]:
    start = time.perf_counter()
    with path.open("rb") as handle:
        response = httpx.post(
            f"{url}/v1/audio/transcriptions",
            files={"file": (path.name, handle, "audio/wav")},
            data={"model": "whisper-1", "response_format": "json"},
            timeout=3600,
        )
    response.raise_for_status()
    return {"text": response.json()["text"], "seconds": time.perf_counter() - start}


def time_to_first_audio(url: str, runs: int) -> dict[str, float]:
    text = (
        "Sure, here is what I found. The nearest pharmacy is two blocks away. "
        "It is open until nine tonight."
    )
    first, total = [], []
    with httpx.Client(timeout=60) as client:
        for _ in range(runs):
            start = time.perf_counter()
            body = {"model": "tts-1", "voice": "alloy", "input": text, "response_format": "pcm"}
            with client.stream("POST", f"{url}/v1/audio/speech", json=body) as response:
                got_first = False
                for chunk in response.iter_bytes():
                    if chunk and not got_first:
                        first.append((time.perf_counter() - start) * 1000)
                        got_first = True
            total.append((time.perf_counter() - start) * 1000)
    return {
        "ttfa_p50_ms": round(statistics.median(first), 1),
        "ttfa_max_ms": round(max(first), 1),
        "full_synthesis_p50_ms": round(statistics.median(total), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tts-runs", type=int, default=10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        samples, reference = long_recording(args.minutes * 60)
        audio_seconds = len(samples) / 16000
        path = write_wav(Path(tmp) / "long.wav", samples)
        print(f"recording: {audio_seconds:.0f} s ({path.stat().st_size / 1e6:.1f} MB)")
        raw_runs, ballsy_runs = [], []
        env = {"MAX_AUDIO_SECONDS": "7200", "MAX_UPLOAD_BYTES": str(500 * 1024 * 1024)}
        with ballsy_server(Path(tmp) / "data", **env) as (url, process):
            run_ballsy(url, write_wav(Path(tmp) / "warm.wav", samples[: 16000 * 5]))  # load model
            for round_no in range(args.rounds):
                raw_runs.append(run_raw(path))
                ballsy_runs.append(run_ballsy(url, path))
                print(
                    f"round {round_no + 1}: raw {raw_runs[-1]['seconds']:.1f} s, "
                    f"ballsy {ballsy_runs[-1]['seconds']:.1f} s"
                )
            server_rss = peak_rss_mb(process.pid)
            tts = time_to_first_audio(url, args.tts_runs)

    raw_best = min(r["seconds"] for r in raw_runs)
    ballsy_best = min(r["seconds"] for r in ballsy_runs)
    results = {
        "audio_seconds": round(audio_seconds, 1),
        "raw": {
            "audio_s_per_wall_s": round(audio_seconds / raw_best, 2),
            "wall_seconds": [round(r["seconds"], 2) for r in raw_runs],
            "peak_rss_mb": round(max(r["peak_rss_mb"] for r in raw_runs), 1),
            "wer": round(wer(reference, raw_runs[-1]["text"]), 4),
        },
        "ballsy": {
            "audio_s_per_wall_s": round(audio_seconds / ballsy_best, 2),
            "wall_seconds": [round(r["seconds"], 2) for r in ballsy_runs],
            "server_peak_rss_mb": round(server_rss, 1),
            "wer": round(wer(reference, ballsy_runs[-1]["text"]), 4),
        },
        "throughput_ratio_ballsy_over_raw": round(raw_best / ballsy_best, 3),
        "speech": tts,
    }
    print(json.dumps(results, indent=2))
    save("stt_throughput", results)


if __name__ == "__main__":
    main()
