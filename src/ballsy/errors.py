"""Typed errors, each carrying the HTTP status and stable code it maps to.

Services raise these; ``ballsy.api.errors`` turns them into JSON responses (and the
realtime layer into WebSocket error messages) in one place.
"""

from __future__ import annotations

from typing import Any, ClassVar


class BallsyError(Exception):
    """Base of every error Ballsy reports to a client."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or {}


class InvalidInput(BallsyError):
    status_code = 422
    code = "invalid_input"


class NotFound(BallsyError):
    status_code = 404
    code = "not_found"


class PayloadTooLarge(BallsyError):
    status_code = 413
    code = "payload_too_large"


class UnsupportedMedia(BallsyError):
    """The bytes are not audio we can decode (empty, corrupt, unknown codec)."""

    status_code = 400
    code = "unsupported_media"


class AudioTooLong(BallsyError):
    status_code = 413
    code = "audio_too_long"


class UnknownModel(BallsyError):
    status_code = 400
    code = "unknown_model"


class ServiceBusy(BallsyError):
    """A bounded queue (inference, sessions) is full; the client should retry later."""

    status_code = 503
    code = "busy"


class ProviderError(BallsyError):
    """The LLM (or another remote) provider failed after retries."""

    status_code = 502
    code = "provider_error"


class ProviderTimeout(ProviderError):
    status_code = 504
    code = "provider_timeout"


class ModelUnavailable(BallsyError):
    """A local model could not be found or loaded."""

    status_code = 503
    code = "model_unavailable"
