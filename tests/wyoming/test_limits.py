"""Per-client limits: the allow-list, the audio pacer, text length."""

from __future__ import annotations

import pytest

from ballsy.realtime.session.budget import BudgetPolicy
from ballsy.wyoming.limits import AudioPacer, ClientFilter, TextTooLong, WyomingLimits


class FakeClock:
    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def test_no_allow_list_admits_everyone() -> None:
    anyone = ClientFilter([])
    assert anyone.allows("203.0.113.7") and anyone.allows("::1") and anyone.allows(None)


def test_an_allow_list_admits_exactly_its_addresses() -> None:
    home = ClientFilter(["192.168.1.20", "10.0.0.0/24", "fd00::/8"])
    assert home.allows("192.168.1.20") and home.allows("10.0.0.99")
    assert home.allows("::ffff:10.0.0.5")  # an IPv4 client on a dual-stack socket
    assert home.allows("fd00::1")
    assert not home.allows("192.168.1.21") and not home.allows("10.0.1.1")
    assert not home.allows("127.0.0.1")  # loopback too must be listed
    assert not home.allows("not an address")


async def test_audio_within_the_budget_passes_at_once() -> None:
    clock = FakeClock()
    pacer = AudioPacer(clock, BudgetPolicy(ratio=1.2, head_start_s=2.0))
    for _ in range(20):
        await pacer.admit(0.1)  # 2 s: the head start
    assert clock.slept == []


async def test_audio_ahead_of_the_budget_waits_instead_of_being_dropped() -> None:
    clock = FakeClock()
    pacer = AudioPacer(clock, BudgetPolicy(ratio=1.2, head_start_s=2.0))
    for _ in range(140):  # 14 s of audio as fast as the client can send it
        await pacer.admit(0.1)
    assert pacer.received_s == pytest.approx(14.0)
    assert clock.t == pytest.approx((14.0 - 2.0) / 1.2, abs=0.01)
    assert pacer.budget.dropped_s == 0.0


def test_text_length() -> None:
    limits = WyomingLimits(max_text_chars=10)
    limits.check_text(10)
    with pytest.raises(TextTooLong):
        limits.check_text(11)
