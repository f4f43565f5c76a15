"""``ballsy plan``: instances per role and a monthly cost, from figures measured here.

Inputs are three things kept apart so each can be argued with on its own:

- **measured** — what a session, a turn and a request cost in this build
  (``ballsy bench capacity`` writes them; :class:`Measured` reads them);
- **workload** — how people use it (:class:`Workload`: peak sessions, turns per hour,
  REST calls, the daily curve, job hours); the defaults are assumptions, stated;
- **prices** — :class:`PlanPrices`, the ``PLAN_*`` variables (USD list prices,
  overridable) and the LLM provider's token prices (:data:`LLM_LIST_PRICES` unless
  ``PLAN_LLM_*_PRICE`` is set).

The instance shapes (:data:`ROLE_SHAPES`) are the ones the deployment files declare;
tests/deploy checks that the Cloud Run YAMLs and Terraform defaults agree with them.
The cost terms are those of the deployment design: Cloud Run CPU and memory per role,
the load balancer (rules, data, Cloud Armor), LLM tokens, Cloud SQL and Memorystore,
and logging. docs/deploy.md works an example through by hand.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

HOURS_PER_MONTH = 730.0
# Headroom: the autoscaler targets these (Kubernetes HPA, Cloud Run's own ~60-70 %).
CPU_TARGET = 0.70
MEMORY_TARGET = 0.80
# Audio on the wire: the microphone is 16 kHz PCM16 while a session is open; replies
# are the TTS rate (hibari: 24 kHz) PCM16 for as long as they play.
MIC_BYTES_PER_SECOND = 16_000 * 2
REPLY_BYTES_PER_SECOND = 24_000 * 2
# Spoken replies: ~0.75 words per token at ~2.5 words per second.
REPLY_SECONDS_PER_TOKEN = 0.3
FREE_LOG_GIB = 50.0
RoleName = Literal["api", "realtime", "worker"]


@dataclass(frozen=True, slots=True)
class RoleShape:
    """One process role as deployed (deploy/cloudrun/*.yaml, deploy/terraform)."""

    vcpu: float
    memory_gib: float
    concurrency: int
    """Requests (api) or WebSocket sessions (realtime) one instance takes at once."""
    min_instances: int
    max_instances: int
    cpu_always_allocated: bool
    timeout_s: int


ROLE_SHAPES: dict[RoleName, RoleShape] = {
    "api": RoleShape(2, 2, 80, 0, 20, False, 300),
    "realtime": RoleShape(2, 4, 15, 1, 100, True, 3600),
    "worker": RoleShape(2, 4, 1, 1, 10, True, 3600),
}

# The LLM providers `ballsy plan` has list prices for.
PricedProvider = Literal["local", "openai", "azure", "mistral", "gemini"]
# USD per million tokens (input, output) of each provider's default model in
# ballsy/llm/providers/ (list prices, 2025): the local model costs nothing per token.
LLM_LIST_PRICES: dict[str, tuple[float, float]] = {
    "local": (0.0, 0.0),
    "openai": (0.15, 0.60),  # gpt-4o-mini
    "azure": (0.15, 0.60),  # gpt-4o-mini, global deployment
    "mistral": (2.0, 6.0),  # mistral-large-latest
    "gemini": (0.30, 2.50),  # gemini-2.5-flash
}


class PlanError(Exception):
    """The inputs cannot make a plan (missing or malformed measurements)."""


@dataclass(frozen=True, slots=True)
class Measured:
    """Per-session figures of this build, from ``ballsy bench capacity``."""

    source: str
    measured_at: str
    base_vcpu: float
    base_rss_mb: float
    idle_vcpu: float
    idle_rss_kb: float
    listening_vcpu: float
    listening_rss_kb: float
    cpu_s_per_turn: float
    talking_rss_kb: float
    llm_cpu_s_per_reply: float
    rest_cpu_ms: float
    tokens_in: float
    tokens_out: float
    stt_audio_s_per_wall_s: float | None = None

    @classmethod
    def load(cls, path: Path, stt_results: Path | None = None) -> Measured:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise PlanError(f"{path} does not exist: run `ballsy bench capacity` first") from None
        except ValueError as exc:
            raise PlanError(f"{path} is not JSON: {exc}") from None
        try:
            talking = data["talking"]
            measured = cls(
                source=str(path),
                measured_at=str(data["measured_at"]),
                base_vcpu=float(data["server"]["base_vcpu"]),
                base_rss_mb=float(data["server"]["base_rss_mb"]),
                idle_vcpu=float(data["idle"]["vcpu_per_session"]),
                idle_rss_kb=float(data["idle"]["rss_kb_per_session"]),
                listening_vcpu=float(data["listening"]["vcpu_per_session"]),
                listening_rss_kb=float(data["listening"]["rss_kb_per_session"]),
                cpu_s_per_turn=float(talking["cpu_s_per_turn"]),
                talking_rss_kb=float(talking["rss_kb_per_session"]),
                llm_cpu_s_per_reply=float(data["rest"]["llm_cpu_s_per_reply"]),
                rest_cpu_ms=float(data["rest"]["cpu_ms_per_request"]),
                tokens_in=float(talking["llm_tokens_in_per_request"] or 0.0),
                tokens_out=float(talking["llm_tokens_out_per_request"] or 0.0),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise PlanError(f"{path} is not a `ballsy bench capacity` result: {exc!r}") from None
        if stt_results is not None and stt_results.is_file():
            stt = json.loads(stt_results.read_text(encoding="utf-8"))
            throughput = stt.get("ballsy", {}).get("audio_s_per_wall_s")
            if throughput:
                measured = _replace(measured, stt_audio_s_per_wall_s=float(throughput))
        return measured


def _replace(measured: Measured, **changes: Any) -> Measured:
    return Measured(**{**asdict(measured), **changes})


@dataclass(frozen=True, slots=True)
class Workload:
    """How the fleet is used. Defaults are assumptions (docs/deploy.md states why)."""

    sessions: int = 1000
    """Voice sessions open at the daily peak."""
    provider: PricedProvider = "local"
    turns_per_session_hour: float = 60.0
    """Turns one open session takes per hour (one a minute)."""
    llm_share: float = 0.7
    """Share of turns the LLM answers; skills answer the rest."""
    rest_per_session_hour: float = 60.0
    """REST calls per open session and hour (history, settings, heartbeats, tickets)."""
    peak_hours_per_day: float = 8.0
    offpeak_share: float = 0.1
    """Load outside the peak hours, as a share of the peak."""
    job_audio_hours_per_day: float = 0.0
    log_kb_per_turn: float = 2.0
    log_kb_per_request: float = 1.0

    def __post_init__(self) -> None:
        if self.sessions < 1:
            raise PlanError("sessions must be at least 1")
        if not 0 <= self.llm_share <= 1 or not 0 <= self.offpeak_share <= 1:
            raise PlanError("llm_share and offpeak_share are shares between 0 and 1")
        if not 0 < self.peak_hours_per_day <= 24:
            raise PlanError("peak_hours_per_day must be in (0, 24]")

    @property
    def peak_fraction(self) -> float:
        return self.peak_hours_per_day / 24

    @property
    def load_factor(self) -> float:
        """Average load over the month as a share of the peak."""
        return self.peak_fraction + (1 - self.peak_fraction) * self.offpeak_share

    @property
    def session_hours(self) -> float:
        return self.sessions * HOURS_PER_MONTH * self.load_factor


class PlanPrices(BaseSettings):
    """The USD list prices ``ballsy plan`` multiplies by: ``PLAN_*`` variables (or the
    ``.env`` file), read by the planner alone; the server's :class:`~ballsy.config.Settings`
    does not carry them."""

    model_config = SettingsConfigDict(
        env_prefix="PLAN_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    cpu_price: float = Field(
        default=0.000018,
        ge=0,
        description="Per vCPU-second of a Cloud Run instance with CPU always allocated "
        "(realtime, worker).",
    )
    memory_price: float = Field(
        default=0.000002, ge=0, description="Per GiB-second, CPU always allocated."
    )
    request_cpu_price: float = Field(
        default=0.000024,
        ge=0,
        description="Per vCPU-second of a Cloud Run instance billed per request (api).",
    )
    request_memory_price: float = Field(
        default=0.0000025, ge=0, description="Per GiB-second, billed per request (api)."
    )
    request_price: float = Field(
        default=0.40, ge=0, description="Per million Cloud Run requests (api)."
    )
    lb_monthly: float = Field(
        default=18.25, ge=0, description="Per month for the load balancer forwarding rules."
    )
    lb_data_price: float = Field(
        default=0.008, ge=0, description="Per GB the load balancer processes (both ways)."
    )
    armor_monthly: float = Field(
        default=13.0, ge=0, description="Per month for the Cloud Armor policy and its rules."
    )
    armor_request_price: float = Field(
        default=0.75, ge=0, description="Per million requests Cloud Armor evaluates."
    )
    llm_input_price: float | None = Field(
        default=None,
        ge=0,
        description="Per million LLM input tokens; unset means the list price of the "
        "planned provider (`ballsy plan --provider`).",
    )
    llm_output_price: float | None = Field(
        default=None, ge=0, description="Per million LLM output tokens; unset: list price."
    )
    sql_monthly: float = Field(
        default=215.0,
        ge=0,
        description="Per month for Cloud SQL (production: 2 vCPU, 7.5 GB, HA, 50 GB SSD).",
    )
    redis_monthly: float = Field(
        default=47.0, ge=0, description="Per month for Memorystore Redis (1 GB, standard HA)."
    )
    log_price: float = Field(
        default=0.50, ge=0, description="Per GiB of logs ingested past the free 50 GiB."
    )


@dataclass(frozen=True, slots=True)
class RolePlan:
    role: RoleName
    shape: RoleShape
    peak_instances: int
    offpeak_instances: int
    per_instance: float
    """Sessions (realtime), requests per second (api) or jobs (worker) per instance."""
    limited_by: str
    instance_hours: float
    monthly_cost: float
    limits: dict[str, float] = field(default_factory=dict)
    """What each constraint alone would allow per instance (realtime)."""


@dataclass(frozen=True, slots=True)
class Plan:
    workload: Workload
    measured: Measured
    roles: list[RolePlan]
    costs: dict[str, float]
    notes: list[str] = field(default_factory=list)

    @property
    def monthly_total(self) -> float:
        return round(sum(self.costs.values()), 2)

    def as_dict(self) -> dict[str, Any]:
        return {
            "workload": asdict(self.workload),
            "measured": asdict(self.measured),
            "roles": [asdict(role) for role in self.roles],
            "costs": self.costs,
            "monthly_total": self.monthly_total,
            "notes": self.notes,
        }


# --- the arithmetic ----------------------------------------------------------------


def session_vcpu(measured: Measured, workload: Workload) -> float:
    """vCPUs one open session needs on a realtime instance, on average at the peak."""
    # The benchmark's turns were all answered by the local LLM; a skill turn or a remote
    # provider costs the rest of the turn (VAD, STT, TTS, persistence) only.
    llm = measured.llm_cpu_s_per_reply if workload.provider == "local" else 0.0
    other = max(0.0, measured.cpu_s_per_turn - measured.llm_cpu_s_per_reply)
    per_turn = other + workload.llm_share * llm
    return measured.listening_vcpu + workload.turns_per_session_hour / 3600 * per_turn


def _instance_hours(shape: RoleShape, peak: int, workload: Workload) -> tuple[int, float]:
    offpeak = max(shape.min_instances, math.ceil(peak * workload.offpeak_share))
    share = workload.peak_fraction
    return offpeak, HOURS_PER_MONTH * (share * peak + (1 - share) * offpeak)


def _always_on_cost(shape: RoleShape, hours: float, prices: PlanPrices) -> float:
    per_second = shape.vcpu * prices.cpu_price + shape.memory_gib * prices.memory_price
    return hours * 3600 * per_second


def plan_realtime(measured: Measured, workload: Workload, prices: PlanPrices) -> RolePlan:
    shape = ROLE_SHAPES["realtime"]
    cpu = session_vcpu(measured, workload)
    memory_kb = max(measured.idle_rss_kb, measured.listening_rss_kb, measured.talking_rss_kb)
    cpu_room = shape.vcpu * CPU_TARGET - measured.base_vcpu
    memory_room_kb = (shape.memory_gib * 1024 * MEMORY_TARGET - measured.base_rss_mb) * 1024
    limits = {
        "concurrency": float(shape.concurrency),
        "cpu": cpu_room / cpu if cpu > 0 else math.inf,
        "memory": memory_room_kb / memory_kb if memory_kb > 0 else math.inf,
    }
    limited_by = min(limits, key=lambda name: limits[name])
    per_instance = max(1, math.floor(limits[limited_by]))
    peak = max(shape.min_instances, math.ceil(workload.sessions / per_instance))
    offpeak, hours = _instance_hours(shape, peak, workload)
    cost = _always_on_cost(shape, hours, prices)
    shown = {name: round(value, 1) for name, value in limits.items()}
    return RolePlan("realtime", shape, peak, offpeak, per_instance, limited_by, hours, cost, shown)


def plan_api(measured: Measured, workload: Workload, prices: PlanPrices) -> RolePlan:
    shape = ROLE_SHAPES["api"]
    rps = workload.sessions * workload.rest_per_session_hour / 3600
    cpu_room = shape.vcpu * CPU_TARGET - measured.base_vcpu
    # Requests per second one instance serves at CPU_TARGET. Its concurrency (80) bounds
    # requests in flight, not per second: it binds only for slow, I/O-bound calls.
    per_instance = cpu_room / (measured.rest_cpu_ms / 1000) if measured.rest_cpu_ms else 1e6
    peak = max(1, shape.min_instances, math.ceil(rps / per_instance))
    offpeak, hours = _instance_hours(shape, peak, workload)
    # Billed per request: an upper bound that counts every instance-hour as busy.
    per_second = (
        shape.vcpu * prices.request_cpu_price + shape.memory_gib * prices.request_memory_price
    )
    cost = hours * 3600 * per_second + _requests(workload) / 1e6 * prices.request_price
    return RolePlan("api", shape, peak, offpeak, round(per_instance, 1), "cpu", hours, cost)


def plan_worker(measured: Measured, workload: Workload, prices: PlanPrices) -> RolePlan:
    shape = ROLE_SHAPES["worker"]
    peak = shape.min_instances
    limited_by = "minimum"
    per_instance = 0.0
    if workload.job_audio_hours_per_day > 0:
        if not measured.stt_audio_s_per_wall_s:
            raise PlanError(
                "job hours were given but no STT throughput was measured: run "
                "`python -m benchmarks.stt_throughput` or pass --stt-results"
            )
        # Audio hours one worker transcribes per hour of wall time, kept at CPU_TARGET.
        per_instance = measured.stt_audio_s_per_wall_s * CPU_TARGET
        peak_hourly = workload.job_audio_hours_per_day / 24 / workload.load_factor
        peak = max(peak, math.ceil(peak_hourly / per_instance))
        limited_by = "cpu"
    offpeak, hours = _instance_hours(shape, peak, workload)
    cost = _always_on_cost(shape, hours, prices)
    return RolePlan("worker", shape, peak, offpeak, round(per_instance, 1), limited_by, hours, cost)


def _turns(workload: Workload) -> float:
    return workload.session_hours * workload.turns_per_session_hour


def _requests(workload: Workload) -> float:
    return workload.session_hours * workload.rest_per_session_hour


def llm_prices(workload: Workload, prices: PlanPrices) -> tuple[float, float]:
    listed_in, listed_out = LLM_LIST_PRICES[workload.provider]
    price_in = prices.llm_input_price
    price_out = prices.llm_output_price
    return (
        listed_in if price_in is None else price_in,
        listed_out if price_out is None else price_out,
    )


def shared_costs(measured: Measured, workload: Workload, prices: PlanPrices) -> dict[str, float]:
    """The monthly terms that do not belong to one role."""
    turns, requests = _turns(workload), _requests(workload)
    reply_seconds = measured.tokens_out * REPLY_SECONDS_PER_TOKEN
    lb_bytes = workload.session_hours * 3600 * MIC_BYTES_PER_SECOND + turns * (
        reply_seconds * REPLY_BYTES_PER_SECOND
    )
    connections = workload.session_hours  # about one WebSocket handshake per session-hour
    price_in, price_out = llm_prices(workload, prices)
    llm_turns = turns * workload.llm_share
    log_gib = (turns * workload.log_kb_per_turn + requests * workload.log_kb_per_request) / 2**20
    return {
        "load_balancer": prices.lb_monthly + lb_bytes / 1e9 * prices.lb_data_price,
        "cloud_armor": prices.armor_monthly
        + (requests + connections) / 1e6 * prices.armor_request_price,
        "llm_tokens": llm_turns
        * (measured.tokens_in * price_in + measured.tokens_out * price_out)
        / 1e6,
        "cloud_sql": prices.sql_monthly,
        "memorystore_redis": prices.redis_monthly,
        "logging": max(0.0, log_gib - FREE_LOG_GIB) * prices.log_price,
    }


def make_plan(measured: Measured, workload: Workload, prices: PlanPrices) -> Plan:
    roles = [
        plan_api(measured, workload, prices),
        plan_realtime(measured, workload, prices),
        plan_worker(measured, workload, prices),
    ]
    costs = {f"cloud_run_{role.role}": role.monthly_cost for role in roles}
    costs.update(shared_costs(measured, workload, prices))
    notes = []
    realtime = roles[1]
    if realtime.peak_instances > realtime.shape.max_instances:
        notes.append(
            f"realtime needs {realtime.peak_instances} instances at the peak, above its "
            f"max_instances of {realtime.shape.max_instances}: raise it before launch"
        )
    if workload.provider == "local":
        notes.append("local LLM: replies run on the realtime instances' CPUs (no token bill)")
    return Plan(workload, measured, roles, {k: round(v, 2) for k, v in costs.items()}, notes)


# --- the report --------------------------------------------------------------------


def render(plan: Plan) -> str:
    """The plan as the text ``ballsy plan`` prints."""
    w, m = plan.workload, plan.measured
    lines = [
        f"Ballsy capacity plan: {w.sessions} concurrent voice sessions at peak, "
        f"LLM provider {w.provider}",
        f"measured: {m.source} ({m.measured_at})",
        f"  per open session: {m.listening_vcpu:.4f} vCPU listening, "
        f"{max(m.idle_rss_kb, m.listening_rss_kb, m.talking_rss_kb):.0f} KB; "
        f"per turn {m.cpu_s_per_turn:.2f} CPU-s (local LLM reply {m.llm_cpu_s_per_reply:.2f}); "
        f"per REST call {m.rest_cpu_ms:.1f} CPU-ms",
        f"  instance base: {m.base_rss_mb:.0f} MB with models, {m.base_vcpu:.3f} vCPU",
        f"workload: {w.turns_per_session_hour:g} turns and {w.rest_per_session_hour:g} REST "
        f"calls per session-hour, {w.llm_share:.0%} of turns by the LLM, peak "
        f"{w.peak_hours_per_day:g} h/day, off-peak {w.offpeak_share:.0%} of peak",
        "",
        f"{'role':<9}{'shape':<14}{'per instance':<27}{'peak':>5}{'off-peak':>10}{'USD/month':>12}",
    ]
    units = {"api": "req/s", "realtime": "sessions", "worker": "audio-s/s"}
    for role in plan.roles:
        shape = f"{role.shape.vcpu:g} vCPU {role.shape.memory_gib:g} GiB"
        amount = f"{role.per_instance:g} {units[role.role]}" if role.per_instance else "-"
        capacity = f"{amount} ({role.limited_by})"
        lines.append(
            f"{role.role:<9}{shape:<14}{capacity:<27}{role.peak_instances:>5}"
            f"{role.offpeak_instances:>10}{role.monthly_cost:>12,.2f}"
        )
    realtime = next(role for role in plan.roles if role.role == "realtime")
    fits = ", ".join(f"{name} {value:g}" for name, value in realtime.limits.items())
    lines.append(
        f"realtime: {session_vcpu(m, w):.4f} vCPU per session at this workload; "
        f"sessions per instance by {fits}"
    )
    lines += ["", "monthly cost (USD):"]
    for name, cost in plan.costs.items():
        lines.append(f"  {name:<22}{cost:>12,.2f}")
    lines.append(f"  {'total':<22}{plan.monthly_total:>12,.2f}")
    lines += [f"note: {note}" for note in plan.notes]
    return "\n".join(lines)
