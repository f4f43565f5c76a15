"""Clients closed for flooding audio wait before they may reconnect, longer each time."""

from __future__ import annotations

from ballsy.realtime.wire.penalties import FORGET_S, OverrunPenalties


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_a_flooder_waits_longer_each_time_up_to_a_minute() -> None:
    clock = Clock()
    penalties = OverrunPenalties(clock)
    keys = ["user:mallory", "address:10.0.0.9"]
    assert penalties.retry_after(keys) == 0
    waits = [penalties.punish(keys) for _ in range(6)]
    assert waits == [5.0, 10.0, 20.0, 40.0, 60.0, 60.0]
    assert penalties.retry_after(["address:10.0.0.9"]) == 60.0
    clock.t = 61.0
    assert penalties.retry_after(keys) == 0


def test_others_are_not_affected_and_old_strikes_are_forgotten() -> None:
    clock = Clock()
    penalties = OverrunPenalties(clock)
    penalties.punish(["user:mallory"])
    penalties.punish(["user:mallory"])
    assert penalties.retry_after(["user:alice"]) == 0
    clock.t = FORGET_S + 100
    assert penalties.punish(["user:mallory"]) == 5.0
