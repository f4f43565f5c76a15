"""The input budget: a client may not send audio faster than it can be spoken.

A microphone produces audio at real time. Audio that runs ahead of the wall clock by
more than a small allowance (``ratio × elapsed + head start``) is a flood — a buggy
client or a hostile one — and every second of it would cost VAD and transcription
time that other people's conversations need. Such frames are dropped; a client that
keeps going — more than ``close_after_s`` of audio dropped in all — is to be
disconnected. A real microphone never gets there: the allowance is over the
connection's whole life, so a network stall followed by a burst still fits.
"""

from __future__ import annotations

from dataclasses import dataclass

from ballsy.realtime.session.clock import Clock


@dataclass(frozen=True, slots=True)
class BudgetPolicy:
    ratio: float = 1.2
    """Audio seconds allowed per wall-clock second, over the connection's life."""
    head_start_s: float = 2.0
    """Audio a client may send ahead at once (a buffered start, a reconnect)."""
    close_after_s: float = 5.0
    """Seconds of audio dropped, in all, after which the connection is closed."""


@dataclass(frozen=True, slots=True)
class Admission:
    accepted: bool
    dropped_s: float = 0.0
    notify: bool = False
    """First refusal of a run of refusals: tell the client once."""
    close: bool = False
    """The client has overrun for too long: close the connection."""


class InputBudget:
    def __init__(self, clock: Clock, policy: BudgetPolicy | None = None) -> None:
        self.clock = clock
        self.policy = policy or BudgetPolicy()
        self.opened = clock.now()
        self.received_s = 0.0
        self.dropped_s = 0.0
        self._overrun_since: float | None = None

    def allowed_s(self, head_start_s: float | None = None) -> float:
        """Audio this connection may have sent by now."""
        elapsed = self.clock.now() - self.opened
        ahead = self.policy.head_start_s if head_start_s is None else head_start_s
        return self.policy.ratio * elapsed + ahead

    def admit(self, seconds: float, *, head_start_s: float | None = None) -> Admission:
        """Account for a frame of ``seconds`` of audio: keep it, or drop it.

        ``head_start_s`` overrides the policy's for this frame: manual turn-taking only
        buffers audio (no VAD runs on it), so a client may upload a whole recorded turn
        at once, up to the turn's maximum length.
        """
        now = self.clock.now()
        if self.received_s + seconds <= self.allowed_s(head_start_s) + 1e-6:
            self.received_s += seconds
            self._overrun_since = None
            return Admission(accepted=True)
        self.dropped_s += seconds
        first = self._overrun_since is None
        if first:
            self._overrun_since = now
        close = self.dropped_s > self.policy.close_after_s
        return Admission(accepted=False, dropped_s=seconds, notify=first, close=close)
