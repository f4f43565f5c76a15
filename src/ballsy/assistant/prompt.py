"""The messages an LLM sees for one turn: persona, the spoken-text rule, what day it
is, memory, question.

The prompt is built for the model's prompt cache: everything before the new question
stays the same from turn to turn, so a local model evaluates only the new tail instead
of the whole prompt again. That is why the clock line says the hour, not the minute
(a minute-precise clock would change the first tokens every minute); precise times are
the time skill's job.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from ballsy.llm.base import ChatMessage
from ballsy.store.models import Message

SPOKEN_TEXT = (
    "Your answer is read aloud: write plain spoken sentences, never markdown, lists, "
    "code, symbols or links."
)
"""Asked of every reply whatever the persona (a user's or a realtime client's own
instructions replace the default persona, not this); what slips through is stripped
before TTS anyway (:mod:`ballsy.assistant.spoken`)."""


def build_prompt(
    *, system_prompt: str, now: datetime, memory: Sequence[Message], text: str
) -> list[ChatMessage]:
    system = (
        f"{system_prompt}\n{SPOKEN_TEXT}\n"
        f"Today is {now:%A, %B %d, %Y}; the local time is about {now:%H}:00."
    )
    messages = [ChatMessage(role="system", content=system)]
    for message in memory:
        if message.role in ("user", "assistant"):
            messages.append(ChatMessage(role=message.role, content=message.content))  # type: ignore[arg-type]
    messages.append(ChatMessage(role="user", content=text))
    return messages
