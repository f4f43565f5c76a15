"""The load kit (benchmarks/locustfile.py, benchmarks/load.py) against a real server:
one user per scenario for a few seconds, every scenario answered, nothing failed."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks._common import ballsy_server
from benchmarks.load import LOCAL_SERVER_ENV, figures, run_locust, wait_ready

pytestmark = pytest.mark.timeout(120)
RUN_TIME_S = 8


def test_each_scenario_is_answered_without_failures(tmp_path: Path) -> None:
    with ballsy_server(tmp_path / "data", **LOCAL_SERVER_ENV) as (url, _):
        wait_ready(url, within=90)
        samples = run_locust(
            url,
            users=1,
            spawn_rate=2,
            run_time=RUN_TIME_S,
            scenarios=["rest", "voice"],
            workdir=tmp_path,
        )
    results = figures(samples, RUN_TIME_S)
    assert set(results) == {"rest", "voice"}
    failed = {
        name: entry["errors"]
        for requests in results.values()
        for name, entry in requests.items()
        if entry["failures"]
    }
    assert not failed, failed
    assert sum(entry["n"] for entry in results["rest"].values()) >= 1
    turn = results["voice"]["WS voice turn: first audio"]
    assert turn["n"] >= 1
    # The microphone kept time: no frame went out far behind its 20 ms slot.
    assert turn["mic_late_max_ms"] < 500, turn
