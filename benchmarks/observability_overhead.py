"""Overhead of request logging + metrics on a simple route, against the same route without.

Three copies of the real app, built in one process from the same settings except:

- ``full``: the defaults — a JSON ``ballsy.http.request_completed`` line per request
  (written to a real file) and the ``ballsy_http_*`` metrics;
- ``logs`` / ``metrics``: only one of the two, to split the cost;
- ``off``: ``LOG_REQUESTS=false METRICS_ENABLED=false`` (request id still bound and
  returned, as always);
- ``bare``: as ``off`` with the request middleware removed altogether.

Each is driven directly over ASGI with a trivial route this script adds
(``GET /bench/ping`` → ``{"ok": true}``), so no socket, server or client cost dilutes
the difference: the ratio is the worst case a real deployment would see. Time is the
process's CPU time, so other processes on a shared machine distort it less; rounds
interleave the variants so drift hits all of them alike, and the ratios reported are
the medians of each round's paired ratio. The JSON goes to ``benchmarks/results/``.

    .venv/bin/python benchmarks/observability_overhead.py [--requests 3000] [--rounds 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ballsy.app import create_app
from ballsy.config import Settings
from ballsy.observability.logging import configure_logging
from ballsy.observability.middleware import RequestObserver

RESULTS = Path(__file__).resolve().parent / "results"
PATH = "/bench/ping"
SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.4"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": PATH,
    "raw_path": PATH.encode(),
    "query_string": b"",
    "root_path": "",
    "headers": [(b"host", b"bench"), (b"user-agent", b"ballsy-bench/1")],
    "client": ("127.0.0.1", 50000),
    "server": ("bench", 80),
}


async def ping(_request: Request) -> Response:
    return JSONResponse({"ok": True})


def build(variant: str, data_dir: Path) -> FastAPI:
    settings = Settings(
        _env_file=None,
        data_dir=data_dir / variant,
        log_format="json",
        log_requests=variant in ("full", "logs"),
        metrics_enabled=variant in ("full", "metrics"),
    )
    app = create_app(settings)
    # A plain Starlette route: no authentication dependency, nothing but the middleware.
    app.add_route(PATH, ping, methods=["GET"])
    if variant == "bare":
        keep = [m for m in app.user_middleware if m.cls is not RequestObserver]  # type: ignore[comparison-overlap]
        app.user_middleware = keep
    return app


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[FastAPI]:
    async with app.router.lifespan_context(app):
        yield app


async def throughput(app: FastAPI, requests: int) -> float:
    """Requests per CPU-second answered by ``app`` for ``requests`` sequential pings."""
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    started = time.process_time()
    for _ in range(requests):
        await app(dict(SCOPE), receive, send)  # type: ignore[arg-type]
    elapsed = time.process_time() - started
    assert statuses == [200] * requests, set(statuses)
    return requests / elapsed


async def run(requests: int, rounds: int) -> dict[str, Any]:
    variants = ("full", "logs", "metrics", "off", "bare")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        log_path = data_dir / "requests.log"
        with log_path.open("w") as log_file:
            handler = configure_logging(
                Settings(_env_file=None, data_dir=data_dir, log_format="json"),
                stream=log_file,
            )
            apps = {variant: build(variant, data_dir) for variant in variants}
            rates: dict[str, list[float]] = {variant: [] for variant in variants}
            async with AsyncExitStack() as stack:
                for app in apps.values():
                    await stack.enter_async_context(running(app))
                for app in apps.values():  # warm-up: build stacks, caches, first series
                    await throughput(app, max(requests // 10, 50))
                for round_ in range(rounds):
                    # Rotate the order each round so no variant always runs first.
                    shift = round_ % len(variants)
                    order = variants[shift:] + variants[:shift]
                    for variant in order:
                        rates[variant].append(await throughput(apps[variant], requests))
            logging.getLogger().removeHandler(handler)
        lines = sum(1 for _ in log_path.open())
    median = {variant: statistics.median(values) for variant, values in rates.items()}

    def paired(a: str, b: str) -> float:
        return statistics.median(x / y for x, y in zip(rates[a], rates[b], strict=True))

    return {
        "benchmark": "observability_overhead",
        "route": f"GET {PATH}",
        "requests_per_round": requests,
        "rounds": rounds,
        "throughput_rps": {k: round(v, 1) for k, v in median.items()},
        "throughput_rps_all_rounds": {k: [round(x, 1) for x in v] for k, v in rates.items()},
        "ratio_full_vs_off": round(paired("full", "off"), 3),
        "ratio_full_vs_bare": round(paired("full", "bare"), 3),
        "ratio_logs_only_vs_off": round(paired("logs", "off"), 3),
        "ratio_metrics_only_vs_off": round(paired("metrics", "off"), 3),
        "overhead_us_per_request_vs_bare": round(
            (1 / median["full"] - 1 / median["bare"]) * 1e6, 1
        ),
        "request_log_lines_written": lines,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="Requests per round.")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    result = asyncio.run(run(args.requests, args.rounds))
    rps = result["throughput_rps"]
    print(f"GET {PATH} over ASGI, {args.rounds} rounds x {args.requests} requests (median)")
    print("  (requests per CPU-second of this process)")
    for variant, label in (
        ("full", "logging + metrics on"),
        ("logs", "request logging only"),
        ("metrics", "metrics only"),
        ("off", "logging + metrics off"),
        ("bare", "no request middleware"),
    ):
        print(f"  {label:<24} {rps[variant]:>9.1f} req/s")
    print(f"  ratio on/off             {result['ratio_full_vs_off']:.3f}")
    print(f"  ratio on/bare            {result['ratio_full_vs_bare']:.3f}")
    print(f"  ratio logs-only/off      {result['ratio_logs_only_vs_off']:.3f}")
    print(f"  ratio metrics-only/off   {result['ratio_metrics_only_vs_off']:.3f}")
    print(f"  cost per request         {result['overhead_us_per_request_vs_bare']:.1f} µs")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "observability_overhead.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")


if __name__ == "__main__":
    main()
