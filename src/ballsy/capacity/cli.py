"""The capacity commands: ``ballsy bench capacity`` and ``ballsy plan``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, get_args

import typer

from ballsy.capacity.plan import PricedProvider
from ballsy.config import Settings, child_process_environment

DEFAULT_RESULTS = Path("benchmarks/results/capacity.json")
DEFAULT_STT_RESULTS = Path("benchmarks/results/stt_throughput.json")

bench_cli = typer.Typer(help="Measure this build on this machine.", no_args_is_help=True)


@bench_cli.command("capacity")
def bench_capacity(
    idle: Annotated[int, typer.Option(min=1, help="Idle WebSocket sessions.")] = 100,
    listening: Annotated[
        int, typer.Option(min=1, help="Sessions streaming microphone audio.")
    ] = 10,
    talking: Annotated[int, typer.Option(min=1, help="Sessions in a conversation.")] = 2,
    seconds: Annotated[float, typer.Option(min=1, help="Measuring window of each phase.")] = 20.0,
    requests: Annotated[int, typer.Option(min=1, help="REST calls (skills, reads).")] = 200,
    llm_requests: Annotated[int, typer.Option(min=1, help="REST commands the LLM answers.")] = 4,
    warmup: Annotated[bool, typer.Option(help="One untimed turn first.")] = True,
    output: Annotated[Path, typer.Option("--output", "-o", help="JSON file.")] = DEFAULT_RESULTS,
) -> None:
    """Per-session CPU and memory of a local server (idle, listening, talking, REST)."""
    # A client of the server: imported here, so `ballsy serve` never loads it.
    from ballsy.testing.capacity_bench import BenchConfig, run_capacity_bench

    config = BenchConfig(idle, listening, talking, seconds, requests, llm_requests, warmup)
    report = run_capacity_bench(config, output, environment=child_process_environment())
    summary = {key: report[key] for key in ("server", "idle", "listening", "talking", "rest")}
    typer.echo(json.dumps(summary, indent=2))
    typer.echo(f"wrote {output}")


def plan(
    sessions: Annotated[
        int, typer.Option(min=1, help="Concurrent voice sessions at the daily peak.")
    ] = 1000,
    provider: Annotated[
        str | None,
        typer.Option(help="LLM provider: " + " | ".join(get_args(PricedProvider)) + "."),
    ] = None,
    turns_per_hour: Annotated[
        float, typer.Option(min=0, help="Turns per open session and hour.")
    ] = 60.0,
    llm_share: Annotated[
        float, typer.Option(min=0, max=1, help="Share of turns the LLM answers.")
    ] = 0.7,
    rest_per_hour: Annotated[
        float, typer.Option(min=0, help="REST calls per open session and hour.")
    ] = 60.0,
    peak_hours: Annotated[float, typer.Option(min=1, max=24, help="Peak hours a day.")] = 8.0,
    offpeak_share: Annotated[
        float, typer.Option(min=0, max=1, help="Off-peak load as a share of the peak.")
    ] = 0.1,
    job_hours: Annotated[
        float, typer.Option(min=0, help="Hours of audio transcribed as jobs per day.")
    ] = 0.0,
    measured: Annotated[
        Path, typer.Option(help="`ballsy bench capacity` output.")
    ] = DEFAULT_RESULTS,
    stt_results: Annotated[
        Path, typer.Option(help="benchmarks/stt_throughput.py output (job workers).")
    ] = DEFAULT_STT_RESULTS,
    as_json: Annotated[bool, typer.Option("--json", help="Print the plan as JSON.")] = False,
) -> None:
    """Instances per role and monthly cost for SESSIONS, from measured figures.

    Prices are the PLAN_* variables (docs/configuration.md, "Capacity planning");
    docs/deploy.md explains the arithmetic with a worked example.
    """
    from ballsy.capacity.plan import Measured, PlanError, PlanPrices, Workload, make_plan, render

    chosen = provider or Settings().llm_provider
    if chosen not in get_args(PricedProvider):
        raise typer.BadParameter(f"unknown provider {chosen!r}", param_hint="--provider")
    try:
        workload = Workload(
            sessions=sessions,
            provider=chosen,  # type: ignore[arg-type]
            turns_per_session_hour=turns_per_hour,
            llm_share=llm_share,
            rest_per_session_hour=rest_per_hour,
            peak_hours_per_day=peak_hours,
            offpeak_share=offpeak_share,
            job_audio_hours_per_day=job_hours,
        )
        result = make_plan(Measured.load(measured, stt_results), workload, PlanPrices())
    except PlanError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(json.dumps(result.as_dict(), indent=2) if as_json else render(result))
