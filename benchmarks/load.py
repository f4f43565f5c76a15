"""Load: the locust kit (benchmarks/locustfile.py) run headless for a bounded time.

Starts a real ``ballsy serve`` (embedded models, fresh data directory), waits until it
is ready and warms it with one spoken and one LLM command, then runs locust headless
in its own process — ``--users`` simulated users per scenario (``rest``: REST and
OpenAI-compatible calls; ``voice``: a live microphone on ``/ws/voice``, real speech at
real time) for ``--run-time`` seconds — and prints, per scenario and request, the
count, failures, p50 / p95 / max over the successful ones and the rate. ``--host``
aims it at a running server instead (nothing is started or warmed; ``BALLSY_API_KEY``
authenticates, see docs/load-testing.md). Results: benchmarks/results/load.json.

    .venv/bin/python -m benchmarks.load [--users 4] [--spawn-rate 2] [--run-time 60]
        [--scenarios rest,voice] [--host https://ballsy.example.com]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from benchmarks._common import FIXTURES, ROOT, ballsy_server, save
from benchmarks._conversation import summarize

LOCUSTFILE = ROOT / "benchmarks" / "locustfile.py"
SCENARIOS = {"rest": "RestUser", "voice": "VoiceUser"}
SERVER_STAGES = ("eot_wait_ms", "first_audio_ms", "end_to_end_ms")
"""Kept by the kit with each voice reply (benchmarks/locustfile.py, which imports gevent)."""
LOCAL_SERVER_ENV = {
    # One machine plays every user: the per-user limits would measure themselves.
    "MAX_REQUESTS_PER_MINUTE": "100000",
    "WS_TURNS_PER_MINUTE": "100000",
}


def wait_ready(url: str, within: float = 300.0) -> None:
    """Until ``/ready`` is 200: the models are loaded, the first turn is not a cold one."""
    deadline = time.monotonic() + within
    while httpx.get(f"{url}/ready", timeout=10).status_code != 200:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} not ready within {within:.0f} s")
        time.sleep(0.5)


def warm(url: str) -> None:
    """One spoken command (the shared recording) and one LLM command, so the first
    measured ones are not the first the process answers."""
    with httpx.Client(base_url=url, timeout=120, headers={"X-Client-ID": "load-warm"}) as http:
        upload = {"file": ("english.wav", (FIXTURES / "english.wav").read_bytes(), "audio/wav")}
        http.post("/api/voice", params={"audio": "wav"}, files=upload).raise_for_status()
        http.post("/api/command", json={"text": "tell me a joke"}).raise_for_status()


def run_locust(
    host: str,
    *,
    users: int,
    spawn_rate: float,
    run_time: int,
    scenarios: list[str],
    workdir: Path,
    stop_timeout: int = 10,
) -> list[dict[str, Any]]:
    """Run the kit headless in a child process; every request it made, as recorded."""
    samples = workdir / "samples.jsonl"
    samples.unlink(missing_ok=True)  # the kit appends
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--only-summary",
        "--host",
        host,
        "--users",
        str(users * len(scenarios)),
        "--spawn-rate",
        str(spawn_rate),
        "--run-time",
        f"{run_time}s",
        "--stop-timeout",
        f"{stop_timeout}s",
        "--exit-code-on-error",
        "0",
        "--loglevel",
        "WARNING",
        "--samples-out",
        str(samples),
        *(SCENARIOS[name] for name in scenarios),
    ]
    # The kit imports benchmarks.*: the checkout's root on the path, whatever the cwd.
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    limit = run_time + stop_timeout + 120
    finished = subprocess.run(command, cwd=ROOT, env=env, timeout=limit, check=False)
    if finished.returncode != 0 or not samples.exists():
        raise RuntimeError(f"locust exited with {finished.returncode} and no samples")
    lines = samples.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line]


def figures(samples: list[dict[str, Any]], run_time: float) -> dict[str, dict[str, Any]]:
    """Per scenario, per request name: count, failures and latency of the successes."""
    out: dict[str, dict[str, Any]] = {}
    for key in sorted({(s["type"], s["name"]) for s in samples}):
        chosen = [s for s in samples if (s["type"], s["name"]) == key]
        ok = [s["ms"] for s in chosen if "error" not in s]
        errors = Counter(s["error"] for s in chosen if "error" in s)
        scenario = "voice" if key[0] == "WS" else "rest"
        entry: dict[str, Any] = {
            **summarize(ok),
            "failures": sum(errors.values()),
            "per_s": round(len(chosen) / run_time, 2),
        }
        late = [s["mic_late_ms"] for s in chosen if "mic_late_ms" in s]
        if late:
            entry["mic_late_max_ms"] = max(late)
        for stage in SERVER_STAGES:  # the server's view of the same turns
            if values := [s[stage] for s in chosen if stage in s]:
                entry[f"server_{stage.removesuffix('_ms')}_p50_ms"] = summarize(values)["p50_ms"]
        if errors:
            entry["errors"] = dict(errors.most_common())
        out.setdefault(scenario, {})[f"{key[0]} {key[1]}"] = entry
    return out


WIDTHS = (5, 5, 8, 8, 8, 6)
PERCENTILES = ("p50_ms", "p95_ms", "max_ms")


def _row(name: str, cells: tuple[Any, ...]) -> str:
    return f"{name[:44]:44} " + " ".join(f"{c:>{w}}" for c, w in zip(cells, WIDTHS, strict=True))


def render(results: dict[str, dict[str, Any]]) -> str:
    rows = [_row("request", ("n", "fail", "p50 ms", "p95 ms", "max ms", "/s"))]
    for scenario, requests in results.items():
        rows.append(f"[{scenario}]")
        for name, f in requests.items():
            cells = (f["n"], f["failures"], *(f.get(k, "-") for k in PERCENTILES), f["per_s"])
            rows.append(_row(name, cells))
            rows += [f"    {count} × {error}" for error, count in f.get("errors", {}).items()]
            if "mic_late_max_ms" in f:
                rows.append(f"    microphone at most {f['mic_late_max_ms']} ms behind its pace")
            if server := [f"{k[7:-7]} {v}" for k, v in f.items() if k.startswith("server_")]:
                rows.append("    server p50 ms: " + ", ".join(server))
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=4, help="simulated users per scenario")
    parser.add_argument("--spawn-rate", type=float, default=2, help="users started per second")
    parser.add_argument("--run-time", type=int, default=60, help="seconds of load")
    parser.add_argument("--scenarios", default="rest,voice", help=f"of {','.join(SCENARIOS)}")
    parser.add_argument("--host", default=None, help="a running server (default: start one)")
    args = parser.parse_args()
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = set(scenarios) - set(SCENARIOS)
    if unknown or not scenarios:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {sorted(SCENARIOS)}")
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        host = args.host
        if host is None:
            host, _ = stack.enter_context(ballsy_server(Path(tmp) / "data", **LOCAL_SERVER_ENV))
            wait_ready(host)
            warm(host)
        samples = run_locust(
            host,
            users=args.users,
            spawn_rate=args.spawn_rate,
            run_time=args.run_time,
            scenarios=scenarios,
            workdir=Path(tmp),
        )
    results = figures(samples, args.run_time)
    print("\n" + render(results))
    config = {
        "host": "local" if args.host is None else args.host,
        "users_per_scenario": args.users,
        "spawn_rate": args.spawn_rate,
        "run_time_s": args.run_time,
        "scenarios": scenarios,
        "cpus": os.cpu_count(),
    }
    save("load", {"config": config, "scenarios": results})


if __name__ == "__main__":
    main()
