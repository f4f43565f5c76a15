"""The input budget: real-time audio passes, floods are dropped, then closed."""

from __future__ import annotations

from ballsy.realtime.session.budget import BudgetPolicy, InputBudget
from tests.realtime.session.fakes import FakeClock


def test_real_time_audio_always_fits() -> None:
    clock = FakeClock()
    budget = InputBudget(clock)
    for _ in range(3000):
        clock.advance(0.02)
        assert budget.admit(0.02).accepted
    assert budget.dropped_s == 0


def test_a_burst_up_to_the_head_start_is_accepted() -> None:
    budget = InputBudget(FakeClock(), BudgetPolicy(head_start_s=2.0))
    assert budget.admit(1.0).accepted and budget.admit(1.0).accepted
    refused = budget.admit(0.5)
    assert not refused.accepted and refused.notify and not refused.close
    assert not budget.admit(0.5).notify  # told once per run


def test_a_client_that_keeps_overrunning_is_to_be_closed() -> None:
    clock = FakeClock()
    budget = InputBudget(clock, BudgetPolicy(close_after_s=5.0))
    budget.admit(2.0)
    for _ in range(4):  # twice real time: half of it dropped, 1 s a round
        clock.advance(1.0)
        assert budget.admit(1.2).accepted
        assert not budget.admit(1.0).close
    clock.advance(1.0)
    budget.admit(1.2)
    assert budget.admit(1.5).close


def test_a_client_that_slows_down_is_forgiven() -> None:
    clock = FakeClock()
    budget = InputBudget(clock)
    budget.admit(2.0)
    assert not budget.admit(1.0).accepted
    clock.advance(2.0)  # 2.4 s more allowed
    assert budget.admit(1.0).accepted
    assert budget.admit(2.0).notify  # a new run of refusals is told again
