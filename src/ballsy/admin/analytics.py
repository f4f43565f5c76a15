"""Turn analytics from ``command_history``: activity over time, stage latency
percentiles, and who answered (skills, LLM providers).

Computed in Python over the window's rows (bounded by ``MAX_ROWS``) so that SQLite
and PostgreSQL give the same answer without dialect-specific percentile SQL.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from ballsy.observability.turns import STAGES, TurnTimings
from ballsy.store.analytics_repository import TurnRow

Window = Literal["24h", "7d", "30d"]
MAX_ROWS = 50_000
# Stages in the order a turn goes through them: the fields of TurnTimings.
STAGE_ORDER = STAGES
_WINDOWS: dict[str, tuple[timedelta, timedelta]] = {
    "24h": (timedelta(hours=24), timedelta(hours=1)),
    "7d": (timedelta(days=7), timedelta(days=1)),
    "30d": (timedelta(days=30), timedelta(days=1)),
}


@dataclass(slots=True)
class Bucket:
    start: datetime
    turns: int = 0
    voice: int = 0
    text: int = 0
    interrupted: int = 0
    sessions: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class StageLatency:
    stage: str
    count: int
    p50: float
    p90: float
    p99: float
    mean: float
    max: float


@dataclass(frozen=True, slots=True)
class Ranked:
    name: str
    count: int


@dataclass(frozen=True, slots=True)
class TurnAnalytics:
    since: datetime
    until: datetime
    bucket_seconds: int
    buckets: list[Bucket]
    latency: list[StageLatency]
    top_skills: list[Ranked]
    top_providers: list[Ranked]
    totals: dict[str, int]
    truncated: bool


def window_bounds(window: Window, now: datetime) -> tuple[datetime, datetime, timedelta]:
    """(first bucket start, end, bucket size): buckets aligned to whole hours/days UTC."""
    span, size = _WINDOWS[window]
    now = now.astimezone(UTC)
    if size >= timedelta(days=1):
        end = now.replace(hour=0, minute=0, second=0, microsecond=0) + size
    else:
        end = now.replace(minute=0, second=0, microsecond=0) + size
    return end - span, end, size


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default method)."""
    if not sorted_values:
        return 0.0
    position = (len(sorted_values) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    value = sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)
    return round(value, 1)


def stage_latency(rows: Iterable[TurnRow]) -> list[StageLatency]:
    """Percentiles of every stage timing present, in pipeline order (rows stored with
    the old key names are read as the stages they meant)."""
    samples: dict[str, list[float]] = {}
    for row in rows:
        for key, value in TurnTimings.from_stored(row.timings).as_dict().items():
            if math.isfinite(value):
                samples.setdefault(key.removesuffix("_ms"), []).append(value)
    order = {stage: i for i, stage in enumerate(STAGE_ORDER)}
    result = []
    for stage in sorted(samples, key=lambda s: (order.get(s, len(order)), s)):
        values = sorted(samples[stage])
        result.append(
            StageLatency(
                stage=stage,
                count=len(values),
                p50=percentile(values, 0.5),
                p90=percentile(values, 0.9),
                p99=percentile(values, 0.99),
                mean=round(sum(values) / len(values), 1),
                max=round(values[-1], 1),
            )
        )
    return result


def _ranked(counter: Counter[str], top: int) -> list[Ranked]:
    return [Ranked(name, count) for name, count in counter.most_common(top)]


def analyze(
    rows: Sequence[TurnRow], window: Window, now: datetime, *, truncated: bool = False, top: int = 8
) -> TurnAnalytics:
    since, until, size = window_bounds(window, now)
    count = int((until - since) / size)
    buckets = [Bucket(since + i * size) for i in range(count)]
    skills: Counter[str] = Counter()
    providers: Counter[str] = Counter()
    in_window = [row for row in rows if since <= row.created_at < until]
    for row in in_window:
        bucket = buckets[int((row.created_at - since) / size)]
        bucket.turns += 1
        bucket.voice += row.source == "voice"
        bucket.text += row.source != "voice"
        bucket.interrupted += row.interrupted
        bucket.sessions.add(row.conversation_id or f"turn:{row.user_id}:{row.created_at}")
        bucket.users.add(row.user_id)
        if row.handled_by == "skill":
            skills[row.handler] += 1
        else:
            providers[f"{row.handler}/{row.model}" if row.model else row.handler] += 1
    totals = {
        "turns": len(in_window),
        "voice": sum(b.voice for b in buckets),
        "text": sum(b.text for b in buckets),
        "interrupted": sum(b.interrupted for b in buckets),
        "sessions": len({row.conversation_id for row in in_window if row.conversation_id}),
        "users": len({row.user_id for row in in_window}),
    }
    return TurnAnalytics(
        since=since,
        until=until,
        bucket_seconds=int(size.total_seconds()),
        buckets=buckets,
        latency=stage_latency(in_window),
        top_skills=_ranked(skills, top),
        top_providers=_ranked(providers, top),
        totals=totals,
        truncated=truncated,
    )
