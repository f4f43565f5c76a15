"""User text a Realtime client added that no response has answered yet, within caps.

``conversation.item.create`` may queue user messages before a ``response.create``
answers them all at once; without a bound they would pile up in memory. Only the
conversation holds a :class:`PendingInput` (docs/realtime.md, "Limits").
"""

from __future__ import annotations

from ballsy.config import Settings
from ballsy.realtime.wire.openai.protocol import ClientEventError

MAX_PENDING_ITEMS = 32
PENDING_BYTES_PER_COMMAND = 4
"""Pending user text may be this many × ``MAX_COMMAND_LENGTH`` bytes (UTF-8)."""


class PendingInput:
    def __init__(self, *, max_items: int, max_bytes: int) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._texts: list[str] = []
        self._bytes = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> PendingInput:
        max_bytes = PENDING_BYTES_PER_COMMAND * settings.max_command_length
        return cls(max_items=MAX_PENDING_ITEMS, max_bytes=max_bytes)

    def __bool__(self) -> bool:
        return bool(self._texts)

    def hold(self, text: str) -> None:
        """Keep ``text`` for the next response; refused past either cap."""
        if len(self._texts) >= self.max_items:
            message = (
                f"{len(self._texts)} user messages already wait for a response "
                f"(the limit is {self.max_items}); send response.create first"
            )
            raise ClientEventError("too_many_pending_items", message, "item")
        size = len(text.encode())
        if self._bytes + size > self.max_bytes:
            message = (
                f"the user text waiting for a response would be {self._bytes + size} bytes "
                f"(the limit is {self.max_bytes}); send response.create first"
            )
            raise ClientEventError("pending_input_too_large", message, "item.content")
        self._texts.append(text)
        self._bytes += size

    def take(self) -> list[str]:
        """Everything held, in order; the pending input is empty afterwards."""
        texts, self._texts, self._bytes = self._texts, [], 0
        return texts
