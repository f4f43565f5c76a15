"""Names every route agrees on: the client id, and OpenAI's voice and model names.

A client id (``users.client_id``: a user's name, or a device label when
authentication is on) is checked in REST bodies, query strings, headers and form
fields, on both voice sockets and by the security guard. It is defined here once, so
that a name one path accepts is never refused by another.

OpenAI's voice and model names are accepted as aliases of the local engines, so the
official SDKs' examples work unchanged (docs/api.md); ``/v1/audio/*``, ``/v1/models``
and ``/v1/realtime`` read the same sets.
"""

from __future__ import annotations

import re
from typing import Annotated, TypeGuard

from pydantic import StringConstraints

CLIENT_ID_MAX_LENGTH = 128
CLIENT_ID_PATTERN = r"^[A-Za-z0-9._:@-]+$"
"""Letters, digits and ``. _ : @ -`` (an e-mail address or a ``host:port`` label fits)."""

_CLIENT_ID = re.compile(CLIENT_ID_PATTERN)

ClientId = Annotated[
    str,
    StringConstraints(min_length=1, max_length=CLIENT_ID_MAX_LENGTH, pattern=CLIENT_ID_PATTERN),
]
"""A client id as a pydantic / FastAPI type: ``Annotated[ClientId, Query()]`` and so on."""


def valid_client_id(value: object) -> TypeGuard[str]:
    """Whether ``value`` is a client id (for code that checks names by hand)."""
    return (
        isinstance(value, str)
        and len(value) <= CLIENT_ID_MAX_LENGTH
        and _CLIENT_ID.fullmatch(value) is not None
    )


OPENAI_VOICES = frozenset(
    {
        "alloy",
        "ash",
        "ballad",
        "coral",
        "echo",
        "fable",
        "onyx",
        "nova",
        "sage",
        "shimmer",
        "verse",
        "marin",
        "cedar",
    }
)
"""OpenAI's voice names; each means the engine's default voice."""

OPENAI_STT_MODELS = frozenset(
    {
        "whisper-1",
        "gpt-4o-transcribe",
        "gpt-4o-mini-transcribe",
        "gpt-transcribe",
        "gpt-4o-mini-transcribe-2025-12-15",
    }
)
"""OpenAI's transcription models; each means the configured local Whisper."""

OPENAI_TTS_MODELS = frozenset({"tts-1", "tts-1-hd", "gpt-4o-mini-tts"})
"""OpenAI's speech models; each means the configured TTS engine."""
