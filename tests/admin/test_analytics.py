"""Turn analytics: buckets, percentiles and rankings over known rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ballsy.admin.analytics import analyze, percentile, stage_latency, window_bounds
from ballsy.store.analytics_repository import TurnRow

NOW = datetime(2026, 11, 23, 15, 40, tzinfo=UTC)


def row(
    hours_ago: float,
    *,
    user: str = "u1",
    conversation: str | None = "c1",
    source: str = "text",
    handled_by: str = "skill",
    handler: str = "math",
    model: str | None = None,
    interrupted: bool = False,
    timings: dict[str, object] | None = None,
) -> TurnRow:
    return TurnRow(
        created_at=NOW - timedelta(hours=hours_ago),
        user_id=user,
        conversation_id=conversation,
        source=source,
        handled_by=handled_by,
        handler=handler,
        model=model,
        interrupted=interrupted,
        timings=dict(timings or {}),
    )


def test_percentiles_interpolate_like_numpy() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.5
    assert percentile(values, 0.9) == 90.1
    assert percentile(values, 0.99) == 99.0  # rounded to 0.1 ms
    assert percentile([7.0], 0.99) == 7.0
    assert percentile([], 0.5) == 0.0


def test_windows_are_whole_hours_or_days() -> None:
    since, until, size = window_bounds("24h", NOW)
    assert (since, until, size) == (
        datetime(2026, 11, 22, 16, tzinfo=UTC),
        datetime(2026, 11, 23, 16, tzinfo=UTC),
        timedelta(hours=1),
    )
    since, until, size = window_bounds("7d", NOW)
    assert (since, until) == (
        datetime(2026, 11, 17, tzinfo=UTC),
        datetime(2026, 11, 24, tzinfo=UTC),
    )
    assert size == timedelta(days=1)


def test_stage_latency_in_pipeline_order_ignoring_junk() -> None:
    rows = [
        row(1, timings={"total_ms": 100, "stt_ms": 300, "skills_ms": 1, "note": "x"}),
        row(1, timings={"total_ms": 300, "stt_ms": 500, "weird_ms": "slow"}),
        row(1, timings={"total_ms": float("nan")}),
    ]
    latency = stage_latency(rows)
    # Rows stored before TurnTimings said stt_ms for the wait for the transcript.
    assert [s.stage for s in latency] == ["transcript_wait", "skills", "total"]
    total = latency[-1]
    assert (total.count, total.p50, total.mean, total.max) == (2, 200.0, 200.0, 300.0)


@pytest.mark.parametrize(("window", "buckets"), [("24h", 24), ("7d", 7), ("30d", 30)])
def test_activity_buckets_sessions_and_rankings(window: str, buckets: int) -> None:
    rows = [
        row(0.2, user="u1", conversation="c1", source="voice", interrupted=True),
        row(0.3, user="u1", conversation="c1", handler="links"),
        row(0.5, user="u2", conversation="c2", handled_by="llm", handler="openai", model="gpt"),
        row(2.5, user="u2", conversation="c2", handled_by="llm", handler="local"),
        row(24 * 40, user="u3", conversation="c9"),  # outside every window
    ]
    stats = analyze(rows, window, NOW)  # type: ignore[arg-type]
    assert len(stats.buckets) == buckets
    assert stats.totals == {
        "turns": 4,
        "voice": 1,
        "text": 3,
        "interrupted": 1,
        "sessions": 2,
        "users": 2,
    }
    last = stats.buckets[-1]
    if window == "24h":
        # 15:00–16:00 holds the three turns of the last hour; 13:00 the fourth.
        assert (last.turns, len(last.sessions), len(last.users)) == (3, 2, 2)
        assert stats.buckets[-3].turns == 1
    else:
        assert (last.turns, len(last.sessions)) == (4, 2)
    assert [(r.name, r.count) for r in stats.top_skills] == [("math", 1), ("links", 1)]
    assert {(r.name, r.count) for r in stats.top_providers} == {("openai/gpt", 1), ("local", 1)}
