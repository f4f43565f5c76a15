"""Several worker processes behind one port: ``/metrics`` answers for all of them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.fake_openai import free_port

REQUESTS = 40


def _health_count(base_url: str) -> float:
    text = httpx.get(f"{base_url}/metrics", timeout=5).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "ballsy_http_requests_total" and sample.labels == {
                "method": "GET",
                "route": "/health",
                "status": "200",
            }:
                return sample.value
    return 0.0


def test_two_workers_share_one_set_of_metrics(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "BALLSY_DATA_DIR": str(tmp_path / "data"),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
        "LOG_FORMAT": "json",
        "PRELOAD_MODELS": "false",
    }
    command = [sys.executable, "-m", "uvicorn", "ballsy.serving:create_worker_app"]
    command += ["--factory", "--workers", "2", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--no-access-log"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        pids: set[str] = set()
        # Ready once both workers have started (each writes its own value files).
        while len(pids) < 2:
            assert server.poll() is None and time.monotonic() < deadline, "workers did not start"
            pids = {p.stem.rsplit("_", 1)[-1] for p in metrics_dir.glob("gauge_*.db")}
            time.sleep(0.2)
        while True:
            try:
                httpx.get(f"{base_url}/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "no worker answers"
                time.sleep(0.1)
        before = _health_count(base_url)
        for _ in range(REQUESTS):  # a new connection each time, so both workers serve
            assert httpx.get(f"{base_url}/health", timeout=5).status_code == 200
        # Whichever worker answers the scrape, it reports every worker's requests.
        assert _health_count(base_url) - before == REQUESTS
        assert _health_count(base_url) - before == REQUESTS
    finally:
        server.terminate()
        server.wait(timeout=30)
