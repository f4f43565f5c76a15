"""Sessions' events as metrics and logs: the observer every voice session reports to.

It watches the event stream (it is not a stage in it): each ``TurnEnded`` becomes one
:class:`~ballsy.observability.turns.TurnReport` — answered, interrupted or failed —
speculative replies and input overruns are counted.
"""

from __future__ import annotations

from ballsy.observability import metrics
from ballsy.observability.turns import TurnReport, observe_turn
from ballsy.realtime.session.events import (
    InputOverrun,
    SessionEvent,
    SpeculationEnded,
    TurnEnded,
)


def observe_session_event(event: SessionEvent) -> None:
    match event:
        case TurnEnded():
            kind, _, handler = event.handled_by.partition(":")
            observe_turn(
                TurnReport(
                    source="voice",
                    kind=kind,
                    handler=handler,
                    status=event.status,
                    timings=event.timings,
                    error_code=event.error.code if event.error else None,
                    turn_id=event.turn_id,
                    history_id=event.history_id,
                )
            )
        case SpeculationEnded():
            outcome = "used" if event.used else "wasted"
            metrics.SPECULATIVE_REPLIES.labels(outcome).inc()
            metrics.SPECULATIVE_REPLY_SECONDS.labels(outcome).observe(event.seconds)
        case InputOverrun():
            metrics.REALTIME_INPUT_OVERRUNS.labels("closed" if event.close else "dropped").inc()
        case _:
            pass
