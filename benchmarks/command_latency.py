"""First start and per-request latency of ``POST /api/command`` (skill vs LLM path).

Starts a real ``ballsy serve`` on a fresh data directory and measures the time until
``/health`` answers (process up, migrations run) and until ``/ready`` is 200 (models
loaded), then times typed commands answered by a skill and by the local LLM, with
``GET /health`` in the same run as the baseline.

    .venv/bin/python -m benchmarks.command_latency [--requests 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks._common import free_port, save

SKILL = ["what is 12 times 7", "square root of 144", "15% of 80", "play jazz on spotify"]
LLM = ["tell me a joke", "what should I cook tonight?", "say something nice", "hello there"]


def timed(client: httpx.Client, method: str, path: str, **kwargs: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    response = client.request(method, path, **kwargs)
    elapsed = (time.perf_counter() - start) * 1000
    response.raise_for_status()
    return elapsed, response.json()


def stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
        "max_ms": round(ordered[-1], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = {
            **os.environ,
            "BALLSY_DATA_DIR": str(Path(tmp) / "data"),
            "LOG_LEVEL": "WARNING",
            "MAX_REQUESTS_PER_MINUTE": "100000",
        }
        started = time.perf_counter()
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "ballsy.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            cwd=tmp,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            with httpx.Client(base_url=base, timeout=60) as client:
                health_s = ready_s = None
                while ready_s is None:
                    if process.poll() is not None:
                        raise RuntimeError("ballsy serve exited")
                    try:
                        if health_s is None and client.get("/health").status_code == 200:
                            health_s = time.perf_counter() - started
                        if health_s is not None and client.get("/ready").status_code == 200:
                            ready_s = time.perf_counter() - started
                    except httpx.TransportError:
                        pass
                    time.sleep(0.05)
                baseline, skill, llm = [], [], []
                for i in range(args.requests):
                    baseline.append(timed(client, "GET", "/health")[0])
                    ms, body = timed(
                        client,
                        "POST",
                        "/api/command",
                        json={"text": SKILL[i % len(SKILL)], "client_id": "bench"},
                    )
                    assert body["handled_by"]["kind"] == "skill", body
                    skill.append(ms)
                    ms, body = timed(
                        client,
                        "POST",
                        "/api/command",
                        json={"text": LLM[i % len(LLM)], "client_id": f"b{i}"},
                    )
                    assert body["handled_by"]["kind"] == "llm", body
                    llm.append(ms)
        finally:
            process.terminate()
            process.wait(timeout=30)
    results = {
        "first_start": {"health_s": round(health_s, 2), "ready_s": round(ready_s, 2)},
        "health": stats(baseline),
        "skill": stats(skill),
        "llm": stats(llm),
        "skill_over_health_p50": round(statistics.median(skill) / statistics.median(baseline), 1),
        "llm_over_skill_p50": round(statistics.median(llm) / statistics.median(skill), 1),
    }
    print(json.dumps(results, indent=2))
    save("command_latency", results)


if __name__ == "__main__":
    main()
