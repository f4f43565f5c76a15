"""Who shared-model work is for, and in which order it is served.

Every call into a shared model (the inference runtime's speech models, the local LLM)
carries a :class:`WorkTag`: the *owner* (a user) and the *lane*. Lanes are served in
order — ``LEAD`` (work on the path to a reply's first audio: a finished turn's
transcription, a reply's first clause and first sentence of speech) before
``INTERACTIVE`` (the rest of a reply, partial transcripts, REST calls) before
``BACKGROUND`` —, and inside a lane owners take turns (round robin), so one user's
backlog cannot starve another user's first word.

The tag travels in a context variable: set once where the caller is known (the
request's authentication, a voice session's start) and inherited by every task
created afterwards, so no signature between the socket and the model has to carry it.
"""

from __future__ import annotations

import contextlib
import contextvars
import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import IntEnum
from typing import Generic, TypeVar

T = TypeVar("T")


class Lane(IntEnum):
    LEAD = 0
    INTERACTIVE = 1
    BACKGROUND = 2


@dataclass(frozen=True, slots=True)
class WorkTag:
    owner: str
    lane: Lane = Lane.INTERACTIVE


ANONYMOUS = WorkTag(owner="")
_current: contextvars.ContextVar[WorkTag] = contextvars.ContextVar("ballsy_work", default=ANONYMOUS)


def current_work() -> WorkTag:
    return _current.get()


def work_for(owner: str) -> None:
    """Tag the current task (and every task it creates from now on) as ``owner``'s
    interactive work. Called where a caller is authenticated; never reset, since the
    task is that caller's for the rest of its life."""
    _current.set(WorkTag(owner=owner))


@contextlib.contextmanager
def in_lane(lane: Lane) -> Iterator[None]:
    """Model calls made (and tasks created) inside run in ``lane`` for the same owner."""
    token = _current.set(replace(_current.get(), lane=lane))
    try:
        yield
    finally:
        # A pending coroutine closed by the garbage collector runs this in another
        # context, where there is nothing of ours to restore.
        with contextlib.suppress(ValueError):
            _current.reset(token)


class LeadWork:
    """How many model calls on the path to a reply's first audio are running right now,
    on any of the shared models (the speech runtime's threads, the end-of-turn model).

    Lanes order work *inside* each model's queue; this carries the priority *across*
    them. On a CPU box the models share the cores, so while a user's turn is being
    transcribed the local LLM holds back token steps that are not themselves first
    clauses (:meth:`hold_back`), and the transcription gets the whole machine — for a
    bounded time, so the rest of the replies never stalls for longer than that.
    """

    def __init__(self) -> None:
        self._running = 0
        self._lock = threading.Condition()

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        with self._lock:
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                if not self._running:
                    self._lock.notify_all()

    @property
    def busy(self) -> bool:
        return self._running > 0

    def hold_back(self, most_s: float) -> None:
        """Wait until no lead call is running, or ``most_s`` at most."""
        with self._lock:
            self._lock.wait_for(lambda: not self._running, timeout=most_s)


LEAD_WORK = LeadWork()
"""The process's lead calls (the speech runtime and the turn model report theirs)."""


@contextlib.contextmanager
def lead_call(tag: WorkTag) -> Iterator[None]:
    """Count the model call made inside as lead work when ``tag`` is in ``Lane.LEAD``."""
    if tag.lane is Lane.LEAD:
        with LEAD_WORK.running():
            yield
    else:
        yield


class RoundRobin:
    """Turn order between owners: the one served longest ago goes first.

    ``key`` sorts candidates: lane first, then how recently the owner was served,
    then arrival. Not thread-safe: its user holds a lock around it.
    """

    def __init__(self) -> None:
        self._clock = itertools.count(1)
        self._last: dict[str, int] = {}

    def turn(self, owner: str) -> int:
        """Lower for an owner served longer ago (0: never served)."""
        return self._last.get(owner, 0)

    def key(self, lane: Lane, owner: str, arrival: int) -> tuple[int, int, int]:
        return (int(lane), self.turn(owner), arrival)

    def served(self, owner: str) -> None:
        self._last[owner] = next(self._clock)
        if len(self._last) > 4096:  # owners long gone: forget the oldest half
            for stale in sorted(self._last, key=self._last.__getitem__)[:2048]:
                del self._last[stale]


@dataclass(slots=True)
class _Entry(Generic[T]):
    item: T
    tag: WorkTag
    arrival: int


class FairQueue(Generic[T]):
    """A blocking queue for worker threads that hands out items lane first, then owner
    by owner in turn, then in arrival order (see :class:`RoundRobin`)."""

    def __init__(self) -> None:
        self._entries: list[_Entry[T]] = []
        self._order = RoundRobin()
        self._arrivals = itertools.count()
        self._ready = threading.Condition()
        self._closed = False

    def __len__(self) -> int:
        return len(self._entries)

    def put(self, item: T, tag: WorkTag) -> None:
        with self._ready:
            if self._closed:
                raise RuntimeError("the queue is closed")
            self._entries.append(_Entry(item, tag, next(self._arrivals)))
            self._ready.notify()

    def get(self) -> T | None:
        """The next item, waiting for one; None once the queue is closed and empty."""
        with self._ready:
            while not self._entries:
                if self._closed:
                    return None
                self._ready.wait()
            entry = min(
                self._entries,
                key=lambda e: self._order.key(e.tag.lane, e.tag.owner, e.arrival),
            )
            self._entries.remove(entry)
            self._order.served(entry.tag.owner)
            return entry.item

    def close(self) -> list[T]:
        """Refuse new items, wake every waiter, and return the items never handed out."""
        with self._ready:
            self._closed = True
            dropped = [entry.item for entry in self._entries]
            self._entries.clear()
            self._ready.notify_all()
            return dropped
