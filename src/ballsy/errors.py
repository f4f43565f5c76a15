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

    def headers(self) -> dict[str, str]:
        """Extra response headers (``WWW-Authenticate``, ``Retry-After``…)."""
        return {}


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


class DatabaseUnavailable(BallsyError):
    """The database cannot be reached (restarting, failed over, pool exhausted).

    Answered as 503 with ``Retry-After``: the pool drops dead connections on the first
    failure, so a retry after the database is back gets a fresh one.
    """

    status_code = 503
    code = "database_unavailable"
    retry_after: ClassVar[int] = 1

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class ModelUnavailable(BallsyError):
    """A local model could not be found or loaded."""

    status_code = 503
    code = "model_unavailable"


class Unauthorized(BallsyError):
    """No credentials, or credentials that do not name an active user."""

    status_code = 401
    code = "unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="ballsy"'}


class Forbidden(BallsyError):
    """An authenticated user without the role a route needs (objects answer 404 instead)."""

    status_code = 403
    code = "forbidden"


class RateLimited(BallsyError):
    """Too many requests in the window; ``retry_after`` says when one will be allowed."""

    status_code = 429
    code = "rate_limited"

    def __init__(
        self,
        message: str,
        *,
        retry_after: int,
        limit_headers: dict[str, str] | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, detail={"retry_after": retry_after, **(detail or {})})
        self.retry_after = max(1, retry_after)
        self.limit_headers = limit_headers or {}

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after), **self.limit_headers}


class SpendCapExceeded(RateLimited):
    """The user's daily token budget for paid LLM providers is used up."""

    code = "spend_cap_exceeded"


class ConfigurationError(BallsyError):
    """Settings that cannot work (raised at startup, never to a client)."""

    code = "configuration_error"


class Conflict(BallsyError):
    """The thing to create exists already (a user name, for instance)."""

    status_code = 409
    code = "conflict"


class DirectUploadUnavailable(Conflict):
    """A signed upload URL was asked for, but job media is not in a bucket."""

    code = "direct_upload_unavailable"


class StorageFull(BallsyError):
    """Media or output storage has no room left (disk full, quota)."""

    status_code = 507
    code = "storage_full"


class StorageUnavailable(BallsyError):
    """Media or output storage cannot be reached or written (retry later)."""

    status_code = 503
    code = "storage_unavailable"


class JobNotFinished(Conflict):
    """A job's full result was asked for before the job was done."""

    code = "job_not_finished"
