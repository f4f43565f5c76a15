"""The Prometheus metrics Ballsy exports, and ``GET /metrics``.

Every metric is a module-level object named ``ballsy_…``; other modules import it (or
one of the ``record_*`` helpers) and update it where the event happens. Labels only
take values from small fixed sets — route *templates*, provider and engine names,
stage names — so the number of series stays bounded whatever clients send.

With several worker processes behind one port, set ``PROMETHEUS_MULTIPROC_DIR`` in the
environment (prometheus-client reads it when imported): each process then writes its
values to files there and ``/metrics`` sums them. Gauges declare how processes
combine (``livesum`` for counts of live things, ``livemin`` for readiness).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Literal

import prometheus_client
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response

from ballsy import __version__
from ballsy.config import Settings

# ``_created`` series double the size of every scrape and no dashboard here uses them.
prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]

# The route label of a request that matched no route: one series for every 404 path.
UNMATCHED_ROUTE = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0)
_STAGE_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 30.0)
_JOB_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
_LOAD_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0)

# --- HTTP and connections --------------------------------------------------------------
HTTP_REQUESTS = Counter(
    "ballsy_http_requests_total",
    "HTTP requests answered, by method, route template and status code.",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "ballsy_http_request_duration_seconds",
    "Time from request received to response finished, by method and route template.",
    ["method", "route"],
    buckets=_LATENCY_BUCKETS,
)
HTTP_IN_FLIGHT = Gauge(
    "ballsy_http_requests_in_flight",
    "HTTP requests being handled right now.",
    multiprocess_mode="livesum",
)
WS_CONNECTIONS = Gauge(
    "ballsy_ws_connections_active",
    "Open WebSocket connections, by endpoint.",
    ["endpoint"],
    multiprocess_mode="livesum",
)
SESSIONS = Gauge(
    "ballsy_sessions_active",
    "Voice sessions (realtime conversations) in progress.",
    multiprocess_mode="livesum",
)
RATE_LIMITED = Counter(
    "ballsy_rate_limit_rejections_total",
    "Requests or messages refused by a rate limit, by limit scope.",
    ["scope"],
)
RateLimitScope = Literal[
    "rest", "login", "voice_turn", "ws_message", "spend_cap", "sse_stream", "ws_unauthenticated"
]
"""Which limit refused: REST requests, password attempts, voice turns per user, messages
on one WebSocket, the daily token budget on paid models, event streams per user, or
sockets waiting for their auth message."""

# --- turns ---------------------------------------------------------------------------
TURNS = Counter(
    "ballsy_turns_total",
    "Assistant turns finished, by source (text|voice), kind (skill|llm), handler "
    "(skill or provider name) and whether the user interrupted the reply.",
    ["source", "kind", "handler", "interrupted"],
)
TURN_STAGE_SECONDS = Histogram(
    "ballsy_turn_stage_seconds",
    "Latency of each stage of a turn (the fields of TurnTimings, without _ms).",
    ["stage"],
    buckets=_STAGE_BUCKETS,
)
# Stage names are the fields of ballsy.observability.turns.TurnTimings (one meaning
# each), so no caller can mint new series.
TURN_FAILURES = Counter(
    "ballsy_turn_failures_total",
    "Turns that ended as failed, by source and error code.",
    ["source", "code"],
)
SPECULATIVE_REPLIES = Counter(
    "ballsy_speculative_replies_total",
    "Replies started on the speculative transcript during a pause: used (the pause "
    "ended the turn) or wasted (the user spoke on; nothing was sent or stored).",
    ["outcome"],
)
SPECULATIVE_REPLY_SECONDS = Histogram(
    "ballsy_speculative_reply_seconds",
    "How long a speculative reply ran before it was confirmed or dropped.",
    ["outcome"],
    buckets=_STAGE_BUCKETS,
)
REALTIME_INPUT_OVERRUNS = Counter(
    "ballsy_realtime_input_overruns_total",
    "Voice sockets that sent audio faster than real time: runs of dropped frames "
    "(dropped) and connections closed for it (closed).",
    ["outcome"],
)

# --- Wyoming (Home Assistant) -------------------------------------------------------------
WYOMING_CONNECTIONS = Gauge(
    "ballsy_wyoming_connections_active",
    "Open Wyoming protocol connections.",
    multiprocess_mode="livesum",
)
WYOMING_CONNECTIONS_REFUSED = Counter(
    "ballsy_wyoming_connections_refused_total",
    "Wyoming connections refused, by reason (not_allowed|full|closing).",
    ["reason"],
)
WYOMING_EVENTS = Counter(
    "ballsy_wyoming_events_total",
    "Wyoming events received, by type (the protocol's names; anything else is 'unknown').",
    ["type"],
)
WYOMING_ERRORS = Counter(
    "ballsy_wyoming_errors_total", "Wyoming error events sent, by error code.", ["code"]
)
WYOMING_LATENCY = Histogram(
    "ballsy_wyoming_latency_seconds",
    "Wyoming request latency, by request (asr|tts|handle) and stage. asr: first = "
    "audio-start to the first transcript chunk, done = audio-stop to the transcript; tts "
    "and handle: first = request to the first audio chunk or reply text, done = answered.",
    ["request", "stage"],
    buckets=_STAGE_BUCKETS,
)

# --- models and providers ----------------------------------------------------------------
STT_REQUESTS = Counter(
    "ballsy_stt_requests_total",
    "Transcriptions attempted, by engine and outcome (success|failure).",
    ["engine", "outcome"],
)
TTS_CHARACTERS = Counter(
    "ballsy_tts_characters_total", "Characters synthesized to speech, by engine.", ["engine"]
)
LLM_REQUESTS = Counter(
    "ballsy_llm_requests_total",
    "LLM generations, by provider and outcome (ok|error|cancelled).",
    ["provider", "outcome"],
)
LLM_TOKENS = Counter(
    "ballsy_llm_tokens_total",
    "LLM tokens, by provider and direction (in: prompt, out: completion).",
    ["provider", "direction"],
)
LLM_PROVIDER_ERRORS = Counter(
    "ballsy_llm_provider_errors_total",
    "LLM provider failures after retries, by provider and error code.",
    ["provider", "code"],
)
INFERENCE_WAITING = Gauge(
    "ballsy_inference_waiting",
    "Model calls queued or running on a local inference pool; a saturation signal.",
    ["pool"],
    multiprocess_mode="livesum",
)
MODEL_EVENTS = Counter(
    "ballsy_model_events_total",
    "Local model lifecycle events, by model and event (load|load_failed|unload).",
    ["model", "event"],
)
MODEL_LOAD_SECONDS = Histogram(
    "ballsy_model_load_seconds",
    "Time to load a local model into memory, by model.",
    ["model"],
    buckets=_LOAD_BUCKETS,
)

# --- tools -------------------------------------------------------------------------------
TOOL_CALLS = Counter(
    "ballsy_tool_calls_total",
    "Tool calls the assistant's LLM made, by source (ballsy or an MCP server), tool and "
    "outcome (ok|unknown|bad_arguments|failed|timeout|error).",
    ["source", "tool", "outcome"],
)
TOOL_CALL_SECONDS = Histogram(
    "ballsy_tool_call_seconds",
    "Time one tool call took, by source and tool.",
    ["source", "tool"],
    buckets=_LATENCY_BUCKETS,
)

# --- jobs and operations ---------------------------------------------------------------
JOB_QUEUE_DEPTH = Gauge(
    "ballsy_job_queue_depth",
    "Jobs waiting in a queue, as last seen by any process.",
    ["queue"],
    multiprocess_mode="livemostrecent",
)
JOB_DURATION = Histogram(
    "ballsy_job_duration_seconds",
    "Time from job start to its end, by kind and outcome (done|failed|cancelled).",
    ["kind", "outcome"],
    buckets=_JOB_BUCKETS,
)
JOBS_SUBMITTED = Counter(
    "ballsy_jobs_submitted_total",
    "Transcription jobs accepted, by source (upload|url|cli).",
    ["source"],
)
JOBS_RUNNING = Gauge(
    "ballsy_jobs_running",
    "Transcription jobs this process is working on.",
    multiprocess_mode="livesum",
)
JOB_FAILURES = Counter(
    "ballsy_job_failures_total",
    "Failed job attempts, by error code and whether the job gave up (final) or retries.",
    ["code", "final"],
)
JOB_CHUNK_SECONDS = Histogram(
    "ballsy_job_chunk_seconds",
    "Time to decode and transcribe one chunk of a job.",
    buckets=_STAGE_BUCKETS,
)
JOB_AUDIO_SECONDS = Counter(
    "ballsy_job_audio_seconds_total", "Seconds of audio transcribed by jobs."
)
JOB_WEBHOOKS = Counter(
    "ballsy_job_webhooks_total",
    "Completion webhooks, by outcome (delivered|failed).",
    ["outcome"],
)
READINESS = Gauge(
    "ballsy_readiness_check_up",
    "1 when the named /ready check passed on its last run, else 0.",
    ["check"],
    multiprocess_mode="livemin",
)
BUILD_INFO = Gauge(
    "ballsy_build_info",
    "Always 1; the version label says what runs.",
    ["version"],
    multiprocess_mode="livemax",
)
BUILD_INFO.labels(version=__version__).set(1)


def method_label(method: str) -> str:
    """The method as a label; invented methods share one series."""
    return method if method in _METHODS else "OTHER"


# (method, route, status) → its counter and histogram children. ``labels()`` validates
# and locks on every call; this is on every request's path. Bounded like the labels.
_http_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}


def observe_http(method: str, route: str, status: int, seconds: float) -> None:
    key = (method_label(method), route, status)
    children = _http_children.get(key)
    if children is None:
        children = _http_children[key] = (
            HTTP_REQUESTS.labels(key[0], route, str(status)),
            HTTP_DURATION.labels(key[0], route),
        )
    children[0].inc()
    children[1].observe(seconds)


def record_turn(
    *,
    source: str,
    kind: str,
    handler: str,
    interrupted: bool,
    stages_ms: Mapping[str, float],
    error_code: str | None = None,
) -> None:
    """One finished turn; ``stages_ms`` are its TurnTimings (stage name → ms)."""
    TURNS.labels(source, kind, handler, "true" if interrupted else "false").inc()
    if error_code is not None:
        TURN_FAILURES.labels(source, error_code).inc()
    for stage, value in stages_ms.items():
        TURN_STAGE_SECONDS.labels(stage).observe(value / 1000)


def record_llm_call(
    provider: str,
    outcome: str,
    *,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
    error_code: str | None = None,
) -> None:
    """One finished (or failed) generation of ``provider``."""
    LLM_REQUESTS.labels(provider, outcome).inc()
    if prompt_tokens:
        LLM_TOKENS.labels(provider, "in").inc(prompt_tokens)
    if completion_tokens:
        LLM_TOKENS.labels(provider, "out").inc(completion_tokens)
    if error_code is not None:
        LLM_PROVIDER_ERRORS.labels(provider, error_code).inc()


def record_tool_call(source: str, tool: str, outcome: str, seconds: float) -> None:
    """One tool call the assistant ran (or refused), and how long it took."""
    TOOL_CALLS.labels(source, tool, outcome).inc()
    TOOL_CALL_SECONDS.labels(source, tool).observe(seconds)


def record_rate_limited(scope: RateLimitScope) -> None:
    """A limit refused one request, turn or message."""
    RATE_LIMITED.labels(scope).inc()


def record_model_load(model: str, seconds: float, *, ok: bool) -> None:
    MODEL_EVENTS.labels(model, "load" if ok else "load_failed").inc()
    if ok:
        MODEL_LOAD_SECONDS.labels(model).observe(seconds)


def _registry(settings: Settings) -> CollectorRegistry:
    if settings.prometheus_multiproc_dir is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(settings.prometheus_multiproc_dir))  # type: ignore[no-untyped-call]
    return registry


def metrics_endpoint(settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    """The ``GET /metrics`` handler: this process's metrics, or all workers' ones."""

    async def metrics(_request: Request) -> Response:
        return Response(generate_latest(_registry(settings)), media_type=CONTENT_TYPE_LATEST)

    return metrics


def mark_process_dead(settings: Settings) -> None:
    """Drop this process's live gauges from the shared directory as it exits."""
    if settings.prometheus_multiproc_dir is not None:
        multiprocess.mark_process_dead(os.getpid(), str(settings.prometheus_multiproc_dir))  # type: ignore[no-untyped-call]


_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}


def exported_sample_names(registry: CollectorRegistry = REGISTRY) -> set[str]:
    """Every ``ballsy_`` sample name the registry can export, observed yet or not."""
    names: set[str] = set()
    families: Iterable[prometheus_client.Metric] = registry.collect()
    for family in families:
        if family.name.startswith("ballsy_"):
            names.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ("",)))
    return names
