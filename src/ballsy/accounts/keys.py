"""API key format and hashing.

A key is ``bk_`` + 43 URL-safe characters (256 random bits). Only its SHA-256 is
stored: a fast hash is right for a high-entropy secret (nothing to brute-force, and it
is checked on every request), unlike passwords. The first 12 characters are kept as a
display prefix so a user can tell keys apart and revoke one by it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

KEY_PREFIX = "bk_"
DISPLAY_PREFIX_LENGTH = 12


@dataclass(frozen=True, slots=True)
class NewApiKey:
    secret: str  # shown once, never stored
    prefix: str
    key_hash: str


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def looks_like_api_key(token: str) -> bool:
    return token.startswith(KEY_PREFIX)


def new_api_key() -> NewApiKey:
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    return NewApiKey(secret, secret[:DISPLAY_PREFIX_LENGTH], hash_api_key(secret))
