"""The running configuration as the dashboard shows it, with every secret masked.

Masked: ``SecretStr`` values, any string setting whose name says it holds a secret
(``*key*``, ``*secret*``, ``*password*``, ``*token*``) — numbers and booleans under
such names (``llm_max_tokens``) are limits, not secrets — and the password of any
URL-looking value.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import SecretStr

from ballsy.config import Settings
from ballsy.security.secrets import redact_url

MASK = "**********"
_SECRET_NAME = re.compile(r"key|secret|password|token", re.IGNORECASE)
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def _masked(name: str, raw: Any, dumped: Any) -> Any:
    if isinstance(raw, SecretStr):
        return MASK if raw.get_secret_value() else ""
    if isinstance(dumped, str):
        if _SECRET_NAME.search(name) and dumped:
            return MASK
        if _URL.match(dumped):
            return redact_url(dumped)
    if isinstance(dumped, list):
        return [_masked(name, item, item) for item in dumped]
    return dumped


def masked_settings(settings: Settings) -> dict[str, Any]:
    """Every setting by name (JSON values), secrets masked."""
    dumped = settings.model_dump(mode="json")
    return {name: _masked(name, getattr(settings, name), dumped[name]) for name in dumped}
