"""Tool calls out of a streamed reply: pieces gathered by index, or calls written as text.

An OpenAI-compatible stream sends a call in pieces (its id and name in the first chunk
of an index, the arguments over many); :class:`ToolCallAssembly` puts them together.
A local model whose chat template offers tools (Qwen2.5 and other Hermes-style
templates) writes its calls as text — ``<tool_call>{"name": …, "arguments": …}
</tool_call>`` — which :class:`TextToolCalls` holds back from the spoken reply and
parses at the end.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass

from ballsy.llm.base import ToolCall

_OPEN = "<tool_call>"
_BLOCK = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)
# Qwen2.5-Coder writes its calls as bare JSON objects, one per line, without the tags.
_BARE = '{"name"'
_SPACE = re.compile(r"\s+")


def new_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


@dataclass(slots=True)
class _PartialCall:
    id: str = ""
    name: str = ""
    arguments: str = ""


class ToolCallAssembly:
    """Streamed tool-call pieces, gathered by index into whole calls."""

    def __init__(self) -> None:
        self._calls: dict[int, _PartialCall] = {}

    def add(self, index: int, *, id: str | None, name: str | None, arguments: str | None) -> None:
        call = self._calls.setdefault(index, _PartialCall())
        if id:
            call.id = id
        if name:
            call.name += name
        if arguments:
            call.arguments += arguments

    def calls(self) -> tuple[ToolCall, ...]:
        return tuple(
            # Some servers (older Ollama, Gemini's shim) leave the id out.
            ToolCall(id=call.id or new_call_id(), name=call.name, arguments=call.arguments or "{}")
            for _, call in sorted(self._calls.items())
            if call.name
        )


class TextToolCalls:
    """Decides, from a reply's first characters, whether it is tool calls written as text.

    ``feed`` returns the text to pass on now: nothing while the start could still be
    ``<tool_call>``, everything once it cannot; a reply that is calls is kept whole for
    :meth:`calls`.
    """

    def __init__(self) -> None:
        self._held = ""
        self._calls: bool | None = None  # unknown until the start is clear

    def feed(self, text: str) -> str:
        if self._calls is False:
            return text
        self._held += text
        start = self._held.lstrip()
        if self._calls is None:
            compact = _SPACE.sub("", start)
            if start.startswith(_OPEN) or compact.startswith(_BARE):
                self._calls = True
            elif _OPEN.startswith(start) or _BARE.startswith(compact):
                return ""  # too little yet to tell
            else:
                self._calls = False
                held, self._held = self._held, ""
                return held
        return ""

    def rest(self) -> str:
        """Text still held at the end that turned out not to be calls."""
        if self._calls:
            return "" if self.calls() else self._held
        held, self._held = self._held, ""
        return held

    def calls(self) -> tuple[ToolCall, ...]:
        if not self._calls:
            return ()
        found: list[ToolCall] = []
        held = self._held.strip()
        blocks = _BLOCK.findall(held) if held.startswith(_OPEN) else _objects(held)
        for block in blocks:
            try:
                written = json.loads(block)
            except json.JSONDecodeError:
                continue
            if not isinstance(written, dict) or not isinstance(written.get("name"), str):
                continue
            arguments = written.get("arguments", written.get("parameters", {}))
            text = arguments if isinstance(arguments, str) else json.dumps(arguments)
            found.append(ToolCall(id=new_call_id(), name=written["name"], arguments=text))
        return tuple(found)


def _objects(text: str) -> list[str]:
    """The JSON objects written one after another in ``text`` (a bare-JSON reply)."""
    decoder = json.JSONDecoder()
    found: list[str] = []
    at = 0
    while at < len(text):
        start = text.find("{", at)
        if start < 0:
            break
        try:
            _, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            break
        found.append(text[start:end])
        at = end
    return found
