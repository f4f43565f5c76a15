"""OpenAI Realtime server events: names per API version, items, responses.

Event names are written once, in their GA form; :class:`ServerEvents` renames them for
clients of the beta API (``OpenAI-Beta: realtime=v1``: ``response.audio.delta`` for
``response.output_audio.delta``, ``conversation.item.created`` for
``conversation.item.added``…) and drops the events the beta never had. Its
``response_*`` builders render the lifecycle of one response, ``response.created`` to
``response.done`` — its assistant message, or the function calls its model made —;
which response is in which state is the conversation's to know.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Protocol

from ballsy.llm.base import ToolCall
from ballsy.realtime.session.events import TurnError, TurnStatus
from ballsy.realtime.wire.openai.protocol import ClientEventError, new_id
from ballsy.realtime.wire.openai.session_config import RATE, Dialect
from ballsy.realtime.wire.outbox import POLICY_VIOLATION

MAX_REFUSALS = 20
"""Client errors tolerated on one connection before it is closed (1008)."""

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
_CLIENT_FAULTS = frozenset({"invalid_input", "input_missing", "rate_limited", "not_found"})


class EventSink(Protocol):
    """Where server events go (the connection's :class:`~ballsy.realtime.wire.outbox.Outbox`)."""

    def send_json(self, message: dict[str, Any]) -> None: ...

    def close(self, code: int = 1000, reason: str = "") -> None: ...


@dataclass(frozen=True, slots=True)
class ResponseShape:
    """What identifies one response on the wire, fixed when it is created."""

    id: str
    item_id: str
    audio: bool
    voice: str

    @classmethod
    def new(cls, *, audio: bool, voice: str) -> ResponseShape:
        return cls(new_id("resp"), new_id("item"), audio, voice)


def error_type(code: str) -> str:
    return "invalid_request_error" if code in _CLIENT_FAULTS else "server_error"


class ServerEvents:
    """Every server event leaves through here, with an ``event_id``, in the client's dialect."""

    def __init__(self, sink: EventSink, dialect: Dialect) -> None:
        self.sink = sink
        self.dialect: Dialect = dialect
        self.refusals = 0

    def send(self, kind: str, **fields: Any) -> None:
        if self.dialect == "beta":
            if kind in _GA_ONLY:
                return
            kind = _BETA_NAMES.get(kind, kind)
        self.sink.send_json({"type": kind, "event_id": new_id("event")} | fields)

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

    def refuse(self, refusal: ClientEventError) -> None:
        """Answer a refused client event; a client refused too often is disconnected."""
        self.refusals += 1
        self.error(refusal.code, refusal.message, param=refusal.param, event_id=refusal.event_id)
        if self.refusals >= MAX_REFUSALS:
            self.sink.close(POLICY_VIOLATION, "too many client errors")

    # --- items -----------------------------------------------------------------------

    def item_added(self, item: dict[str, Any], previous_item_id: str | None) -> None:
        """A new conversation item (GA: ``added`` then ``done``; beta: ``created``)."""
        self.send("conversation.item.added", item=item, previous_item_id=previous_item_id)
        if item.get("status") != "in_progress":
            self.send("conversation.item.done", item=item, previous_item_id=previous_item_id)

    def user_audio_item(self, item_id: str) -> dict[str, Any]:
        content = [{"type": "input_audio", "transcript": None}]
        return _item(item_id, "user", "completed", content)

    def user_text_item(self, item_id: str, text: str) -> dict[str, Any]:
        return _item(item_id, "user", "completed", [{"type": "input_text", "text": text}])

    def assistant_item(
        self, item_id: str, *, audio: bool, text: str | None, status: str
    ) -> dict[str, Any]:
        return _item(item_id, "assistant", status, [self.part(audio, text, in_item=True)])

    def function_call_output_item(self, item_id: str, call_id: str, output: str) -> dict[str, Any]:
        return {
            "id": item_id,
            "object": "realtime.item",
            "type": "function_call_output",
            "status": "completed",
            "call_id": call_id,
            "output": output,
        }

    def part(self, audio: bool, text: str | None, *, in_item: bool = False) -> dict[str, Any]:
        """Assistant content: in an item GA says ``output_audio``/``output_text``."""
        kind = "audio" if audio else "text"
        if in_item and self.dialect == "ga":
            kind = f"output_{kind}"
        return {"type": kind, "transcript": text} if audio else {"type": kind, "text": text}

    # --- one response: created … done ----------------------------------------------------

    def response_created(self, shape: ResponseShape) -> None:
        self.send("response.created", response=self._response(shape, "in_progress", []))

    def message_added(self, shape: ResponseShape, previous_item_id: str | None) -> None:
        """The reply's first words: the assistant item and its (single) content part."""
        item = self.assistant_item(shape.item_id, audio=shape.audio, text="", status="in_progress")
        item["content"] = []
        self.send("response.output_item.added", response_id=shape.id, output_index=0, item=item)
        self.item_added(item, previous_item_id)
        part = self.part(shape.audio, "")
        self.send("response.content_part.added", **_where(shape), part=part)

    def response_text(self, shape: ResponseShape, text: str) -> None:
        kind = (
            "response.output_audio_transcript.delta"
            if shape.audio
            else "response.output_text.delta"
        )
        self.send(kind, **_where(shape), delta=text)

    def response_audio(self, shape: ResponseShape, pcm: bytes) -> None:
        delta = base64.b64encode(pcm).decode()
        self.send("response.output_audio.delta", **_where(shape), delta=delta)

    def message_done(self, shape: ResponseShape, status: TurnStatus, text: str) -> dict[str, Any]:
        """Close the assistant item's part and the item; returns the item."""
        where = _where(shape)
        if shape.audio:
            self.send("response.output_audio.done", **where)
            self.send("response.output_audio_transcript.done", **where, transcript=text)
        else:
            self.send("response.output_text.done", **where, text=text)
        self.send("response.content_part.done", **where, part=self.part(shape.audio, text))
        item_status = "completed" if status == "completed" else "incomplete"
        item = self.assistant_item(shape.item_id, audio=shape.audio, text=text, status=item_status)
        self.send("response.output_item.done", response_id=shape.id, output_index=0, item=item)
        self.send("conversation.item.done", item=item)
        return item

    def function_call(
        self,
        shape: ResponseShape,
        call: ToolCall,
        *,
        item_id: str,
        output_index: int,
        previous_item_id: str | None,
    ) -> dict[str, Any]:
        """One call the model made, as an output item whose arguments stream once;
        returns the completed item."""
        item = function_call_item(item_id, call, status="in_progress", arguments="")
        where = {"response_id": shape.id, "output_index": output_index}
        self.send("response.output_item.added", **where, item=item)
        self.item_added(item, previous_item_id)
        at = where | {"item_id": item_id, "call_id": call.id}
        self.send("response.function_call_arguments.delta", **at, delta=call.arguments)
        self.send(
            "response.function_call_arguments.done", **at, name=call.name, arguments=call.arguments
        )
        done = function_call_item(item_id, call, status="completed", arguments=call.arguments)
        self.send("response.output_item.done", **where, item=done)
        self.send("conversation.item.done", item=done)
        return done

    def response_done(
        self,
        shape: ResponseShape,
        status: TurnStatus,
        *,
        output: list[dict[str, Any]],
        usage: dict[str, int] | None = None,
        error: TurnError | None = None,
        cancel_reason: str = "turn_detected",
    ) -> None:
        """The response's end, with its (closed) output items."""
        body = self._response(shape, status, output)
        if status == "cancelled":
            body["status_details"] = {"type": "cancelled", "reason": cancel_reason}
        elif status == "failed":
            failure = error or TurnError("internal_error", "the response failed")
            details = {"type": error_type(failure.code), "code": failure.code}
            body["status_details"] = {"type": "failed", "error": details}
        body["usage"] = _usage(usage or {})
        self.send("response.done", response=body)

    def _response(
        self, shape: ResponseShape, status: str, output: list[dict[str, Any]]
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": shape.id,
            "object": "realtime.response",
            "status": status,
            "status_details": None,
            "output": output,
            "conversation_id": None,
            "usage": None,
        }
        if self.dialect == "beta":
            body["modalities"] = ["text", "audio"] if shape.audio else ["text"]
            body["voice"] = shape.voice
            body["output_audio_format"] = "pcm16"
        else:
            body["output_modalities"] = ["audio"] if shape.audio else ["text"]
            pcm = {"type": "audio/pcm", "rate": RATE}
            body["audio"] = {"output": {"format": pcm, "voice": shape.voice}}
        return body


def _where(shape: ResponseShape) -> dict[str, Any]:
    return {
        "response_id": shape.id,
        "item_id": shape.item_id,
        "output_index": 0,
        "content_index": 0,
    }


def function_call_item(
    item_id: str, call: ToolCall, *, status: str, arguments: str
) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "function_call",
        "status": status,
        "call_id": call.id,
        "name": call.name,
        "arguments": arguments,
    }


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
