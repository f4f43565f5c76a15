"""``ballsy bench capacity`` and ``ballsy plan``: measured figures in, a fleet and a bill out."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ballsy.capacity.plan import (
    HOURS_PER_MONTH,
    LLM_LIST_PRICES,
    ROLE_SHAPES,
    Measured,
    PlanError,
    PlanPrices,
    Workload,
    make_plan,
    render,
    session_vcpu,
)
from ballsy.cli import cli
from ballsy.config import Settings, child_process_environment
from ballsy.testing.capacity_bench import SCHEMA, BenchConfig, run_capacity_bench
from tests.deploy.conftest import ROOT

COMMITTED = ROOT / "benchmarks" / "results" / "capacity.json"


def figures(**changes: Any) -> dict[str, Any]:
    """A bench result with round numbers, to check the arithmetic by hand."""
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "measured_at": "2025-01-01T00:00:00+00:00",
        "server": {"base_vcpu": 0.0, "base_rss_mb": 700.0},
        "idle": {"vcpu_per_session": 0.0, "rss_kb_per_session": 50.0},
        "listening": {"vcpu_per_session": 0.01, "rss_kb_per_session": 100.0},
        "talking": {
            "cpu_s_per_turn": 2.0,
            "rss_kb_per_session": 200.0,
            "llm_tokens_in_per_request": 500.0,
            "llm_tokens_out_per_request": 50.0,
        },
        "rest": {"cpu_ms_per_request": 10.0, "llm_cpu_s_per_reply": 1.0},
    }
    for path, value in changes.items():
        section, key = path.split("__")
        data[section][key] = value
    return data


def measured(tmp_path: Path, **changes: Any) -> Measured:
    path = tmp_path / "capacity.json"
    path.write_text(json.dumps(figures(**changes)))
    return Measured.load(path)


def prices(**changes: Any) -> PlanPrices:
    return PlanPrices(_env_file=None, **changes)


def test_session_cpu_is_listening_plus_its_share_of_turns(tmp_path: Path) -> None:
    m = measured(tmp_path)
    # 60 turns an hour; a turn is 1 s of STT/TTS work plus, half the time, 1 s of LLM.
    local = Workload(llm_share=0.5, turns_per_session_hour=60)
    assert session_vcpu(m, local) == pytest.approx(0.01 + 60 / 3600 * 1.5)
    remote = Workload(provider="openai", llm_share=0.5, turns_per_session_hour=60)
    assert session_vcpu(m, remote) == pytest.approx(0.01 + 60 / 3600 * 1.0)


def test_realtime_instances_follow_the_binding_limit(tmp_path: Path) -> None:
    plan = make_plan(measured(tmp_path), Workload(sessions=1000, llm_share=0.5), prices())
    realtime = {role.role: role for role in plan.roles}["realtime"]
    # CPU would fit floor(1.4 / 0.035) = 40 sessions; Cloud Run's concurrency allows 15.
    assert (realtime.limited_by, realtime.per_instance, realtime.peak_instances) == (
        "concurrency", 15, math.ceil(1000 / 15)
    )  # fmt: skip
    heavy = make_plan(
        measured(tmp_path, talking__rss_kb_per_session=200 * 1024.0), Workload(), prices()
    )
    realtime = {role.role: role for role in heavy.roles}["realtime"]
    room_mb = 4 * 1024 * 0.8 - 700
    assert realtime.limited_by == "memory"
    assert realtime.per_instance == math.floor(room_mb / 200)
    busy = make_plan(measured(tmp_path, talking__cpu_s_per_turn=20.0), Workload(), prices())
    assert {role.role: role for role in busy.roles}["realtime"].limited_by == "cpu"


def test_costs_follow_the_formula(tmp_path: Path) -> None:
    m = measured(tmp_path)
    workload = Workload(sessions=1000, provider="openai", peak_hours_per_day=8, offpeak_share=0.1)
    plan = make_plan(m, workload, prices())
    realtime = {role.role: role for role in plan.roles}["realtime"]
    shape = ROLE_SHAPES["realtime"]
    offpeak = math.ceil(realtime.peak_instances * 0.1)
    hours = HOURS_PER_MONTH * (8 / 24 * realtime.peak_instances + 16 / 24 * offpeak)
    per_second = shape.vcpu * 0.000018 + shape.memory_gib * 0.000002
    assert plan.costs["cloud_run_realtime"] == pytest.approx(hours * 3600 * per_second, abs=0.01)
    turns = 1000 * HOURS_PER_MONTH * workload.load_factor * 60
    price_in, price_out = LLM_LIST_PRICES["openai"]
    tokens = turns * 0.7 * (500 * price_in + 50 * price_out) / 1e6
    assert plan.costs["llm_tokens"] == pytest.approx(tokens, abs=0.01)
    assert plan.costs["cloud_sql"] == 215.0 and plan.costs["memorystore_redis"] == 47.0
    assert plan.monthly_total == pytest.approx(sum(plan.costs.values()), abs=0.01)


def test_prices_are_settings(tmp_path: Path) -> None:
    m, workload = measured(tmp_path), Workload(provider="openai")
    cheap = make_plan(m, workload, prices(llm_input_price=0, llm_output_price=0))
    assert cheap.costs["llm_tokens"] == 0
    pricey = make_plan(m, workload, prices(cpu_price=0.000036))
    base = make_plan(m, workload, prices())
    assert pricey.costs["cloud_run_realtime"] > 1.7 * base.costs["cloud_run_realtime"]
    local = make_plan(m, Workload(provider="local"), prices())
    assert local.costs["llm_tokens"] == 0


def test_prices_read_the_plan_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """The planner's own settings read the same ``PLAN_*`` names the server's used to."""
    runner, args = CliRunner(), ["plan", "--json", "--measured", str(COMMITTED)]
    listed = json.loads(runner.invoke(cli, args).output)["costs"]
    monkeypatch.setenv("PLAN_CPU_PRICE", "0.000036")
    monkeypatch.setenv("PLAN_LLM_OUTPUT_PRICE", "3")
    read = prices()
    assert (read.cpu_price, read.llm_output_price, read.llm_input_price) == (0.000036, 3.0, None)
    assert not any(name.startswith("plan_") for name in Settings.model_fields)
    doubled = json.loads(runner.invoke(cli, args).output)["costs"]
    assert doubled["cloud_run_realtime"] > 1.7 * listed["cloud_run_realtime"]


def test_bad_inputs_are_clear(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="ballsy bench capacity"):
        Measured.load(tmp_path / "missing.json")
    (tmp_path / "other.json").write_text('{"something": "else"}')
    with pytest.raises(PlanError, match="not a `ballsy bench capacity` result"):
        Measured.load(tmp_path / "other.json")
    with pytest.raises(PlanError, match="job hours"):
        make_plan(measured(tmp_path), Workload(job_audio_hours_per_day=10), prices())


def test_plan_command_prints_a_plan_from_the_committed_measurements() -> None:
    assert json.loads(COMMITTED.read_text())["schema"] == SCHEMA
    runner = CliRunner()
    result = runner.invoke(cli, ["plan", "--sessions", "1000", "--measured", str(COMMITTED)])
    assert result.exit_code == 0, result.output
    for role in ("api", "realtime", "worker"):
        assert f"\n{role} " in result.output
    assert "total" in result.output and "measured: " in result.output
    as_json = runner.invoke(
        cli, ["plan", "--sessions", "1000", "--provider", "openai", "--json",
              "--measured", str(COMMITTED), "--job-hours", "24"],
    )  # fmt: skip
    plan = json.loads(as_json.output)
    assert plan["workload"]["provider"] == "openai" and plan["costs"]["llm_tokens"] > 0
    assert {r["role"] for r in plan["roles"]} == {"api", "realtime", "worker"}
    bad = runner.invoke(cli, ["plan", "--provider", "nope", "--measured", str(COMMITTED)])
    assert bad.exit_code == 2


@pytest.mark.slow
def test_bench_measures_a_real_server_and_the_plan_reads_it(tmp_path: Path) -> None:
    small = BenchConfig(
        idle=4, listening=2, talking=1, seconds=2.0, requests=12, llm_requests=1, warmup=False
    )
    report = run_capacity_bench(
        small, tmp_path / "capacity.json", environment=child_process_environment()
    )
    assert report["schema"] == SCHEMA and report["idle"]["still_open"] == 4
    assert report["server"]["base_rss_mb"] > 100, "models are loaded before measuring"
    # A turn's own CPU is what the window used beyond the base and microphone load; in
    # a 2-s window on a busy machine that difference may clamp to 0, the usage may not.
    assert report["talking"]["turns"] >= 1 and report["talking"]["server_vcpu"] > 0
    assert report["talking"]["cpu_s_per_turn"] >= 0
    assert report["talking"]["llm_tokens_out_per_request"] > 0
    assert report["rest"]["cpu_ms_per_request"] > 0
    plan = make_plan(Measured.load(tmp_path / "capacity.json"), Workload(), prices())
    assert "realtime" in render(plan)
