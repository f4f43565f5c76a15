"""Who was closed for flooding audio, and how long they must wait to come back.

The input budget closes a connection that keeps sending audio faster than real time,
but a new connection starts with a fresh budget and head start: a client that simply
reconnects could go on flooding at dozens of connections a second. So a close for
overrun bars the user (and, without authentication, where the user name is the
client's to choose, the client address unless it is loopback) from opening voice
sockets for a while —
5 s at first, doubling with every repeat up to a minute, forgotten after 10 quiet
minutes. In-process: each instance polices the sockets it serves.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

FIRST_S = 5.0
LONGEST_S = 60.0
FORGET_S = 600.0
MAX_ENTRIES = 10_000


@dataclass(slots=True)
class _Record:
    until: float
    strikes: int
    last: float


class OverrunPenalties:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._records: OrderedDict[str, _Record] = OrderedDict()

    def retry_after(self, keys: Iterable[str]) -> float:
        """Seconds until every one of ``keys`` may connect again (0: now)."""
        now = self.clock()
        waits = [record.until - now for key in keys if (record := self._records.get(key))]
        return max([0.0, *waits])

    def punish(self, keys: Iterable[str]) -> float:
        """``keys`` were closed for overrun: bar them; returns the wait imposed."""
        now = self.clock()
        wait = 0.0
        for key in keys:
            record = self._records.pop(key, None)
            strikes = 1 if record is None or now - record.last > FORGET_S else record.strikes + 1
            wait = max(wait, min(LONGEST_S, FIRST_S * 2 ** (strikes - 1)))
            self._records[key] = _Record(until=now + wait, strikes=strikes, last=now)
        while len(self._records) > MAX_ENTRIES:
            self._records.popitem(last=False)
        return wait
