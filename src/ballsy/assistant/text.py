"""Cleaning what a user typed or said before anything else sees it."""

from __future__ import annotations

import re
import unicodedata

from ballsy.errors import InvalidInput

_WHITESPACE = re.compile(r"\s+")


def clean_command_text(text: str, *, max_length: int) -> str:
    """Normalise Unicode, turn control characters into spaces, collapse whitespace.

    The text is otherwise kept verbatim (HTML and SQL-looking strings included): it is
    stored through bound parameters and escaped wherever it is rendered.
    """
    normalized = unicodedata.normalize("NFC", text)
    visible = "".join(" " if unicodedata.category(ch) in {"Cc", "Cs"} else ch for ch in normalized)
    cleaned = _WHITESPACE.sub(" ", visible).strip()
    if not cleaned:
        raise InvalidInput("text must not be empty")
    if len(cleaned) > max_length:
        raise InvalidInput(
            f"text is {len(cleaned)} characters; the limit is {max_length}",
            detail={"limit": max_length},
        )
    return cleaned
