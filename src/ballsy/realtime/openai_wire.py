"""OpenAI Realtime server events on the wire: names per API version, items, responses.

Event names are written once, in their GA form; :class:`ServerEvents` renames them for
clients of the beta API (``OpenAI-Beta: realtime=v1``: ``response.audio.delta`` for
``response.output_audio.delta``, ``conversation.item.created`` for
``conversation.item.added``…) and drops the events the beta never had.
:class:`ResponseStream` sends the lifecycle of one response, from
``response.created`` to ``response.done``.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from ballsy.realtime.openai_session import Dialect
from ballsy.realtime.transport import Outbox

_BETA_NAMES = {
    "conversation.item.added": "conversation.item.created",
    "response.output_audio.delta": "response.audio.delta",
    "response.output_audio.done": "response.audio.done",
    "response.output_audio_transcript.delta": "response.audio_transcript.delta",
    "response.output_audio_transcript.done": "response.audio_transcript.done",
    "response.output_text.delta": "response.text.delta",
    "response.output_text.done": "response.text.done",
}
_GA_ONLY = frozenset({"conversation.item.done"})
Status = Literal["completed", "cancelled", "failed"]


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(10)}"


class ServerEvents:
    """Every server event leaves through here, with an ``event_id``, in the client's dialect."""

    def __init__(self, outbox: Outbox, dialect: Dialect) -> None:
        self.outbox = outbox
        self.dialect = dialect

    def send(self, kind: str, **fields: Any) -> None:
        if self.dialect == "beta":
            if kind in _GA_ONLY:
                return
            kind = _BETA_NAMES.get(kind, kind)
        self.outbox.send_json({"type": kind, "event_id": new_id("event")} | fields)

    def error(
        self,
        code: str,
        message: str,
        *,
        kind: str = "invalid_request_error",
        param: str | None = None,
        event_id: str | None = None,
    ) -> None:
        error = {"type": kind, "code": code, "message": message, "param": param}
        self.send("error", error=error | {"event_id": event_id})

    def item_added(self, item: dict[str, Any], previous_item_id: str | None) -> None:
        """A new conversation item (GA: ``added`` then ``done``; beta: ``created``)."""
        self.send("conversation.item.added", item=item, previous_item_id=previous_item_id)
        if item.get("status") != "in_progress":
            self.send("conversation.item.done", item=item, previous_item_id=previous_item_id)

    # --- items -----------------------------------------------------------------------

    def user_audio_item(self, item_id: str) -> dict[str, Any]:
        content = [{"type": "input_audio", "transcript": None}]
        return _item(item_id, "user", "completed", content)

    def user_text_item(self, item_id: str, text: str) -> dict[str, Any]:
        return _item(item_id, "user", "completed", [{"type": "input_text", "text": text}])

    def assistant_item(
        self, item_id: str, *, audio: bool, text: str | None, status: str
    ) -> dict[str, Any]:
        return _item(item_id, "assistant", status, [self.part(audio, text, in_item=True)])

    def part(self, audio: bool, text: str | None, *, in_item: bool = False) -> dict[str, Any]:
        """Assistant content: in an item GA says ``output_audio``/``output_text``."""
        kind = "audio" if audio else "text"
        if in_item and self.dialect == "ga":
            kind = f"output_{kind}"
        return {"type": kind, "transcript": text} if audio else {"type": kind, "text": text}


def _item(item_id: str, role: str, status: str, content: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "role": role,
        "status": status,
        "content": content,
    }


def _usage(usage: dict[str, int]) -> dict[str, Any]:
    prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
    return {
        "total_tokens": prompt + completion,
        "input_tokens": prompt,
        "output_tokens": completion,
        "input_token_details": {"text_tokens": prompt, "audio_tokens": 0, "cached_tokens": 0},
        "output_token_details": {"text_tokens": completion, "audio_tokens": 0},
    }


@dataclass(slots=True)
class ResponseStream:
    """One response: ``response.created`` … ``response.done``, in order, exactly once."""

    events: ServerEvents
    audio: bool
    voice: str
    id: str = field(default_factory=lambda: new_id("resp"))
    item_id: str = field(default_factory=lambda: new_id("item"))
    instructions: str | None = None
    turn_id: str | None = None
    started: bool = False
    """The engine is producing it (its ``ResponseStarted`` came)."""
    cancel_reason: str | None = None
    done: bool = False
    audio_ms: float = 0.0
    _text: list[str] = field(default_factory=list)

    def _where(self) -> dict[str, Any]:
        return {
            "response_id": self.id,
            "item_id": self.item_id,
            "output_index": 0,
            "content_index": 0,
        }

    def _response(self, status: str, output: list[dict[str, Any]]) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "object": "realtime.response",
            "status": status,
            "status_details": None,
            "output": output,
            "conversation_id": None,
            "usage": None,
        }
        modalities = ["audio"] if self.audio else ["text"]
        if self.events.dialect == "beta":
            body["modalities"] = ["text", "audio"] if self.audio else ["text"]
            body["voice"] = self.voice
            body["output_audio_format"] = "pcm16"
        else:
            body["output_modalities"] = modalities
            pcm = {"type": "audio/pcm", "rate": 24000}
            body["audio"] = {"output": {"format": pcm, "voice": self.voice}}
        return body

    def created(self) -> None:
        self.events.send("response.created", response=self._response("in_progress", []))

    def start(self, previous_item_id: str | None) -> None:
        """The engine began: the assistant item and its (single) content part."""
        self.started = True
        events = self.events
        item = events.assistant_item(self.item_id, audio=self.audio, text="", status="in_progress")
        item["content"] = []
        events.send("response.output_item.added", response_id=self.id, output_index=0, item=item)
        events.item_added(item, previous_item_id)
        part = events.part(self.audio, "")
        events.send("response.content_part.added", **self._where(), part=part)

    def text_delta(self, text: str) -> None:
        self._text.append(text)
        kind = (
            "response.output_audio_transcript.delta" if self.audio else "response.output_text.delta"
        )
        self.events.send(kind, **self._where(), delta=text)

    def audio_delta(self, pcm: bytes, sample_rate: int) -> None:
        self.audio_ms += len(pcm) / 2 / sample_rate * 1000
        delta = base64.b64encode(pcm).decode()
        self.events.send("response.output_audio.delta", **self._where(), delta=delta)

    def finish(
        self,
        status: Status,
        *,
        text: str | None = None,
        usage: dict[str, int] | None = None,
        error: dict[str, str] | None = None,
    ) -> None:
        """Close every open part, then ``response.done`` with ``status``."""
        if self.done:
            return
        self.done = True
        events, where = self.events, self._where()
        output: list[dict[str, Any]] = []
        if self.started:
            full = "".join(self._text).strip() if text is None else text
            if self.audio:
                events.send("response.output_audio.done", **where)
                events.send("response.output_audio_transcript.done", **where, transcript=full)
            else:
                events.send("response.output_text.done", **where, text=full)
            events.send("response.content_part.done", **where, part=events.part(self.audio, full))
            item_status = "completed" if status == "completed" else "incomplete"
            item = events.assistant_item(
                self.item_id, audio=self.audio, text=full, status=item_status
            )
            events.send("response.output_item.done", response_id=self.id, output_index=0, item=item)
            events.send("conversation.item.done", item=item)
            output = [item]
        body = self._response(status, output)
        if status == "cancelled":
            body["status_details"] = {
                "type": "cancelled",
                "reason": self.cancel_reason or "turn_detected",
            }
        elif status == "failed":
            body["status_details"] = {"type": "failed", "error": error}
        body["usage"] = _usage(usage or {})
        events.send("response.done", response=body)
