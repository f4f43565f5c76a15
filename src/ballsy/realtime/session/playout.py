"""Sending reply audio at the pace it is heard, and knowing what was heard.

Audio leaves in short frames. The first ``lead_s`` seconds go out at once (the
client's jitter buffer), then each frame waits until its playback time comes within
``lead_s`` — so an interruption finds at most ``lead_s`` of audio queued at the client,
and the server knows, to within a frame, how much the user has actually heard.
"""

from __future__ import annotations

from dataclasses import dataclass

from ballsy.realtime.session.clock import Clock, SystemClock


@dataclass(slots=True)
class _Piece:
    text: str
    start_s: float
    duration_s: float


class Playout:
    def __init__(self, *, lead_s: float = 0.25, clock: Clock | None = None) -> None:
        self.lead_s = lead_s
        self.clock = clock or SystemClock()
        self._started: float | None = None
        self._queued_s = 0.0  # audio handed to the client so far
        self._pieces: list[_Piece] = []

    @property
    def started(self) -> bool:
        return self._started is not None

    @property
    def queued_s(self) -> float:
        return self._queued_s

    def begin_piece(self, text: str) -> None:
        """The audio frames that follow speak ``text``."""
        self._pieces.append(_Piece(text=text, start_s=self._queued_s, duration_s=0.0))

    async def wait_for_slot(self, duration_s: float) -> None:
        """Sleep until a frame of ``duration_s`` may be sent, then account for it."""
        now = self.clock.now()
        if self._started is None:
            self._started = now
        due = self._started + self._queued_s - self.lead_s
        if due > now:
            await self.clock.sleep(due - now)
        self._queued_s += duration_s
        if self._pieces:
            self._pieces[-1].duration_s += duration_s

    def played_s(self) -> float:
        """How much audio the client has played by now (it cannot play ahead of us)."""
        if self._started is None:
            return 0.0
        return max(0.0, min(self._queued_s, self.clock.now() - self._started))

    def played_text(self, played_s: float | None = None) -> str:
        """The words heard: whole pieces, then the heard share of the current one."""
        heard = self.played_s() if played_s is None else played_s
        parts: list[str] = []
        for piece in self._pieces:
            end = piece.start_s + piece.duration_s
            if end <= heard + 1e-3:
                parts.append(piece.text)
                continue
            if piece.duration_s > 0 and heard > piece.start_s:
                words = piece.text.split()
                share = (heard - piece.start_s) / piece.duration_s
                spoken = words[: int(len(words) * share)]
                if spoken:
                    parts.append(" ".join(spoken))
            break
        return " ".join(parts)
