"""A connection's requests in progress: the per-connection stream limit, and their tasks.

Every transcription, synthesis and handle holds one slot from the event that opens it
until its last answer is sent; ``WYOMING_MAX_STREAMS`` slots per connection. Requests
that outlive the event that opened them run as tasks here, whose failures become
``error`` events and whose completion is measured (``ballsy_wyoming_latency_seconds``)
and logged (``ballsy.wyoming.request_completed``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from ballsy.errors import BallsyError
from ballsy.observability import metrics
from ballsy.observability.logging import get_logger
from ballsy.wyoming.backends import WyomingBackends
from ballsy.wyoming.errors import RequestFailed, describe_error
from ballsy.wyoming.limits import TooManyStreams, WyomingLimits
from ballsy.wyoming.outbox import Outbox

log = get_logger("ballsy.wyoming")


class Requests:
    def __init__(
        self, *, max_streams: int, connection: str, on_error: Callable[[str, str], None]
    ) -> None:
        self.max_streams = max_streams
        self.connection = connection
        self.on_error = on_error
        self.slots = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def acquire(self) -> None:
        if self.slots >= self.max_streams:
            raise TooManyStreams(
                f"at most {self.max_streams} requests at once on one connection",
                detail={"max_streams": self.max_streams},
            )
        self.slots += 1

    def release(self) -> None:
        self.slots -= 1

    def spawn(self, kind: str, work: Coroutine[Any, Any, None]) -> None:
        """Run a request that holds a slot (already acquired) until it ends."""
        task = asyncio.create_task(self._run(kind, work), name=f"wyoming {kind}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, kind: str, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except (BallsyError, RequestFailed) as exc:
            self.on_error(*describe_error(exc))
        except Exception as exc:
            log.exception("ballsy.wyoming.request_failed", connection=self.connection, request=kind)
            self.on_error(*describe_error(exc))
        finally:
            self.release()

    def completed(self, kind: str, first_s: float | None, done_s: float, **fields: Any) -> None:
        if first_s is not None:
            metrics.WYOMING_LATENCY.labels(kind, "first").observe(first_s)
        metrics.WYOMING_LATENCY.labels(kind, "done").observe(done_s)
        log.info(
            "ballsy.wyoming.request_completed",
            connection=self.connection,
            request=kind,
            first_ms=None if first_s is None else round(first_s * 1000, 1),
            done_ms=round(done_s * 1000, 1),
            **fields,
        )

    async def cancel_all(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


@dataclass(frozen=True, slots=True)
class ConnectionContext:
    """What each service's event handlers use of their connection."""

    backends: WyomingBackends
    limits: WyomingLimits
    outbox: Outbox
    requests: Requests
