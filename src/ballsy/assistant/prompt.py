"""The messages an LLM sees for one turn: persona, what day it is, memory, question."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ballsy.llm.base import ChatMessage
from ballsy.store.models import Message


def build_prompt(
    *, system_prompt: str, now: datetime, memory: Sequence[Message], text: str
) -> list[ChatMessage]:
    system = f"{system_prompt}\nToday is {now:%A, %B %d, %Y}; the time is {now:%H:%M}."
    messages = [ChatMessage(role="system", content=system)]
    for message in memory:
        if message.role in ("user", "assistant"):
            messages.append(ChatMessage(role=message.role, content=message.content))  # type: ignore[arg-type]
    messages.append(ChatMessage(role="user", content=text))
    return messages
