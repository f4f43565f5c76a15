"""The assistant as Home Assistant's conversation agent: ``transcript`` → ``handled``.

A ``transcript`` sent to Ballsy (not by it) is a typed turn for the configured user,
run by the realtime engine exactly like a spoken one without speech: skills first,
then the LLM with the user's memory, the turn stored in their history. The reply's
text streams out as ``handled-start``, ``handled-chunk``…, then the complete
``handled`` (for clients without streaming) and ``handled-stop``. A turn the
assistant could not answer (the LLM failed, the user is over their turn limit) is
``not-handled`` with a sentence Home Assistant can speak.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wyoming.asr import Transcript
from wyoming.event import Event
from wyoming.handle import Handled, HandledChunk, HandledStart, HandledStop, NotHandled

from ballsy.observability.logging import get_logger
from ballsy.realtime.session.clock import Clock
from ballsy.realtime.session.engine import VoiceSession
from ballsy.realtime.session.events import ReplyDelta, TurnEnded
from ballsy.realtime.session.options import SessionOptions
from ballsy.realtime.session.ports import SessionPorts
from ballsy.wyoming.errors import parse, text_field
from ballsy.wyoming.requests import ConnectionContext

log = get_logger("ballsy.wyoming.handle")

SORRY = "Sorry, I couldn't answer that right now."
SLOW_DOWN = "Sorry, that's too many requests at once. Please try again in a moment."


@dataclass(frozen=True, slots=True)
class HandleResult:
    handled: bool
    handled_by: str
    history_id: int | None
    first_text_s: float | None
    total_s: float
    error_code: str | None = None


async def handle_transcript(
    text: str,
    context: dict[str, Any] | None,
    *,
    ports: SessionPorts,
    user: str,
    send: Callable[[Event], None],
    streaming: bool,
    clock: Clock,
) -> HandleResult:
    """Answer ``text`` as one assistant turn; raises ``InvalidInput`` for empty or
    oversized text before anything is sent."""
    started = clock.now()
    session = VoiceSession(
        ports,
        user=user,
        options=SessionOptions(server_vad=False, speak=False, partial_transcripts=False),
    )
    first_text_s: float | None = None
    opened = False
    ended: TurnEnded | None = None
    try:
        turn_id = session.submit_text(text, speak=False)
        async for event in session.events():
            if isinstance(event, ReplyDelta) and event.turn_id == turn_id and event.text:
                if first_text_s is None:
                    first_text_s = clock.now() - started
                if streaming:
                    if not opened:
                        send(HandledStart(context=context).event())
                        opened = True
                    send(HandledChunk(text=event.text).event())
            elif isinstance(event, TurnEnded) and event.turn_id == turn_id:
                ended = event
                break
    finally:
        await session.close()
    assert ended is not None
    reply = (ended.text or ended.full_text).strip()
    handled = ended.status == "completed" and bool(reply)
    if handled:
        send(Handled(text=reply, context=context).event())
    else:
        code = ended.error.code if ended.error else ended.status
        log.warning("ballsy.wyoming.not_handled", status=ended.status, code=code)
        send(
            NotHandled(text=SLOW_DOWN if code == "rate_limited" else SORRY, context=context).event()
        )
    if opened:
        send(HandledStop().event())
    return HandleResult(
        handled=handled,
        handled_by=ended.handled_by,
        history_id=ended.history_id,
        first_text_s=first_text_s,
        total_s=clock.now() - started,
        error_code=None if handled else (ended.error.code if ended.error else ended.status),
    )


class HandleEvents:
    """``transcript`` events sent to the server: each one is a turn (a request slot)."""

    def __init__(self, context: ConnectionContext) -> None:
        self.context = context

    async def transcript(self, event: Event) -> None:
        request = parse(Transcript, event)
        text = text_field(request.text, "transcript 'text'")
        self.context.limits.check_text(len(text))
        context = request.context if isinstance(request.context, dict) else None
        self.context.requests.acquire()
        self.context.requests.spawn("handle", self._answer(text, context))

    async def _answer(self, text: str, context: dict[str, Any] | None) -> None:
        backends = self.context.backends
        result = await handle_transcript(
            text,
            context,
            ports=backends.ports,
            user=backends.user,
            send=self.context.outbox.send,
            streaming=backends.streaming,
            clock=backends.clock,
        )
        self.context.requests.completed(
            "handle",
            result.first_text_s,
            result.total_s,
            handled=result.handled,
            handled_by=result.handled_by,
            history_id=result.history_id,
            error_code=result.error_code,
        )
