"""What one Wyoming client may ask of the server: sizes, counts, audio pace, addresses.

Wyoming has no authentication, so the limits are the protection: who may connect (an
allow-list on top of a loopback bind), how many connections and concurrent requests,
how large an event and how long a text may be, and how fast audio may arrive.

Audio uses the realtime engine's :class:`~ballsy.realtime.session.budget.InputBudget`
(``ratio × elapsed + head start``), but where a WebSocket session must drop frames that
run ahead, a Wyoming connection is a TCP stream: :class:`AudioPacer` simply waits
before reading more, and TCP slows the sender down. No audio is lost and a flood costs
no more CPU than a live microphone would.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from ballsy.config import Settings
from ballsy.errors import BallsyError
from ballsy.realtime.session.budget import BudgetPolicy, InputBudget
from ballsy.realtime.session.clock import Clock

HEAD_START_S = 2.0
"""Audio a client may send ahead of real time at once (a buffered start)."""
MAX_ERRORS = 20
"""Error events sent on one connection before it is closed."""

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class TooManyStreams(BallsyError):
    status_code = 429
    code = "too_many_streams"


class TextTooLong(BallsyError):
    status_code = 413
    code = "text_too_long"


@dataclass(frozen=True, slots=True)
class WyomingLimits:
    max_connections: int = 32
    max_streams: int = 2
    """Requests in progress at once on one connection."""
    max_text_chars: int = 4096
    max_audio_seconds: float = 120.0
    audio_ratio: float = 1.2
    max_event_bytes: int = 64 * 1024
    max_payload_bytes: int = 1024 * 1024
    idle_timeout_s: float = 120.0
    max_errors: int = MAX_ERRORS

    @classmethod
    def from_settings(cls, settings: Settings) -> WyomingLimits:
        return cls(
            max_connections=settings.wyoming_max_connections,
            max_streams=settings.wyoming_max_streams,
            max_text_chars=settings.wyoming_max_text_chars,
            max_audio_seconds=settings.wyoming_max_audio_seconds,
            audio_ratio=settings.wyoming_audio_ratio,
            max_event_bytes=settings.wyoming_max_event_bytes,
            max_payload_bytes=settings.wyoming_max_payload_bytes,
            idle_timeout_s=settings.wyoming_idle_timeout,
        )

    @property
    def budget(self) -> BudgetPolicy:
        return BudgetPolicy(ratio=self.audio_ratio, head_start_s=HEAD_START_S)

    def check_text(self, length: int) -> None:
        if length > self.max_text_chars:
            raise TextTooLong(
                f"the text is longer than {self.max_text_chars} characters",
                detail={"max_chars": self.max_text_chars},
            )


class ClientFilter:
    """Which peer addresses may connect: any (no allow-list), or only the listed ones —
    loopback included, so that an allow-list means exactly what it says."""

    def __init__(self, allowed: list[str]) -> None:
        self.networks: list[IPNetwork] = [ipaddress.ip_network(a, strict=False) for a in allowed]

    def allows(self, host: str | None) -> bool:
        if host is None:  # not an IP socket (a Unix socket in tests): local by definition
            return True
        try:
            address = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not self.networks:
            return True
        return any(address in network for network in self.networks)


class AudioPacer:
    """Hold audio back until the budget allows it (backpressure instead of dropping)."""

    def __init__(self, clock: Clock, policy: BudgetPolicy) -> None:
        self.clock = clock
        self.budget = InputBudget(clock, policy)
        self.waited_s = 0.0

    @property
    def received_s(self) -> float:
        return self.budget.received_s

    async def admit(self, seconds: float) -> None:
        """Return once ``seconds`` more audio fits the budget (at once, usually)."""
        while True:
            ahead = self.budget.received_s + seconds - self.budget.allowed_s()
            if ahead <= 1e-6:
                break
            pause = ahead / self.budget.policy.ratio
            self.waited_s += pause
            await self.clock.sleep(pause)
        admitted = self.budget.admit(seconds)
        assert admitted.accepted
