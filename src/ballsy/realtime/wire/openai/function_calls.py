"""The client's function calls that wait for their outputs, within caps.

When the model calls functions of the session's ``tools``, its response ends with
``function_call`` items; the client runs them, sends each result as a
``function_call_output`` item and asks for a ``response.create``, which continues the
answer to the same user text with the calls and results after it. A client may also
add ``function_call`` items of its own. One round of calls waits at a time; only the
conversation holds a :class:`FunctionCalls` (docs/realtime.md, "Function calling").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ballsy.llm.base import ChatMessage, ToolCall
from ballsy.realtime.session.events import FunctionCallsRequested
from ballsy.realtime.wire.openai.protocol import ClientEventError

MAX_CALLS = 16
"""Calls one round may hold (the client's own ``function_call`` items count)."""
MAX_OUTPUT = 16_000
"""Characters of one ``function_call_output``."""
MAX_ROUNDS = 8
"""Rounds of calls for one user text; the answer after the last is made without tools."""
MAX_CONTEXT = 64_000
"""Characters of arguments and outputs carried along for one user text."""


@dataclass(slots=True)
class _Round:
    user_text: str | None
    """The text the calls answer; None: the client added calls of its own."""
    earlier: tuple[ChatMessage, ...] = ()
    """The rounds before this one, as messages."""
    calls: dict[str, ToolCall] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def depth(self) -> int:
        return 1 + sum(1 for message in self.earlier if message.tool_calls)

    @property
    def size(self) -> int:
        earlier = sum(
            len(m.content) + sum(len(c.arguments) for c in m.tool_calls) for m in self.earlier
        )
        now = sum(len(call.arguments) for call in self.calls.values())
        return earlier + now + sum(len(output) for output in self.outputs.values())

    def messages(self) -> list[ChatMessage]:
        calls = tuple(self.calls.values())
        results = [ChatMessage("tool", self.outputs[c.id], tool_call_id=c.id) for c in calls]
        return [*self.earlier, ChatMessage("assistant", "", tool_calls=calls), *results]


@dataclass(frozen=True, slots=True)
class Continuation:
    """What ``response.create`` answers when a round of calls has all its outputs."""

    user_text: str
    messages: tuple[ChatMessage, ...]
    """After ``user_text``: every round's calls and results (and newer user text)."""
    tools_offered: bool
    """False once :data:`MAX_ROUNDS` rounds were made: the model must answer now."""


class FunctionCalls:
    def __init__(self) -> None:
        self._round: _Round | None = None

    def requested(self, event: FunctionCallsRequested) -> None:
        """The model called the client's functions: they wait for their outputs (calls
        that were still waiting are replaced)."""
        calls = {call.id: call for call in event.calls}
        self._round = _Round(event.user_text, event.continuation, calls)

    def add_call(self, call: ToolCall) -> None:
        """A ``function_call`` item the client added itself."""
        round_ = self._round or _Round(None)
        if call.id in round_.calls:
            message = f"function call {call.id!r} is already in the conversation"
            raise ClientEventError("invalid_input", message, "item.call_id")
        if len(round_.calls) >= MAX_CALLS:
            message = f"{MAX_CALLS} function calls already wait for their outputs"
            raise ClientEventError("invalid_input", message, "item")
        _fits(round_.size + len(call.arguments), "item.arguments")
        round_.calls[call.id] = call
        self._round = round_

    def add_output(self, call_id: str, output: str) -> None:
        round_ = self._round
        if round_ is None:
            message = "no function call waits for an output"
            raise ClientEventError("invalid_input", message, "item.call_id")
        if call_id not in round_.calls:
            message = f"no function call {call_id[:64]!r} waits for an output"
            raise ClientEventError("invalid_input", message, "item.call_id")
        if call_id in round_.outputs:
            message = f"function call {call_id!r} already has its output"
            raise ClientEventError("invalid_input", message, "item.call_id")
        if len(output) > MAX_OUTPUT:
            message = f"output is {len(output)} characters; the limit is {MAX_OUTPUT}"
            raise ClientEventError("invalid_input", message, "item.output")
        _fits(round_.size + len(output), "item.output")
        round_.outputs[call_id] = output

    def not_ready(self, last_text: str | None) -> ClientEventError | None:
        """Why ``response.create`` has nothing to continue (None: a continuation is ready)."""
        round_ = self._round
        if round_ is None:
            message = "nothing to answer: add a user message or commit audio first"
            return ClientEventError("input_missing", message)
        waiting = [call_id for call_id in round_.calls if call_id not in round_.outputs]
        if waiting:
            message = f"function call {waiting[0]!r} waits for its function_call_output"
            return ClientEventError("input_missing", message)
        if round_.user_text is None and last_text is None:
            message = "add the user message the function calls answer"
            return ClientEventError("input_missing", message)
        return None

    def take(self, text: str, last_text: str | None) -> Continuation | None:
        """The continuation a response begins, ``text`` being the user text added since;
        None when no round has all its outputs (one still waiting is dropped: the user
        moved on). Nothing waits afterwards."""
        round_, self._round = self._round, None
        if round_ is None or len(round_.outputs) < len(round_.calls):
            return None
        messages = round_.messages()
        user_text = round_.user_text
        if user_text is None:  # the client's own calls answer its newest user text
            user_text = text or last_text
            if user_text is None:
                return None
        elif text:
            messages.append(ChatMessage("user", text))
        return Continuation(user_text, tuple(messages), round_.depth < MAX_ROUNDS)

    def drop(self) -> None:
        """A new user turn began without the outputs: the calls no longer wait."""
        self._round = None


def _fits(size: int, param: str) -> None:
    if size > MAX_CONTEXT:
        message = (
            f"the function calls and outputs of this answer would be {size} characters "
            f"(the limit is {MAX_CONTEXT})"
        )
        raise ClientEventError("invalid_input", message, param)
