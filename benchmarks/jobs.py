"""Transcription jobs: speed and accuracy versus raw faster-whisper, memory, latency.

In one run, on recordings built from the fixture clips (``long_recording``):

1. **throughput** on the longest recording (≥ 30 min): raw sequential
   ``WhisperModel.transcribe`` (its defaults: beam 5, no VAD; and beam 1 + VAD, what
   the synchronous endpoint does), faster-whisper's whole-file batched pipeline, and
   Ballsy's job pipeline with ``JOB_DECODER=batched`` and ``sequential`` — wall time,
   audio-seconds per second, WER;
2. **peak RSS** of a worker process running a 5-, 15- and 30-minute job (target: flat);
3. **progress updates** of those jobs: per minute, and the longest wall-time gap
   between two (from the job's start to its end; the target is ≤ 2 s);
4. **a 3-second job submitted behind a long one**: its submit-to-done time, and the
   latency of a voice transcription while the long job runs (realtime priority).

``--batch-sizes 8,2`` instead compares ``JOB_BATCH_SIZE`` values on the longest
recording only (runs alternate, twice each, so a shared machine's drift hits all):
throughput, WER and progress gaps — the cost of finer progress
(results: ``jobs_batch_sizes_8_2.json``).

    .venv/bin/python benchmarks/jobs.py [--sizes 5,15,30] [--quick] [--batch-size 8]
    .venv/bin/python benchmarks/jobs.py --sizes 30 --batch-sizes 8,4,2
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ballsy.config import Settings
from benchmarks._common import FIXTURES, long_recording, save, wer, write_wav

CHILD = "--child"


# --- child: one job in a fresh worker process ------------------------------------------


async def _run_job(wav: Path, reference: str, decoder: str, batch_size: int) -> dict[str, Any]:
    from ballsy.config import Settings
    from ballsy.jobs.options import JobEvent, JobOptions
    from ballsy.jobs.service import JobService
    from ballsy.scope import ALL_USERS
    from ballsy.store.db import Database
    from ballsy.store.repositories import UserRepository

    # What a `ballsy worker` process holds: no web app, no voice models.
    data = Path(tempfile.mkdtemp(prefix="ballsy-bench-jobs-"))
    # JOB_NICE=0: the raw baseline runs at normal priority too, so a busy shared
    # machine slows both alike (niceness only decides who wins under contention).
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data,
        database_url=None,
        job_decoder=decoder,
        job_batch_size=batch_size,
        job_nice=0,
    )
    database = Database(settings)
    await database.migrate()
    service = JobService(settings, database)
    async with database.transaction() as session:
        user = await UserRepository(session).get_or_create("bench")

    async def chunks() -> Any:
        with wav.open("rb") as handle:
            while block := handle.read(1 << 20):
                yield block

    view = await service.submit_upload(
        user.id, chunks(), filename=wav.name, options=JobOptions(model="tiny.en"), dispatch=False
    )
    await service.lane.run(service.lane.slot("tiny.en").get)  # model load is not job time
    events: list[tuple[float, JobEvent]] = []
    started = time.perf_counter()
    status = await service.run_here(view.id, lambda e: events.append((time.perf_counter(), e)))
    seconds = time.perf_counter() - started
    text = await service.result(ALL_USERS, view.id, "txt")
    done = await service.get(ALL_USERS, view.id)
    await service.close()
    await database.dispose()
    running = [t for t, e in events if e.status == "running"]
    gaps = sorted(b - a for a, b in itertools.pairwise([started, *running, started + seconds]))
    return {
        "status": status,
        "batch_size": batch_size,
        "audio_s": done.duration,
        "seconds": round(seconds, 2),
        "audio_s_per_s": round((done.duration or 0) / seconds, 1),
        "wer": round(wer(reference, text), 4),
        "chunks": done.chunks_done,
        "progress_updates": len(running),
        "progress_updates_per_min": round(len(running) / (seconds / 60), 1),
        "progress_gap_median_s": round(gaps[len(gaps) // 2], 2),
        "progress_gap_p95_s": round(gaps[int(0.95 * (len(gaps) - 1))], 2),
        "progress_gap_max_s": round(gaps[-1], 2),
        "peak_rss_mb": _peak_rss_mb(),
    }


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def child_main(argv: list[str]) -> None:
    wav, reference_file, decoder, batch = Path(argv[0]), Path(argv[1]), argv[2], int(argv[3])
    result = asyncio.run(_run_job(wav, reference_file.read_text(), decoder, batch))
    print(json.dumps(result))


def run_child(wav: Path, reference: Path, decoder: str, batch_size: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.jobs", CHILD, str(wav), str(reference), decoder,
         str(batch_size)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


# --- raw faster-whisper baselines -------------------------------------------------------


def run_raw(audio: Any, reference: str) -> dict[str, Any]:
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from ballsy.speech.model_files import whisper_tiny_en_dir

    model = WhisperModel(
        str(whisper_tiny_en_dir()), device="cpu", compute_type="int8", local_files_only=True
    )
    model.transcribe(audio[:80_000], language="en")  # warm
    duration = len(audio) / 16_000
    results: dict[str, Any] = {}

    def measure(name: str, run: Any) -> None:
        started = time.perf_counter()
        text = " ".join(s.text.strip() for s in run())
        seconds = time.perf_counter() - started
        results[name] = {
            "seconds": round(seconds, 2),
            "audio_s_per_s": round(duration / seconds, 1),
            "wer": round(wer(reference, text), 4),
        }
        print(f"  {name:28s} {seconds:7.1f} s  {duration / seconds:5.1f}x  "
              f"WER {results[name]['wer']:.3f}", flush=True)  # fmt: skip

    measure("raw_default_beam5", lambda: model.transcribe(audio, language="en")[0])
    measure(
        "raw_beam1_vad",
        lambda: model.transcribe(audio, language="en", beam_size=1, vad_filter=True)[0],
    )
    batched = BatchedInferencePipeline(model)
    measure(
        "raw_batched_whole_file",
        lambda: batched.transcribe(
            audio, language="en", beam_size=1, batch_size=8, without_timestamps=False
        )[0],
    )
    return results


# --- latency behind a long job ----------------------------------------------------------


async def short_job_behind_long(long_wav: Path, short_wav: Path) -> dict[str, Any]:
    """An embedded worker (JOB_CONCURRENCY=2) busy with a long job; then a short one."""
    from ballsy.jobs.options import JobOptions
    from ballsy.scope import ALL_USERS
    from ballsy.services import Services
    from ballsy.speech.audio import decode_audio
    from ballsy.speech.stt import TranscribeOptions
    from ballsy.store.repositories import UserRepository
    from tests.conftest import make_settings

    settings = make_settings(Path(tempfile.mkdtemp(prefix="ballsy-bench-behind-")))
    services = Services.build(settings)
    await services.start()
    jobs, speech = services.jobs, services.speech
    voice = decode_audio(FIXTURES / "jfk.flac").samples
    async with services.database.transaction() as session:
        user = await UserRepository(session).get_or_create("bench")

    async def submit(path: Path) -> str:
        async def chunks() -> Any:
            yield await asyncio.to_thread(path.read_bytes)

        view = await jobs.submit_upload(user.id, chunks(), filename=path.name,
                                        options=JobOptions(model="tiny.en"))  # fmt: skip
        return view.id

    async def wait(job_id: str, status: str = "done") -> None:
        while (await jobs.get(ALL_USERS, job_id)).status != status:  # noqa: ASYNC110 - a DB row
            await asyncio.sleep(0.02)

    async def voice_turn() -> float:
        started = time.perf_counter()
        await speech.transcribe(voice, TranscribeOptions())
        return time.perf_counter() - started

    await voice_turn()  # warm the voice model
    for seat in range(settings.job_concurrency):  # and each job seat's copy
        await jobs.lane.run(jobs.lane.slot("tiny.en", seat).get)
    idle_voice = sorted([await voice_turn() for _ in range(5)])
    started = time.perf_counter()
    await wait(await submit(short_wav))
    alone = time.perf_counter() - started

    long_id = await submit(long_wav)
    while (await jobs.get(ALL_USERS, long_id)).chunks_done < 1:  # noqa: ASYNC110 - a DB row
        await asyncio.sleep(0.05)
    busy_voice = sorted([await voice_turn() for _ in range(5)])
    started = time.perf_counter()
    await wait(await submit(short_wav))
    behind = time.perf_counter() - started
    long_left = (await jobs.get(ALL_USERS, long_id)).status
    await jobs.cancel(ALL_USERS, long_id)
    await services.close()
    return {
        "short_job_alone_s": round(alone, 2),
        "short_job_behind_long_s": round(behind, 2),
        "long_job_still_running_after": long_left == "running",
        "voice_stt_11s_clip_idle_median_s": round(idle_voice[2], 3),
        "voice_stt_11s_clip_during_job_median_s": round(busy_voice[len(busy_voice) // 2], 3),
        "voice_stt_11s_clip_during_job_max_s": round(busy_voice[-1], 3),
    }


# --- batch size: speed versus progress granularity --------------------------------------


def compare_batch_sizes(wav: Path, reference: Path, batches: list[int], name: str) -> None:
    print(f"jobs on the {name} recording at JOB_BATCH_SIZE {batches}, alternating", flush=True)
    runs: dict[int, list[dict[str, Any]]] = {b: [] for b in batches}
    for _ in range(2):
        for batch in batches:
            job = run_child(wav, reference, "batched", batch)
            runs[batch].append(job)
            print(f"  batch {batch:2d}  {job['seconds']:7.1f} s  {job['audio_s_per_s']:5.1f}x  "
                  f"WER {job['wer']:.3f}  gaps: median {job['progress_gap_median_s']} s  "
                  f"p95 {job['progress_gap_p95_s']} s  max {job['progress_gap_max_s']} s",
                  flush=True)  # fmt: skip
    base = sum(j["seconds"] for j in runs[batches[0]]) / 2
    summary = {}
    for batch, jobs in runs.items():
        seconds = sum(j["seconds"] for j in jobs) / 2
        summary[str(batch)] = {
            "seconds_mean": round(seconds, 2),
            "slower_than_first_pct": round((seconds / base - 1) * 100, 1),
            "wer": jobs[0]["wer"],
            "progress_gap_max_s": max(j["progress_gap_max_s"] for j in jobs),
            "runs": jobs,
        }
        print(f"  batch {batch:2d}: mean {seconds:.1f} s "
              f"({summary[str(batch)]['slower_than_first_pct']:+.1f} % vs batch {batches[0]}), "
              f"max gap {summary[str(batch)]['progress_gap_max_s']} s", flush=True)  # fmt: skip
    results = {"recording": name, "model": "tiny.en int8", "batch_sizes": summary}
    save("jobs_batch_sizes_" + "_".join(map(str, batches)), results)


# --- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="5,15,30", help="Job lengths in minutes.")
    parser.add_argument("--quick", action="store_true", help="Skip the sequential decoder run.")
    parser.add_argument("--batch-size", type=int, default=None, help="JOB_BATCH_SIZE of the jobs.")
    parser.add_argument(
        "--batch-sizes", default="", help="Only compare these JOB_BATCH_SIZE values (e.g. 8,2)."
    )
    args = parser.parse_args()
    batch_size = args.batch_size or Settings.model_fields["job_batch_size"].default
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(tempfile.mkdtemp(prefix="ballsy-bench-"))
    recordings: dict[int, tuple[Path, Path, Any]] = {}
    for minutes in sizes:
        audio, text = long_recording(minutes * 60)
        wav = write_wav(work / f"talk-{minutes}min.wav", audio)
        reference = work / f"talk-{minutes}min.txt"
        reference.write_text(text)
        recordings[minutes] = (wav, reference, audio)
    longest = max(sizes)
    if args.batch_sizes:
        batches = [int(b) for b in args.batch_sizes.split(",")]
        compare_batch_sizes(*recordings[longest][:2], batches, f"{longest}min")
        return
    results: dict[str, Any] = {
        "sizes_min": sizes,
        "model": "tiny.en int8",
        "batch_size": batch_size,
        "jobs": {},
    }

    print(f"jobs (batched) on {sizes} min recordings", flush=True)
    for minutes in sizes:
        wav, reference, _ = recordings[minutes]
        job = run_child(wav, reference, "batched", batch_size)
        results["jobs"][f"{minutes}min"] = job
        print(f"  {minutes:3d} min  {job['seconds']:7.1f} s  {job['audio_s_per_s']:5.1f}x  "
              f"WER {job['wer']:.3f}  RSS {job['peak_rss_mb']} MiB  "
              f"{job['progress_updates_per_min']} updates/min  "
              f"gap max {job['progress_gap_max_s']} s", flush=True)  # fmt: skip
    if not args.quick:
        wav, reference, _ = recordings[longest]
        results["job_sequential_decoder"] = run_child(wav, reference, "sequential", batch_size)
        print(f"  sequential decoder: {results['job_sequential_decoder']}", flush=True)

    print(f"raw faster-whisper on the {longest} min recording", flush=True)
    audio = recordings[longest][2]
    results["raw"] = run_raw(audio, recordings[longest][1].read_text())
    # The longest job once more, after the raw runs: load on a shared machine drifts, and
    # the ratio uses the mean of the job runs on either side of the raw ones.
    wav, reference, _ = recordings[longest]
    again = run_child(wav, reference, "batched", batch_size)
    results["job_longest_repeat"] = again
    print(f"  job again: {again['seconds']:7.1f} s  {again['audio_s_per_s']:5.1f}x", flush=True)
    job = results["jobs"][f"{longest}min"]
    job_seconds = (job["seconds"] + again["seconds"]) / 2
    raw = results["raw"]["raw_default_beam5"]
    results["speedup_vs_raw_default"] = round(raw["seconds"] / job_seconds, 2)
    results["speedup_vs_raw_beam1_vad"] = round(
        results["raw"]["raw_beam1_vad"]["seconds"] / job_seconds, 2
    )
    results["wer_points_vs_raw_default"] = round((job["wer"] - raw["wer"]) * 100, 2)
    rss = [results["jobs"][f"{m}min"]["peak_rss_mb"] for m in sizes]
    results["peak_rss_spread_mb"] = round(max(rss) - min(rss), 1)

    print("a 3 s job behind a long one, and voice STT during a job", flush=True)
    short_audio, _ = long_recording(1, pause=0.5)
    short_wav = write_wav(work / "short.wav", short_audio[: 3 * 16_000])
    middle = sorted(sizes)[len(sizes) // 2]
    results["latency"] = asyncio.run(short_job_behind_long(recordings[middle][0], short_wav))
    print(json.dumps(results, indent=2))
    save("jobs", results)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == CHILD:
        child_main(sys.argv[2:])
    else:
        main()
