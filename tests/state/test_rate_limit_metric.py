"""Every refusal by a limit is counted in ``ballsy_rate_limit_rejections_total{scope}``
(the dashboard's "rate limited" panel)."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from ballsy.errors import RateLimited, SpendCapExceeded
from ballsy.security.spend import SpendGuard
from ballsy.state.memory import MemoryBackend
from ballsy.state.ratelimit import RateLimits
from tests.conftest import make_settings


def refused(scope: str) -> float:
    return REGISTRY.get_sample_value("ballsy_rate_limit_rejections_total", {"scope": scope}) or 0


def limits_on(tmp_path: Path, **overrides: object) -> RateLimits:
    return RateLimits(MemoryBackend(), make_settings(tmp_path, **overrides))


async def test_a_refused_request_is_counted_as_rest(tmp_path: Path) -> None:
    limits = limits_on(tmp_path, max_requests_per_minute=2)
    before = refused("rest")
    await limits.check_request("alice")
    await limits.check_request("alice")
    assert refused("rest") == before, "allowed requests are not counted"
    with pytest.raises(RateLimited):
        await limits.check_request("alice")
    assert refused("rest") == before + 1


async def test_a_refused_voice_turn_is_counted_as_voice_turn(tmp_path: Path) -> None:
    limits = limits_on(tmp_path, ws_turns_per_minute=1)
    before, rest = refused("voice_turn"), refused("rest")
    await limits.check_voice_turn("alice")
    with pytest.raises(RateLimited):
        await limits.check_voice_turn("alice")
    assert (refused("voice_turn"), refused("rest")) == (before + 1, rest)


async def test_a_refused_login_is_counted_as_login(tmp_path: Path) -> None:
    limits = limits_on(tmp_path, max_login_attempts_per_minute=1)
    before = refused("login")
    await limits.check_login_account("alice", "192.0.2.1")
    with pytest.raises(RateLimited):
        await limits.check_login_account("alice", "192.0.2.2")
    assert refused("login") == before + 1


async def test_a_spent_budget_is_counted_as_spend_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    guard = SpendGuard(database=None, daily_limit=100)  # type: ignore[arg-type]  # unused here

    async def used_today(_user_id: str) -> int:
        return 100

    monkeypatch.setattr(guard, "used_today", used_today)
    before = refused("spend_cap")
    with pytest.raises(SpendCapExceeded):
        await guard.check("alice")
    assert refused("spend_cap") == before + 1
