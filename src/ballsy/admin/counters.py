"""Error and failure counts from the Prometheus metrics this process already keeps.

Failures are not stored per turn, so the dashboard reads the counters that
``ballsy.observability.metrics`` updates where things fail: HTTP answers by status,
LLM generations by outcome, transcriptions by outcome. They count since the process
started (or, with ``PROMETHEUS_MULTIPROC_DIR``, since the workers' directory was
created) — the same numbers ``/metrics`` exports.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

from ballsy.config import Settings


@dataclass(frozen=True, slots=True)
class OutcomeCount:
    name: str  # provider or engine
    outcome: str
    count: int


@dataclass(slots=True)
class ErrorCounters:
    http_total: int = 0
    http_by_class: dict[str, int] = field(default_factory=dict)
    llm: list[OutcomeCount] = field(default_factory=list)
    stt: list[OutcomeCount] = field(default_factory=list)
    rate_limited: dict[str, int] = field(default_factory=dict)

    @property
    def http_error_rate(self) -> float:
        """Share of HTTP answers that were server errors (5xx)."""
        errors = self.http_by_class.get("5xx", 0)
        return round(errors / self.http_total, 4) if self.http_total else 0.0

    def failures(self, kind: str, failed: str) -> int:
        rows = self.llm if kind == "llm" else self.stt
        return sum(row.count for row in rows if row.outcome == failed)


def _registry(settings: Settings) -> CollectorRegistry:
    # The same choice /metrics makes (ballsy.observability.metrics): this process's
    # registry, or every worker's files summed.
    if settings.prometheus_multiproc_dir is None:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=str(settings.prometheus_multiproc_dir))  # type: ignore[no-untyped-call]
    return registry


def read_counters(settings: Settings) -> ErrorCounters:
    counters = ErrorCounters()
    by_class: dict[str, int] = defaultdict(int)
    llm: dict[tuple[str, str], int] = defaultdict(int)
    stt: dict[tuple[str, str], int] = defaultdict(int)
    limited: dict[str, int] = defaultdict(int)
    for family in _registry(settings).collect():
        for sample in family.samples:
            value, labels = int(sample.value), sample.labels
            if sample.name == "ballsy_http_requests_total":
                counters.http_total += value
                by_class[labels.get("status", "?")[:1] + "xx"] += value
            elif sample.name == "ballsy_llm_requests_total":
                llm[(labels.get("provider", "?"), labels.get("outcome", "?"))] += value
            elif sample.name == "ballsy_stt_requests_total":
                stt[(labels.get("engine", "?"), labels.get("outcome", "?"))] += value
            elif sample.name == "ballsy_rate_limit_rejections_total":
                limited[labels.get("scope", "?")] += value
    counters.http_by_class = dict(sorted(by_class.items()))
    counters.llm = [OutcomeCount(n, o, c) for (n, o), c in sorted(llm.items()) if c]
    counters.stt = [OutcomeCount(n, o, c) for (n, o), c in sorted(stt.items()) if c]
    counters.rate_limited = dict(limited)
    return counters
