"""JWT access and refresh tokens (PyJWT, HS256).

Both kinds carry the user's ``token_version`` (``ver``), a unique ``jti`` and
``auth_time``, when the password was last proven (login sets it, refresh copies it),
with ``amr: ["pwd"]``. Every use re-reads the user (:mod:`ballsy.security.service`):
disabled users and bumped versions stop there, and the role is the row's, not the
token's. Each refresh token works once, so a stolen one that is replayed is detected.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal

import jwt

TokenType = Literal["access", "refresh"]
ALGORITHM = "HS256"
ISSUER = "ballsy"
AUDIENCE = "ballsy-api"
_LEEWAY_S = 10


class TokenInvalid(Exception):
    """Expired, forged, malformed or of the wrong type; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_in: int


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: str
    name: str
    role: str
    version: int
    jti: str
    expires_at: int
    auth_time: int | None = None  # when the password was proven (None: unknown)


class TokenIssuer:
    def __init__(self, secret: str, *, access_ttl: int, refresh_ttl: int) -> None:
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl

    def _encode(
        self,
        kind: TokenType,
        user_id: str,
        name: str,
        role: str,
        version: int,
        ttl: int,
        auth_time: int | None,
    ) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": user_id,
            "name": name,
            "role": role,
            "ver": version,
            "typ": kind,
            "jti": secrets.token_urlsafe(16),
            "iat": now,
            "exp": now + ttl,
        }
        if auth_time is not None:
            claims["auth_time"] = auth_time
            claims["amr"] = ["pwd"]
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def issue(
        self, user_id: str, name: str, role: str, version: int, *, auth_time: int | None = None
    ) -> TokenPair:
        """A pair; ``auth_time`` is when the password was proven (login: now)."""
        common = (user_id, name, role, version)
        return TokenPair(
            access_token=self._encode("access", *common, self.access_ttl, auth_time),
            refresh_token=self._encode("refresh", *common, self.refresh_ttl, auth_time),
            expires_in=self.access_ttl,
            refresh_expires_in=self.refresh_ttl,
        )

    def verify(self, token: str, kind: TokenType) -> TokenClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],  # never "none", never what the header asks for
                audience=AUDIENCE,
                issuer=ISSUER,
                leeway=_LEEWAY_S,
                options={"require": ["exp", "iat", "sub", "jti", "typ"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenInvalid("the token has expired") from None
        except jwt.PyJWTError:
            raise TokenInvalid("the token is not valid") from None
        if claims.get("typ") != kind:
            raise TokenInvalid(f"a {kind} token is needed here")
        try:
            return TokenClaims(
                user_id=str(claims["sub"]),
                name=str(claims["name"]),
                role=str(claims["role"]),
                version=int(claims["ver"]),
                jti=str(claims["jti"]),
                expires_at=int(claims["exp"]),
                auth_time=int(claims["auth_time"]) if "auth_time" in claims else None,
            )
        except (KeyError, TypeError, ValueError):
            raise TokenInvalid("the token is not valid") from None
